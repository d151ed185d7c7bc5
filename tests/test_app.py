"""The chat app without serving it: rendering, stored suggested questions, the Blocks and its handlers."""

from __future__ import annotations

import json
import re

import gradio as gr
import pytest

from chatbot.answering import Answer, Citation
from chatbot.app import ALL_CITED, ChatApp, create_app
from chatbot.chain import build_chain
from chatbot.followup import Turn
from chatbot.rendering import (
    answer_markdown,
    api_markdown,
    escape_markdown,
    locate,
    safe_url,
    sources_html,
    timeline_svg,
)
from index.articles import Article
from index.questions import faq_questions, good_suggestion, pick_questions, stored_questions, suggest_questions

from tests.conftest import SEEDS

PUTIN = "Putin Signals Willingness to Work with the U.S. on Rare Earth Minerals"
FOX = "Ultraprocessed foods with ‘feel-good chemicals’"


def citation(n=1, **kw) -> Citation:
    fields = dict(chunk_id=f"a{n}:0", article_id=f"a{n}", title=f"Title {n}", source="Outlet", published_at="2023-11-17T10:00:00+00:00",
                  url="https://example.com/a", text="First sentence here. The cited sentence is this one. Last one.",
                  sentence="The cited sentence is this one.")
    fields.update(kw)
    return Citation(n=n, **fields)


# -- rendering -------------------------------------------------------------------
def test_markers_link_to_sources_and_article_text_is_escaped():
    md = answer_markdown('Prices rose <img src=x onerror=alert(1)> [see](javascript:alert(2)) by 5% [1]. Then fell [2].')
    assert '<a class="nq-cite" href="#nq-src-1">[1]</a>' in md and 'href="#nq-src-2"' in md
    assert "<img" not in md and "&lt;img" in md
    assert "](javascript" not in md  # the markdown link is broken by escaping
    assert answer_markdown("x [1].", link_markers=False) == "x [1]."


def test_only_http_links_survive():
    assert safe_url("https://example.com/x?a=1") == "https://example.com/x?a=1"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,<b>", "/relative", "ftp://x/y", "http://"):
        assert safe_url(bad) == ""


def test_supporting_sentence_is_found_despite_respacing():
    passage = "Researchers found that 14% of adults showed signs of addiction to ultra - processed foods , per YFAS. More text."
    sentence = "Researchers found that 14% of adults showed signs of addiction to ultra - processed foods, per YFAS."
    a, b = locate(passage, sentence)
    assert passage[a:b].startswith("Researchers") and passage[a:b].endswith("YFAS.")
    assert locate(passage, "Completely unrelated words about football.") is None


def test_sources_panel_escapes_everything_and_highlights_the_sentence():
    evil = citation(title="<script>alert('t')</script>", source="<b>Outlet</b>", url="javascript:alert(3)",
                    text="<img src=x onerror=alert(1)> The cited sentence is this one. End.")
    out = sources_html(Answer("x [1].", [evil]))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "<b>" not in out
    assert "javascript:" not in out and "<a href" not in out  # no link for a non-http URL
    assert "<mark>The cited sentence is this one.</mark>" in out
    assert 'id="nq-src-1"' in out
    good = sources_html(Answer("x [1].", [citation()]))
    assert 'href="https://example.com/a" target="_blank" rel="noopener noreferrer nofollow"' in good
    assert "Outlet · 2023-11-17" in good


def test_timeline_shows_each_dated_article_with_its_title_from_one_up():
    assert timeline_svg([citation(1, published_at="")]) == ""
    one = timeline_svg([citation(1)])
    assert one.count("<circle") == 1 and "Title 1" in one and "2023-11-17" in one
    two = timeline_svg([citation(1), citation(2, published_at="2023-11-18T00:00:00+00:00", title="<i>x</i>"), citation(3, article_id="a1")])
    assert two.count("<circle") == 2 and "2023-11-17" in two and "2023-11-18" in two
    assert two.count("<li>") == 2 and "&lt;i&gt;x&lt;/i&gt;" in two and "<i>" not in two


def test_one_card_per_article_with_its_passages_and_context():
    long_before = "Earlier words. " * 40
    same = [citation(1, text=long_before + "The cited sentence is this one. After it."),
            citation(2, article_id="a1", chunk_id="a1:3", sentence="Second passage sentence.", text="Second passage sentence. More.")]
    out = sources_html(Answer("x [1] y [2].", same + [citation(3, source="Other", also_published_by=["Wire"])]))
    assert out.count('class="nq-source"') == 2 and "Sources · 2 articles" in out
    card = out[out.index('data-article="a1"'):out.index('data-article="a3"')]
    assert 'id="nq-src-1"' in card and 'id="nq-src-2"' in card
    assert '<span class="nq-rest">' in card and "Show the whole passage" in card  # context shown, the rest folded
    assert "Other, also published by Wire" in out


def test_an_article_without_outlet_or_date_names_its_file():
    out = sources_html(Answer("x [1].", [citation(1, source="", published_at="")]), "q", {"a1": {"origin": "notes/tram.md"}})
    assert '<div class="nq-meta">from tram.md</div>' in out


def test_a_card_folds_in_its_articles_key_points_and_faq(seeded_chain):
    answer = seeded_chain.ask("What are rare earth minerals?")
    records = {c.article_id: seeded_chain.store.article(c.article_id) for c in answer.citations}
    out = sources_html(answer, "What are rare earth minerals?", records)
    assert "<summary>Key points</summary>" in out and "Rare earth minerals are vital for technology, defense, and renewable energy sectors." in out
    assert "<summary>This article’s FAQ</summary>" in out and "How important are rare earth minerals to Russia’s economy?" in out
    assert "Key points" not in sources_html(answer, "q", {})


def test_what_each_outlet_says_needs_two_outlets():
    one = sources_html(Answer("x [1] [2].", [citation(1), citation(2)]))
    assert "What each outlet says" not in one
    two = sources_html(Answer("x [1] [2].", [citation(1), citation(2, source="Fortune", sentence="Fortune said so.", text="Fortune said so.")]))
    assert "What each outlet says" in two and two.count("<li>") == 2 and "“Fortune said so.”" in two


def test_api_markdown_is_answer_then_numbered_sources():
    out = api_markdown(Answer("It rose [1].", [citation(1, url="javascript:x")]))
    assert out.splitlines() == ["It rose [1].", "", "Sources:", "[1] Title 1 (Outlet, 2023-11-17)"]
    assert escape_markdown("a*b_[c]") == r"a\*b\_\[c\]"


# -- suggested questions (index/questions.py) --------------------------------------
def test_faq_questions_come_first():
    article = Article(title="t", body=(SEEDS / "putin_rare_earths.txt").read_text(encoding="utf-8"))
    assert faq_questions(article.body)[0] == "What are rare earth minerals?"
    assert suggest_questions(article) == [
        "What are rare earth minerals?",
        "How important are rare earth minerals to Russia’s economy?",
        "What might a U.S.-Russia agreement entail regarding Ukrainian resources?",
    ]


def test_questions_from_headings_and_central_sentences():
    body = (
        "The city council approved a new tram line on Monday after a long debate about costs.\n"
        "Costs and funding\n"
        "The tram line will cost 300 million euros, paid by the city and the national government.\n"
        "RELATED: OTHER STORY IN CAPITALS\n"
        "Critics said the tram line is too expensive for a small city, but the council disagreed."
    )
    questions = suggest_questions(Article(title="Council approves tram line", body=body, source="Gazette"), limit=5)
    assert questions[0] == "What does the article “Council approves tram line” report?"
    assert "What is known about costs and funding?" in questions
    assert any(q.startswith("Is it true that the ") for q in questions)
    assert not any("CAPITALS" in q for q in questions)


def test_questions_are_stored_in_the_article_record(store):
    article = Article(title="Tram line approved", body="Question: Who pays for the tram line?\nThe city pays for the tram line, council members said on Monday.")
    store.add([article])
    record = store.article(article.id)
    assert json.loads(record["questions"])[0] == "Who pays for the tram line?"
    assert stored_questions(record)[0] == "Who pays for the tram line?"
    assert stored_questions({}) == [] and stored_questions({"questions": "not json"}) == []


def test_pick_questions_puts_real_questions_first():
    records = [
        {"id": "a", "questions": json.dumps(["Is it true that a?", "What is known about b?"])},
        {"id": "b", "questions": json.dumps(["Who is c?", "What does the article “d” report?"])},
    ]
    assert pick_questions(records, 6) == ["Who is c?", "What is known about b?", "What does the article “d” report?", "Is it true that a?"]
    assert pick_questions(records, exclude={"Who is c?"}, limit=1) == ["What is known about b?"]


# -- the Blocks and its handlers ------------------------------------------------------
def test_blocks_build_with_a_public_chat_endpoint(seeded_chain):
    app = create_app(seeded_chain)
    assert isinstance(app, gr.Blocks)
    public = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert public == {"chat", "history"}


def run(ui: ChatApp, question: str, history=(), pinned=(), outlets=None, since="", until=""):
    """All yields of the chat event; the last one carries the sources, query, suggestions and history."""
    return list(ui.respond(question, [], list(history), list(pinned), outlets, since, until))


def test_answer_streams_then_fills_sources_and_history(seeded_chain):
    ui = ChatApp(seeded_chain)
    updates = run(ui, "What are rare earth minerals?")
    assert len(updates) >= 3  # placeholder, streamed text, final
    assert updates[0][0][-1]["content"].startswith("_Searching")
    messages, box, sources, query, timeline, pin_choices, pin_box, suggested, suggestions, history = updates[-1]
    assert messages[0] == {"role": "user", "content": "What are rare earth minerals?"}
    assert 'href="#nq-src-1">[1]</a>' in messages[-1]["content"] and "17 elements" in messages[-1]["content"]
    assert PUTIN in sources and "<mark>Rare earth minerals are a group of 17 elements" in sources
    assert query == "What are rare earth minerals?"
    assert [t.question for t in history] == ["What are rare earth minerals?"]
    assert pin_choices.choices[-1][1] == ALL_CITED
    assert "What are rare earth minerals?" not in suggestions and "How important are rare earth minerals to Russia’s economy?" in suggestions


def test_followup_uses_history_and_cited_article(seeded_chain):
    ui = ChatApp(seeded_chain)
    *_, history = run(ui, "What share of adults showed signs of addiction to ultra-processed foods?")[-1]
    messages, _, sources, query, _, _, _, _, _, history = run(ui, "Where was the study published?", history)[-1]
    assert query.startswith("Where was the study published? ") and "ultra-processed" in query
    assert "journal BMJ" in messages[-1]["content"]
    assert FOX in sources
    assert len(history) == 2


def test_the_natural_followup_is_answered_from_the_cited_article(seeded_chain):
    ui = ChatApp(seeded_chain)
    *_, history = run(ui, "What share of adults showed signs of addiction to ultra-processed foods?")[-1]
    messages, _, sources, *_, history = run(ui, "Who led the research?", history)[-1]
    assert "Ashley Gearhardt" in messages[-1]["content"] and FOX in sources


def test_pinned_article_restricts_retrieval(seeded_chain):
    ui = ChatApp(seeded_chain)
    first = run(ui, "What are rare earth minerals?")[-1]
    putin_id = first[-1][0].cited_article_ids[0]
    pinned, banner = ui.pin(putin_id, first[-1])
    assert pinned == [putin_id] and PUTIN in banner
    # A question about another story: the pin keeps every passage in the pinned article.
    messages, _, sources, *_, history = run(ui, "What did researchers find about ultra-processed foods?", first[-1], pinned)[-1]
    assert set(re.findall(r'data-article="([0-9a-f]+)"', sources)) <= {putin_id}
    # A question the pinned article answers: answered, and only from it.
    messages, _, sources, *_, history = run(ui, "Which foreign partners would Putin work with?", history, pinned)[-1]
    assert "don't say" not in messages[-1]["content"] and history[-1].cited_article_ids
    assert set(re.findall(r'data-article="([0-9a-f]+)"', sources)) == {putin_id}
    assert ui.pin(ALL_CITED, history)[0] == list(dict.fromkeys(i for t in history for i in t.cited_article_ids))


def test_clearing_and_unpinning_reset_history_pin_and_sources(seeded_chain):
    ui = ChatApp(seeded_chain)
    *_, history = run(ui, "What are rare earth minerals?")[-1]
    messages, pinned_history, no_pin, sources, query, timeline, _, pin_box, banner, suggestions = ui.clear()
    assert messages == [] and pinned_history == [] and no_pin == [] and banner == "" and query == "" and timeline == ""
    assert "appear here" in sources and pin_box.visible is False
    history_after, pinned, sources, *_ = ui.unpin()
    assert history_after == [] and pinned == [] and "appear here" in sources
    # After unpinning, the next question is searched as a first question: nothing of the earlier turns.
    *_, history = run(ui, "How important are rare earth minerals to Russia’s economy?", history_after)[-1]
    assert history[-1].query == "How important are rare earth minerals to Russia’s economy?"


def test_a_question_over_the_cap_gets_one_line_and_keeps_the_history(seeded_chain):
    ui = ChatApp(seeded_chain)
    history = [Turn("q", "q", "a", [])]
    with pytest.warns(UserWarning):
        updates = run(ui, "Why " * 1249 + "now?", history)
    reply = updates[-1][0][-1]["content"]
    assert reply.startswith("⚠️ the question is 5,000 characters long; ask it in at most 1,000") and "\n" not in reply
    assert len(updates[-1][0][0]["content"]) < 400  # the question is shown cut, not 5,000 characters
    assert all(u[-1] is not None and not isinstance(u[-1], list) for u in updates)


def test_suggestions_are_checked_against_the_product_answer(seeded_chain, seeded_store):
    ui = ChatApp(seeded_chain)
    putin = next(r for r in seeded_store.articles() if r["title"] == PUTIN)
    assert ui.suggestions.pick([putin], 3) == [
        "What are rare earth minerals?",
        "How important are rare earth minerals to Russia’s economy?",
        "What might a U.S.-Russia agreement entail regarding Ukrainian resources?",
    ]
    # A question no article answers is not offered, and the verdict is remembered.
    fake = {**putin, "questions": json.dumps(["Who won the 1930 football World Cup final?"])}
    assert "Who won the 1930 football World Cup final?" not in ui.suggestions.pick([fake], 6)
    assert ui.suggestions._verdicts[(putin["id"], "Who won the 1930 football World Cup final?")] is False
    for question in ui.start_questions():
        answer = seeded_chain.ask(question)
        assert not answer.abstained and answer.citations, question


def test_outlet_and_date_filters_apply_to_retrieval(seeded_chain):
    ui = ChatApp(seeded_chain)
    *_, sources, _, _, _, _, _, _, _ = run(ui, "What happened at OpenAI?", outlets=["Fortune"])[-1]
    assert re.findall(r'class="nq-meta">([^<·]+)', sources) and set(re.findall(r'class="nq-meta">([^<·]+)', sources)) == {"Fortune "}
    *_, sources, _, _, _, _, _, _, _ = run(ui, "What happened at OpenAI?", since="2023-11-18", until="2023-11-18")[-1]
    assert set(re.findall(r"· (\d{4}-\d{2}-\d{2})", sources)) == {"2023-11-18"}


def test_bad_filter_is_one_line_in_the_chat_and_history_is_kept(seeded_chain):
    ui = ChatApp(seeded_chain)
    history = [Turn("q", "q", "a", [])]
    with pytest.warns(UserWarning):
        updates = run(ui, "What are rare earth minerals?", history, since="last week")
    assert updates[-1][0][-1]["content"] == "⚠️ 'from' date 'last week' is not a date; use YYYY-MM-DD"
    assert all(u[-1] is not None and not isinstance(u[-1], list) for u in updates)  # history output untouched


def test_library_upload_search_and_remove(settings, store, tmp_path):
    ui = ChatApp(build_chain(settings, store=store))
    good = tmp_path / "tram.md"
    good.write_text("# Tram line approved\n\nThe council approved a tram line that will cost 300 million euros to build.\n", encoding="utf-8")
    bad = tmp_path / "empty.txt"
    bad.write_text("", encoding="utf-8")
    status, rows, choices, outlets, ids, count = ui.add_files([str(good), str(bad)], "")
    assert "1 added" in status and "1 failed" in status and "empty.txt: is empty" in status
    assert [r[0] for r in rows] == ["Tram line approved"]
    assert "**1** articles" in count and len(rows[0]) == 4  # title, outlet (here the file it came from), date, chunks
    assert rows[0][1] == "tram.md"
    article_id = ids[0]
    clicked = gr.SelectData(None, {"index": [0, 1], "value": rows[0][1], "row_value": rows[0]})
    assert ui.selected_row(ids, clicked) == article_id
    assert ui.library_rows("tram") == rows and ui.library_rows("football") == []
    status, rows, *_ = ui.remove(article_id, "")
    assert "Removed *Tram line approved*" in status and rows == []
    assert "No article" in ui.remove(article_id, "")[0]
