"""One understanding of a question: the chain makes a `QueryPlan` once per ask and hands it to the
retriever and the answerer, which read it instead of parsing the question again."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from chatbot.freshness import Freshness, freshness, topicless
from chatbot.query import SubQuery, answer_kind, asked_parts, asked_thing, decompose, find_dates, find_outlets, named_phrases, unknown_sources

_WORDS = re.compile(r"\w+")
LONG_QUESTION_WORDS = 20


@dataclass
class QueryPlan:
    question: str  # what the user asked, as asked
    query: str  # what is searched: the question, or a follow-up made to stand on its own
    outlets: list[str] = field(default_factory=list)  # known outlets the query names
    dates: list[date] = field(default_factory=list)  # dates the query names
    parts: list[SubQuery] = field(default_factory=list)  # one per outlet mention, when it names several
    fresh: Freshness | None = None  # the recency asked for; None also when a filter already sets the window
    digest: bool = False  # "What's new today?": recency asked for and no topic
    long: bool = False  # many words of its own: BM25 weighs more
    # What an answer must hold, from the question's own words:
    kind: str = "what"  # who / when / where / number / why / definition / what
    thing: str = ""  # the noun a "which X" question asks for
    names: list[str] = field(default_factory=list)  # names, numbers and titles it is about
    unknown: list[str] = field(default_factory=list)  # those of its names the archive never mentions (set by the chain)
    unknown_sources: list[str] = field(default_factory=list)  # publications it cites as sources that are not indexed
    asked: list[str] = field(default_factory=list)  # the questions within it (two when joined by "and")
    followup: bool = False  # it continues the conversation's topic (set by the chain, which has the history)
    topic_articles: list[str] = field(default_factory=list)  # the articles that topic cited, latest first
    said: str = ""  # a follow-up's last answer lead, when it asks something new of it (not "And for hers?")

    @property
    def asks(self) -> list[str]:
        """The texts an answer sentence should match: the question, and its standalone form when it differs."""
        return [self.question] + ([self.query] if self.query and self.query != self.question else [])


def kind_of(question: str, long_question_words: int = LONG_QUESTION_WORDS) -> str:
    """The kind of answer asked for; a long question's "What is the name of the AI that ...?" asks for a name
    its many clues describe (answered as any "what" question), not for a title the passages set off."""
    kind = answer_kind(question)
    return "what" if kind == "name" and len(_WORDS.findall(question)) >= long_question_words else kind


def understand(
    question: str,
    outlets: list[str],
    query: str | None = None,
    today: date | None = None,
    window_given: bool = False,
    long_question_words: int = LONG_QUESTION_WORDS,
) -> QueryPlan:
    """The plan of `question` (searched as `query`, default the question itself) among the known `outlets`.

    Outlets, dates and parts come from the searched text (a follow-up's standalone form names what the
    bare question only refers to); recency and length come from the question's own words."""
    query = query or question
    named = find_outlets(query, outlets)
    fresh = freshness(question, today or date.today(), outlets)
    return QueryPlan(
        question=question,
        query=query,
        outlets=named,
        dates=find_dates(query),
        parts=decompose(query, named),
        fresh=None if window_given else fresh,
        digest=fresh is not None and topicless(question),
        long=len(_WORDS.findall(question)) >= long_question_words,
        kind=kind_of(question, long_question_words),
        thing=asked_thing(question),
        names=named_phrases(question, outlets),
        unknown_sources=unknown_sources(question, outlets),
        asked=asked_parts(question),
    )
