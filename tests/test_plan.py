"""The question is understood once per ask: one QueryPlan, read by the retriever and the answerer."""

from __future__ import annotations

from datetime import date

import pytest

import chatbot.plan
from chatbot.chain import Filters, build_chain
from chatbot.plan import understand
from chatbot.query import as_asked
from index.articles import Article


def test_a_plan_holds_outlets_dates_recency_and_length():
    plan = understand("What did TechCrunch report on October 6, 2023 about FTX?", ["TechCrunch", "Fortune"])
    assert plan.outlets == ["TechCrunch"] and plan.dates == [date(2023, 10, 6)] and not plan.long
    assert plan.fresh is None and not plan.digest
    news = understand("What's new this week?", [], today=date(2026, 11, 27))
    assert news.digest and news.fresh.since == date(2026, 11, 21)
    assert understand("What's new this week?", [], window_given=True).fresh is None
    follow = understand("What did he say?", [], query="What did he say? Vladimir Putin rare earths")
    assert follow.asks == ["What did he say?", "What did he say? Vladimir Putin rare earths"]


@pytest.mark.slow
def test_the_question_is_parsed_once_per_ask(seeded_store, settings, monkeypatch):
    chain = build_chain(settings, store=seeded_store)
    calls = {"freshness": 0, "find_outlets": 0, "find_dates": 0}
    for name in calls:
        real = getattr(chatbot.plan, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(chatbot.plan, name, counted)
    answer = chain.ask("What did Fortune report about rare earth minerals this week?")
    assert answer.query
    assert calls == {"freshness": 1, "find_outlets": 1, "find_dates": 1}


def test_a_contraction_or_a_second_sentence_is_not_a_name():
    # "What's" is "What is", and a word that starts a sentence of the question is capitalised for that alone.
    assert understand("Is it suitable for kids? What's it rated?", []).names == []
    assert understand("OK. Who won the Nobel Prize in chemistry?", []).names == ["Nobel Prize"]
    assert understand("Thanks. What did Putin say about Alaska?", []).names == ["Putin", "Alaska"]
    assert understand("I'd like to know why the EU is investigating X", []).names == ["EU", "X"]
    assert understand("They're saying what about NATO?", []).names == ["NATO"]
    assert understand("Who's Bill Kenwright?", []).kind == understand("Who is Bill Kenwright?", []).kind == "definition"
    assert understand("Where's it sold?", []).kind == "where"
    # Abbreviations do not end a sentence: names that hold them stay whole.
    assert understand("Is Warner Bros. Discovery selling CNN?", []).names == ["Warner Bros. Discovery", "CNN"]


def test_a_score_is_not_part_of_a_name():
    # "Scotland 6-0" names Scotland: the answer must not say the articles "don't mention Scotland 6".
    assert understand("England beat Scotland 6-0 so why didn't they go through?", []).names == ["England", "Scotland"]
    assert understand("What did Arizona do in the 42-18 win over Utah?", []).names == ["Arizona", "Utah"]
    assert understand("How good is the Pixel 8 camera?", []).names == ["Pixel 8"]


@pytest.mark.slow
def test_a_question_after_a_greeting_is_answered(seeded_store, settings):
    chain = build_chain(settings, store=seeded_store)
    answer = chain.ask("OK. What did Putin say about rare earth minerals?")
    assert not answer.abstained and "don't mention" not in answer.text


@pytest.mark.slow
def test_a_question_typed_in_lower_case_names_what_the_same_question_with_capitals_names(seeded_store, settings):
    chain = build_chain(settings, store=seeded_store)
    lower = chain.plan("what did putin say about rare earth minerals?")
    assert lower.names == chain.plan("What did Putin say about rare earth minerals?").names == ["Putin"]
    assert chain.plan("What did putin say to NATO?").names == ["NATO"]  # a question with capitals is read as typed


def test_a_wrapped_question_or_one_without_its_question_mark_is_read_as_asked():
    assert as_asked("Can you tell me why the EU opened an inquiry") == "Why the EU opened an inquiry?"
    assert as_asked("do you know who won the cup?") == "Who won the cup?"
    assert as_asked("I’d like to know how much it cost") == "How much it cost?"
    assert as_asked("Can you tell me is it suitable for kids?") == "Is it suitable for kids?"
    assert as_asked("Can you tell me more about it?") == "Can you tell me more about it?"
    assert as_asked("how many views did it get") == "how many views did it get?"
    assert as_asked("and what about Chelsea") == "and what about Chelsea?"
    for unchanged in ("Tell me about the Nobel Prize", "Putin rare earths", "What did he say."):
        assert as_asked(unchanged) == unchanged


@pytest.mark.slow
def test_a_question_is_answered_alike_with_or_without_its_question_mark_and_wrapper(seeded_store, settings):
    chain = build_chain(settings, store=seeded_store)
    asked = chain.ask("Which other sectors did Putin mention besides rare earth minerals?")
    for variant in ("Which other sectors did Putin mention besides rare earth minerals",
                    "do you know which other sectors did Putin mention besides rare earth minerals"):
        answer = chain.ask(variant)
        assert answer.citations and answer.citations[0].sentence == asked.citations[0].sentence, (variant, answer.text, asked.text)


@pytest.mark.slow
def test_a_name_the_archive_holds_is_never_said_to_be_missing(store, settings):
    """In an archive of thousands, "Who is Mary Schiavo?" found five passages about other Marys: her one passage was
    BM25's first but no dense candidate, and passages found on both sides came first. Passages that miss a name of
    a short question get the archive's passage holding all its names, so the answer does not say the articles don't
    mention her; a question whose names no passage holds together ("... about Alaska?") gets none."""
    jones = [
        Article(title=f"Mary Jones story {n}", url=f"https://x.test/jones{n}", source="Gazette",
                body=f"Mary Jones is a baker in Leeds, and Mary Jones opened shop number {n} this week.")
        for n in range(3)
    ]
    schiavo = Article(title="Aircraft parts scandal", url="https://x.test/parts", source="Gazette",
                      body="Fake engine parts were sold to airlines for years. Mary Schiavo, who was inspector general at the "
                           "US Department of Transportation, campaigned against the sale of unapproved aircraft parts.")
    alaska = Article(title="Northern lights", url="https://x.test/alaska", source="Gazette", body="Alaska is one of the best places to see the northern lights.")
    store.add([*jones, schiavo, alaska])
    chain = build_chain(settings.model_copy(update={"k": 2}), store=store)
    found = chain.retriever.lexical_search("Mary Jones baker", 2)  # what the retrieval found in that archive
    plan = chain.plan("Who is Mary Schiavo?")
    passages = chain._naming(plan, found, Filters())
    assert len(passages) == 2 and "Mary Schiavo" in passages[-1].page_content
    answer = "".join(chain.answerer.stream(plan, passages))
    assert "inspector general" in answer and "don't mention" not in answer, answer
    alaska_plan = chain.plan("What did Mary Schiavo say about Alaska?")
    assert chain._naming(alaska_plan, found, Filters()) == found
