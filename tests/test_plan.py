"""The question is understood once per ask: one QueryPlan, read by the retriever and the answerer."""

from __future__ import annotations

from datetime import date

import pytest

import chatbot.plan
from chatbot.chain import build_chain
from chatbot.plan import understand


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
