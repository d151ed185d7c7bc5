"""Follow-up questions without an LLM: a documented heuristic that rewrites the retrieval query.

A question is treated as a follow-up when it refers back (pronouns, "that", "the same", "else") or
is short. Its retrieval query is then the question followed by the previous turn's query, so the
topic carries over; the chain also searches the articles cited in the previous turn first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.text import content_words

_REFERS_BACK = re.compile(
    r"\b(he|she|it|its|they|them|their|theirs|his|her|hers|him|that|this|these|those|there|then|such|"
    r"same|else|other|another|also|more|former|latter|above|earlier|previous|article|story|report|outlet)\b",
    re.IGNORECASE,
)
SHORT_QUESTION_WORDS = 6
MAX_CARRIED_WORDS = 60


@dataclass
class Turn:
    question: str
    query: str
    answer: str = ""
    cited_article_ids: list[str] = field(default_factory=list)

    @classmethod
    def after(cls, question: str, answer) -> "Turn":
        """The turn the chat keeps in its history once `answer` (an Answer) has been given."""
        return cls(question, answer.query, answer.text, [c.article_id for c in answer.citations])


def is_followup(question: str) -> bool:
    return bool(_REFERS_BACK.search(question)) or len(content_words(question)) <= SHORT_QUESTION_WORDS


def condense(question: str, history: list[Turn]) -> str:
    """The retrieval query for `question` given earlier turns (the question itself for a first turn)."""
    if not history or not is_followup(question):
        return question
    carried = " ".join(history[-1].query.split()[:MAX_CARRIED_WORDS])
    return f"{question} {carried}"
