"""Question understanding: which known outlets and which dates a question names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from dateutil import parser as dateparser

_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"\b(?:(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}})\b",
    re.IGNORECASE,
)


@dataclass
class QueryPlan:
    question: str
    outlets: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)


def outlet_aliases(source: str) -> set[str]:
    """Ways a question may name an outlet: 'The Independent - Life and Style' is also 'The Independent'."""
    names = {source}
    for sep in (" | ", " - ", ": "):
        if sep in source:
            names.add(source.split(sep)[0])
    names |= {n[4:] for n in list(names) if n.lower().startswith("the ")}
    names |= {n.removesuffix(".com") for n in list(names)}
    return {n.strip() for n in names if len(n.strip()) >= 3}


def find_outlets(question: str, sources: list[str]) -> list[str]:
    """Known outlets named in the question, in order of first mention (longest alias wins)."""
    text = question.lower()
    hits: dict[str, int] = {}
    for source in sources:
        for alias in sorted(outlet_aliases(source), key=len, reverse=True):
            match = re.search(rf"(?<![\w]){re.escape(alias.lower())}(?![\w])", text)
            if match:
                hits[source] = min(hits.get(source, len(text)), match.start())
                break
    # An alias shared by several outlets ("The Independent") names them all; a full name names one.
    exact = {s for s in hits if s.lower() in text}
    if exact:
        hits = {s: p for s, p in hits.items() if s in exact or not any(s.split(" ")[0] == e.split(" ")[0] for e in exact)}
    return sorted(hits, key=hits.get)


def find_dates(question: str) -> list[date]:
    found = []
    for match in _DATE.finditer(question):
        try:
            found.append(dateparser.parse(match.group(0), default=datetime(2000, 1, 1)).date())
        except (ValueError, OverflowError):
            continue
    return list(dict.fromkeys(found))


def understand(question: str, sources: list[str]) -> QueryPlan:
    return QueryPlan(question, find_outlets(question, sources), find_dates(question))
