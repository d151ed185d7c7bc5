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


_WORDS = re.compile(r"[A-Za-z0-9]{3,}")
MIN_PART_WORDS = 5


@dataclass
class SubQuery:
    """One part of a question that names several outlets: its own words, outlets and dates."""

    text: str
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


def outlet_mentions(question: str, outlets: list[str]) -> list[tuple[int, list[str]]]:
    """Every place the question names one of `outlets` (already resolved by find_outlets), in order.

    An alias shared by several outlets gives one mention naming all of them.
    """
    text = question.lower()
    taken: dict[int, tuple[int, list[str]]] = {}  # start -> (end, outlets)
    for source in outlets:
        for alias in sorted(outlet_aliases(source), key=len, reverse=True):
            for match in re.finditer(rf"(?<![\w]){re.escape(alias.lower())}(?![\w])", text):
                start, end = match.span()
                if any(s <= start < e or start <= s < end for s, (e, _) in taken.items() if s != start):
                    continue
                old_end, names = taken.get(start, (end, []))
                if end >= old_end and source not in names:
                    taken[start] = (max(end, old_end), names + [source])
    return [(start, names) for start, (_, names) in sorted(taken.items())]


def decompose(question: str, outlets: list[str]) -> list[SubQuery]:
    """Split a question that names outlets more than once into one part per mention.

    "Does the Verge article say X, while the TechCrunch article says Y?" becomes a part about X from
    The Verge and a part about Y from TechCrunch, each with the dates written in it, so each hop of a
    comparison or temporal question gets its own search instead of sharing one blurred embedding.
    """
    mentions = outlet_mentions(question, outlets)
    if len(mentions) < 2:
        return []
    parts = []
    for n, (start, names) in enumerate(mentions):
        begin = 0 if n == 0 else start
        end = mentions[n + 1][0] if n + 1 < len(mentions) else len(question)
        text = question[begin:end].strip(" ,;'\"")
        # A bare trailing mention ("... reported by TechCrunch and The Age?") says nothing of its own:
        # the per-outlet search with the whole question covers it.
        if len(_WORDS.findall(text)) >= MIN_PART_WORDS:
            parts.append(SubQuery(text, names, find_dates(text)))
    return parts if len(parts) >= 2 else []

