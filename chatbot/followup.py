"""Conversations without an LLM: what a follow-up refers to, read from the turns so far.

The state of a conversation is read from its turns, never accumulated in a string:
- the *topic* is opened by a question that stands on its own and lasts while the questions refer back to it;
- its *subject* is what the last answer named ("he", "she", "the company" point at it more often than at the
  words of the question before).
A follow-up is searched as the question, the names of the last answer it may refer to, and the question that
opened the topic, bounded to MAX_QUERY_WORDS words: a third turn's query holds no second question. A question
that names something the topic does not hold, without referring back, opens a new topic and is searched exactly
as in a fresh conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chatbot.composer import mentions
from chatbot.query import named_phrases
from index.text import content_words

# Words that can only point back at something already said: they tie a question to the topic even when it
# names something new ("When did it reach Chelsea?").
_POINTS_BACK = re.compile(
    r"\b(he|she|it|its|they|them|their|theirs|his|her|hers|him|former|latter|else|earlier|previous)\b"
    r"|\bthe\s+(company|firm|club|team|group|deal|offer|agreement|study|research|researchers|report|reports|article|"
    r"story|case|trial|bill|law|plan|move|decision|country|city|player|coach|band|film|show|game|match|court|judge|"
    r"ruling|company's|club's|proposal|investigation|lawsuit|event|project|program|programme|policy|scheme|vote)\b",
    re.I,
)
# Words that usually point back but also start clauses ("the report that ..."): they tie a question that names
# nothing new to the topic, but a question with new names of its own is a new topic.
_MAY_POINT_BACK = re.compile(r"\b(that|this|these|those|there|then|such|same|also|more|other|another)\b", re.I)
# "And for hers?", "What about Chelsea?": the last question's frame, asked of something else.
_ELLIPSIS = re.compile(r"^\s*(and|but|also|what about|how about|same for|what else)\b", re.I)
SHORT_QUESTION_WORDS = 3  # a question of this few content words ("Why?", "How much did it cost?") leans on the topic
MAX_QUERY_WORDS = 40
SUBJECT_NAMES = 3
HISTORY_TURNS = 20  # the turns a conversation's state is read from: a 100-turn chat costs what a 20-turn one does


@dataclass
class Turn:
    question: str
    query: str
    answer: str = ""
    cited_article_ids: list[str] = field(default_factory=list)
    cited_titles: list[str] = field(default_factory=list)

    @classmethod
    def after(cls, question: str, answer) -> "Turn":
        """The turn the chat keeps in its history once `answer` (an Answer) has been given."""
        return cls(question, answer.query, answer.text, [c.article_id for c in answer.citations], [c.title for c in answer.citations])


@dataclass
class Topic:
    opened_by: str  # the question that opened it
    text: str  # everything said within it: its questions, answers and the cited titles
    subject: list[str]  # the names of the last answer's first sentence


def _lead(answer: str) -> str:
    return re.split(r"(?<=[.!?])\s+|\[\d+\]", answer, maxsplit=1)[0]


def topic_of(history: list[Turn]) -> Topic | None:
    """The topic the conversation is on after `history`: opened by its last standalone question."""
    history = history[-HISTORY_TURNS:]
    if not history:
        return None
    start = 0
    for n in range(1, len(history)):
        if not is_followup(history[n].question, history[start:n]):
            start = n
    turns = history[start:]
    text = "\n".join(f"{t.question}\n{t.answer}\n" + "\n".join(t.cited_titles) for t in turns)
    subject = named_phrases(_lead(turns[-1].answer))[:SUBJECT_NAMES] if not turns[-1].answer.startswith("The indexed articles don't") else []
    return Topic(turns[0].question, text, subject)


def is_followup(question: str, history: list[Turn]) -> bool:
    """Whether `question` continues the conversation's topic rather than opening one of its own."""
    if not history:
        return False
    if _POINTS_BACK.search(question) or _ELLIPSIS.match(question):
        return True
    said = "\n".join(f"{t.question}\n{t.answer}\n" + "\n".join(t.cited_titles) for t in history[-HISTORY_TURNS:])
    new_names = [n for n in named_phrases(question) if not mentions(said, n)]
    if new_names:
        return False
    return bool(_MAY_POINT_BACK.search(question)) or len(content_words(question)) <= SHORT_QUESTION_WORDS


def condense(question: str, history: list[Turn]) -> str:
    """The retrieval query for `question` given earlier turns (the question itself when it opens a topic)."""
    if not is_followup(question, history):
        return question
    topic = topic_of(history)
    words = question.split()
    frame = history[-1].question if _ELLIPSIS.match(question) else ""
    for extra in [*topic.subject, frame, topic.opened_by]:
        if extra and not mentions(" ".join(words), extra):
            words += extra.split()
    return " ".join(words[:MAX_QUERY_WORDS])
