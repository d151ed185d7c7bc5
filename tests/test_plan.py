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
