from langchain_core.documents import Document

from chatbot.answering import ABSTAIN_TEXT, ExtractiveAnswerer, cite, finalize, tag_sentence
from index.text import split_sentences
from chatbot.chain import Filters
from chatbot.plan import understand
from index.errors import UserError
from chatbot.followup import Turn, condense, is_followup

import pytest


def doc(text, n):
    return Document(page_content=text, metadata={"chunk_id": f"a{n}:0", "article_id": f"a{n}", "title": f"T{n}", "source": "S"}, id=f"a{n}:0")


def test_finalize_drops_unknown_markers_and_renumbers():
    passages = [doc("alpha", 1), doc("beta", 2), doc("gamma", 3)]
    answer = finalize("Beta is true [2]. Gamma too [3][9]. Beta again [2].", passages)
    assert answer.text == "Beta is true [1]. Gamma too [2]. Beta again [1]."
    assert [(c.n, c.title) for c in answer.citations] == [(1, "T2"), (2, "T3")]
    assert answer.citations[0].sentence == "Beta is true."


def test_finalize_abstains_on_empty_text():
    assert finalize("", []).abstained and finalize(ABSTAIN_TEXT, [doc("x", 1)]).text == ABSTAIN_TEXT


def test_cite_puts_the_marker_before_closing_punctuation():
    assert cite("It rose.", 2) == "It rose [2]."
    assert cite('He said "no."', 1) == 'He said "no." [1]'
    assert cite("It grew (a lot).", 3) == "It grew (a lot) [3]."


def test_sentence_split_keeps_abbreviations_and_joins_an_attribution_on_the_next_line():
    assert split_sentences("Dr. Smith arrived. Then he left! Why? 3 people.") == ["Dr. Smith arrived.", "Then he left!", "Why?", "3 people."]
    assert split_sentences("U.S. officials met in Washington. They agreed.") == ["U.S. officials met in Washington.", "They agreed."]
    assert split_sentences("“We are ready to attract foreign partners,”\nPutin stated, referring to Ukraine.") == [
        "“We are ready to attract foreign partners,” Putin stated, referring to Ukraine."
    ]


def test_sentence_split_is_pysbds_own():
    # index.text finds each sentence's place with str.find instead of a pattern per sentence: the same sentences.
    import pysbd

    from index.text import _segmenter

    lines = [
        "Yes. Yes. No.  Yes.   ",
        "He said: “No.” Then (again) he said “No.” [3] Dr. Smith agreed… The U.S. did too.\t",
        "It rose 4.5% to $1.2 bn. in Q3 (vs. 2.1%). Mr. A. B. Jones, Jr. left at 5 p.m. on Jan. 3.",
    ]
    reference = pysbd.Segmenter(language="en", clean=False)
    for line in lines:
        assert _segmenter().segment(line) == reference.segment(line), line


def test_a_company_name_with_bros_is_one_sentence():
    # pysbd ends a sentence at "Bros." before a capital; in news it is inside a name.
    text = "NASCAR signed a $7.7 billion deal with Fox Sports, NBC, Amazon and Warner Bros. Discovery. Dr. Smith agreed."
    assert split_sentences(text) == [
        "NASCAR signed a $7.7 billion deal with Fox Sports, NBC, Amazon and Warner Bros. Discovery.",
        "Dr. Smith agreed.",
    ]


def test_seed_question_is_answered_from_the_faq(seeded_chain):
    answer = seeded_chain.ask("What are rare earth minerals?")
    assert not answer.abstained
    assert "17 elements" in answer.text and "[1]" in answer.text
    assert answer.citations[0].title.startswith("Putin")
    assert "17 elements" in answer.citations[0].sentence
    assert answer.citations[0].sentence in answer.citations[0].text


def test_abstains_when_nothing_supports_an_answer(seeded_chain):
    answer = seeded_chain.ask("Who won the 1987 world chess championship in Reykjavik?")
    assert answer.abstained and answer.text == "The indexed articles don't mention 1987 or Reykjavik." and not answer.citations
    answer = seeded_chain.ask("What is the best recipe for sourdough bread with rye flour?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT and not answer.citations


def test_extractive_never_quotes_the_question_back(embeddings):
    passages = [doc("Question: What is a quark?\n\nA quark is an elementary particle and a fundamental constituent of matter.", 1)]
    composed = ExtractiveAnswerer(embeddings).compose(understand("What is a quark?", []), passages)
    assert [s.text for s in composed.sentences] == ["A quark is an elementary particle and a fundamental constituent of matter."]


def test_stream_yields_pieces_then_the_answer(seeded_chain):
    items = list(seeded_chain.stream("What are rare earth minerals?"))
    assert all(isinstance(i, str) for i in items[:-1]) and len(items) >= 2
    assert items[-1].text.replace("[1]", "").strip()


def test_bad_questions_and_filters_are_user_errors(seeded_chain):
    with pytest.raises(UserError, match="empty"):
        seeded_chain.ask("   ")
    with pytest.raises(UserError, match="no words"):
        seeded_chain.ask("???")
    with pytest.raises(UserError, match="only a web address"):
        seeded_chain.ask("https://example.com/news/putin-rare-earths")
    with pytest.raises(UserError, match="looks Spanish"):
        seeded_chain.ask("¿Qué dijo Putin sobre los minerales de tierras raras?")
    assert not seeded_chain.ask("What did Le Monde say about rare earth minerals?").text.startswith("the question")
    with pytest.raises(UserError, match="unknown outlet"):
        seeded_chain.ask("anything", filters=Filters(sources=["No Such Outlet"]))


def test_followup_heuristic():
    history = [Turn("What share of adults showed signs of addiction to ultra-processed foods?", "What share of adults showed signs of addiction to ultra-processed foods?")]
    assert is_followup("Who led the research?", history) and not is_followup("Who led the research?", [])
    assert condense("Who led the research?", history).startswith("Who led the research? What share of adults")
    assert condense("Who led the research?", []) == "Who led the research?"
    long_question = "What did the European Central Bank decide about interest rates at the December meeting in Frankfurt?"
    assert condense(long_question, history) == long_question


def test_followup_retrieves_with_history(seeded_chain):
    first = seeded_chain.ask("What share of adults and children showed signs of addiction to ultra-processed foods?")
    assert "14%" in first.text
    history = [Turn(first.query, first.query, first.text, [c.article_id for c in first.citations])]
    follow = seeded_chain.ask("Who led the research?", history)
    assert follow.query != "Who led the research?"
    assert any("Gearhardt" in d.page_content for d in follow.passages)
    assert "Gearhardt" in follow.text


def test_sentences_split_the_same_in_concurrent_threads():
    # pysbd keeps the text it works on in the segmenter: the chat's concurrent answers must each have their own.
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"Dr. Smith met {n} U.S. officials in Washington. They agreed on plan {n}. It cost ${n} million." for n in range(200)]
    expected = [split_sentences(t) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(split_sentences, texts)) == expected


def test_a_sentence_that_trails_off_keeps_its_ellipsis_whole():
    """The citation goes before a sentence's closing stop, but after an ellipsis: "this year... [1]", not "this year.. [1].\""""
    assert tag_sentence("Ronaldo leads the list this year...", "[1]") == "Ronaldo leads the list this year... [1]"
    assert tag_sentence("Ronaldo leads the list this year. . .", "[1]") == "Ronaldo leads the list this year. . . [1]"
    assert tag_sentence("Ronaldo leads the list.", "[1]") == "Ronaldo leads the list [1]."
