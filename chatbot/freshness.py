"""Freshness: questions that ask for the latest news get a date window and newest-first ranking.

Every date here is relative to a `today` passed in by the caller (the chain gets it from the entry point),
so answers are reproducible and tests can pin the day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from langchain_core.documents import Document

from chatbot.query import find_dates, outlet_aliases
from index.text import content_words

_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "fourteen": 14, "thirty": 30}
_LAST_N = re.compile(r"\b(?:past|last|previous)\s+(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")\s+(days?|weeks?|hours?)\b", re.I)
# "The last week of the month", "this week of the trial": a part of another period, not one counted from today.
_NOT_OF = r"(?!\s+of\b)"
# Quoted words are someone else's ("based on today's news, I quit"), not the asker's time frame.
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
# Asking for what is new, without naming a period: rank the newest relevant articles first.
_LATEST = re.compile(
    r"\bwhat(?:'|’)?s\s+new\b|\bwhat\s+is\s+new\b|\bany\s+news\b|\bbreaking\s+news\b|\bnewest\b"
    r"|\b(?:latest|most\s+recent)\s+(?:news|stories|articles|headlines|developments|updates?|reports?)\b"
    r"|\b(?:the\s+)?latest\s+(?:on|about|from|in|with)\b|\bnews\s+today\b|\bup\s+to\s+date\b",
    re.I,
)


@dataclass(frozen=True)
class Freshness:
    """A date window (inclusive, either end may be open) and whether to rank newer articles first."""

    since: date | None
    until: date | None
    newest_first: bool
    phrase: str  # the words of the question that asked for it


def freshness(question: str, today: date, outlets: list[str] = ()) -> Freshness | None:
    """What the question asks about recency, relative to `today`; None when it does not.

    Outlet names ("Business Today", "... | Latest News") and quotations are not read as a time frame,
    and a question that names its own date ("on October 7, 2023") is left to the date search.
    """
    if find_dates(question):
        return None
    text = _QUOTED.sub(" ", question.lower())
    for alias in sorted({a.lower() for o in outlets if o for a in outlet_aliases(o) | {o}}, key=len, reverse=True):
        text = text.replace(alias, " ")
    windows = [
        (r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", today, today),
        (r"\byesterday\b", today - timedelta(days=1), today - timedelta(days=1)),
        (rf"\b(?:this|past)\s+week\b{_NOT_OF}", today - timedelta(days=6), today),
        (rf"\blast\s+week\b{_NOT_OF}", today - timedelta(days=today.weekday() + 7), today - timedelta(days=today.weekday() + 1)),
        (rf"\bthis\s+month\b{_NOT_OF}", today.replace(day=1), today),
        (rf"\b(?:past|last)\s+month\b{_NOT_OF}", today - timedelta(days=30), today),
    ]
    match = _LAST_N.search(text)
    if match:
        count = int(match.group(1)) if match.group(1).isdigit() else _NUMBER_WORDS[match.group(1)]
        unit = match.group(2).rstrip("s")
        days = {"day": count, "week": 7 * count, "hour": -(-count // 24)}[unit]
        return Freshness(today - timedelta(days=max(days - 1, 1 if unit == "hour" else 0)), today, True, match.group(0))
    for pattern, since, until in windows:
        found = re.search(pattern, text)
        if found:
            return Freshness(since, until, True, found.group(0))
    found = _LATEST.search(text)
    if found:
        return Freshness(None, None, True, found.group(0))
    return None


# Words that only say "what is new"; a question made of nothing else asks for a digest of the news.
_FRESH_WORDS = set(
    "new news latest recent recently newest breaking happened happen happening going anything everything stories story "
    "headlines headline updates update today tonight yesterday week weeks month morning afternoon evening past last "
    "days day hours hour previous world tell me us please".split()
)


def topicless(question: str) -> bool:
    """True when the question holds no word beyond asking what is new ("What's new this week?")."""
    words = content_words(re.sub(r"['’]s\b", "", question))
    return not {w for w in words if w not in _FRESH_WORDS and not w.isdigit() and w not in _NUMBER_WORDS}


def digest_passages(docs: list[Document], k: int) -> list[Document]:
    """One passage per article (its earliest retrieved chunk: nearest the lead), newest article first."""
    lead: dict[str, Document] = {}
    for doc in docs:
        key = doc.metadata.get("article_id", doc.id)
        if key not in lead or doc.metadata.get("chunk_index", 0) < lead[key].metadata.get("chunk_index", 0):
            lead[key] = doc
    return sorted(lead.values(), key=lambda d: -int(d.metadata.get("published_ts") or 0))[:k]


def newest_first(docs: list[Document], k: int, rrf_k: int = 10) -> list[Document]:
    """The k best of `docs` (ranked by relevance) when relevance and recency count equally (reciprocal rank fusion)."""
    by_date = sorted(range(len(docs)), key=lambda n: -int(docs[n].metadata.get("published_ts") or 0))
    date_rank = {n: rank for rank, n in enumerate(by_date)}
    score = {n: 1 / (rrf_k + n + 1) + 1 / (rrf_k + date_rank[n] + 1) for n in range(len(docs))}
    # Ties go to the newer passage: the question asked for what is new.
    return [docs[n] for n in sorted(score, key=lambda n: (-score[n], date_rank[n]))[:k]]
