"""Freshness: "today", "this week", "what's new" questions get a date window and newest-first passages."""

from __future__ import annotations

from datetime import date

import pytest

from chatbot.chain import build_chain
from chatbot.freshness import Freshness, freshness, newest_first
from chatbot.plan import understand
from index.articles import Article
from langchain_core.documents import Document

TODAY = date(2026, 11, 27)  # a Friday


@pytest.mark.parametrize(
    "question, since, until",
    [
        ("What happened in Riverton today?", TODAY, TODAY),
        ("What did the council decide yesterday?", date(2026, 11, 26), date(2026, 11, 26)),
        ("Any storms this week?", date(2026, 11, 21), TODAY),
        ("What was decided last week?", date(2026, 11, 16), date(2026, 11, 22)),
        ("News about rates this month", date(2026, 11, 1), TODAY),
        ("What happened in the past 3 days?", date(2026, 11, 25), TODAY),
        ("Anything in the last two weeks about bridges?", date(2026, 11, 14), TODAY),
        ("Storm damage in the past 24 hours", date(2026, 11, 26), TODAY),
    ],
)
def test_periods_are_relative_to_today(question, since, until):
    found = freshness(question, TODAY)
    assert (found.since, found.until, found.newest_first) == (since, until, True)


@pytest.mark.parametrize("question", ["What's new on the harbour bridge?", "latest news about the central bank", "Any news from Riverton?"])
def test_asking_for_the_latest_ranks_newest_first_without_a_window(question):
    assert freshness(question, TODAY) == Freshness(None, None, True, freshness(question, TODAY).phrase)


@pytest.mark.parametrize(
    "question",
    [
        "Which company's latest product launch raised revenue?",  # 'latest' about a product, not about news
        "What did the Fed decide on October 7, 2023?",
        "Who is the governor of the central bank?",
        "What did Business Today report about Israel?",  # an outlet's name, not a time frame
        "Did Business Today | Latest Stock Market And Economy News India cover the attack?",
        "Who wrote “based on today's news, I quit”?",  # someone else's words
        "What happened today, October 7, 2023, in Gaza?",  # names its own date: the date search handles it
        "Who set the record-breaking fastest century?",
        "What were the recent developments at the company?",  # 'recent' in a question about the past
        "How much had the S&P 500 lost in September 2023 by the last week of the month?",  # a week of another period
    ],
)
def test_ordinary_questions_are_left_alone(question):
    outlets = ["Business Today | Latest Stock Market And Economy News India", "Fortune"]
    assert freshness(question, TODAY, outlets) is None


@pytest.mark.parametrize(
    "question, digest",
    [
        ("What's new today?", True),
        ("Any news this week?", True),
        ("What happened in the past 3 days?", True),
        ("What's new on the harbour bridge?", False),
        ("What did the council decide yesterday?", False),
        ("Who is the governor of the central bank?", False),
    ],
)
def test_a_question_about_nothing_but_recency_asks_for_a_digest(question, digest):
    assert understand(question, [], today=TODAY).digest is digest


def doc(n: int, ts: int) -> Document:
    return Document(page_content=str(n), metadata={"published_ts": ts})


def test_newest_first_weighs_recency_against_relevance():
    ranked = [doc(0, 100), doc(1, 900), doc(2, 500), doc(3, 0)]  # by relevance; doc 3 has no date
    assert [d.page_content for d in newest_first(ranked, 3)] == ["1", "0", "2"]
    assert newest_first([], 3) == []


@pytest.mark.slow
def test_chain_answers_today_from_todays_articles(store, settings):
    body = "The Riverton council met to vote on the Market Street plan and the budget for the coming year in a long session."
    store.add([
        Article(title="Council vote today", body=body + " Today it approved the plan.", source="Herald", published_at="2026-11-27", url="http://127.0.0.1/t"),
        Article(title="Council vote last month", body=body + " Last month it delayed the plan.", source="Herald", published_at="2026-10-20", url="http://127.0.0.1/o"),
    ])
    chain = build_chain(settings, store=store, today=lambda: TODAY)
    _, docs = chain.retrieve("What did the Riverton council decide today?")
    assert docs and {d.metadata["title"] for d in docs} == {"Council vote today"}
    _, docs = chain.retrieve("What's new on the Riverton council?")
    assert docs[0].metadata["title"] == "Council vote today"
    _, docs = chain.retrieve("What did the Riverton council decide yesterday?")
    assert docs == []  # nothing from yesterday: no stale article is passed off as yesterday's
    digest = chain.ask("What's new today?")
    assert [c.title for c in digest.citations] == ["Council vote today"] and not digest.abstained
    assert digest.text.startswith("The Riverton council met to vote on the Market Street plan")
