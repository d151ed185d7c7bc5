"""Conversations without an LLM: what a follow-up refers to, read from the turns so far.

The state of a conversation is read from its turns, never accumulated in a string:
- the *topic* is opened by a question that stands on its own and lasts while the questions refer back to it;
- its *subject* is what the last answer named ("they", "the company" point at it more often than at the words
  of the question before); "he" and "she" point at the topic's protagonist, the person its first question asks
  about, and "it" at the thing that question names, when there is one.
A follow-up is searched as the question, the names of the last answer it may refer to, and the question that
opened the topic, bounded to MAX_QUERY_WORDS words: a third turn's query holds no second question. A question
that names something the topic does not hold, without referring back, opens a new topic and is searched exactly
as in a fresh conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from chatbot import entities
from chatbot.answering import is_abstention
from chatbot.composer import mentions
from chatbot.query import LABEL, answer_kind, named_phrases
from index.text import content_words, stems

# Pronouns point back at something said before, unless the question names it first ("When will Hipgnosis hold
# its vote?").
_PRONOUN = re.compile(r"\b(he|she|it|its|they|them|their|theirs|his|her|hers|him)\b", re.I)
# "And for hers?", "What about Chelsea?", "Back to the Frankfurt game: ...": another question in the frame of one
# asked before.
_ELLIPSIS = re.compile(r"^\s*(and|but|also|what about|how about|same for|what else|(?:going\s+)?back\s+to)\b", re.I)
_BACK_TO = re.compile(r"^\s*(?:going\s+)?back\s+to\b", re.I)
# "that conclusion", "there", "the same", "the first one": pointing back, in a question that names nothing new.
# "that" also opens clauses ("the lab that showed ..."): it points back after a verb or preposition, or at the end.
_DEMONSTRATIVE = re.compile(
    r"\b(this|these|those|there|then|same|such|else)\b"
    r"|\b(?:first|second|third|last|next|previous|latest|earlier|other|new|old)\s+ones?\b"
    r"|\b(?:about|of|on|to|with|for|from|by|after|before|in|at|into|did|do|does|is|was|were|are|say|said|mean|cause|caused)\s+that\b"
    r"|\bthat(?:\s+\w+)?\s*\?$",
    re.I,
)
_DEFINITE = re.compile(r"\bthe\s+([a-z][\w-]+)")
SHORT_QUESTION_WORDS = 5  # naming nothing new, a question of this few content words ("Who leads the board now?") leans on the topic
# unless it holds a specific term (in at most this share of the archive's chunks) that no article cited so far
# holds: "Where is the lab that showed box jellyfish can learn?" after a chat about a film.
SPECIFIC_SHARE = 0.01
# The share of a question's words already said in the conversation above which it continues it ("How long were
# the mice allowed to eat?" after an answer about mice) even without a pronoun.
SAID_SHARE = 0.5
MAX_QUERY_WORDS = 40
ELLIPSIS_WORDS = 3  # "And Leon Black?", "What about Chelsea?": this few content words ask the last question again
SUBJECT_NAMES = 2
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
    article_ids: list[str] = field(default_factory=list)  # the articles cited within it, latest first


def _lead(answer: str) -> str:
    return re.split(r"(?<=[.!?])\s+|\[\d+\]", answer, maxsplit=1)[0]


def _unmarked(answer: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", answer)


def cited_lead(answer: str) -> str:
    """What an answer says before its first citation: the sentence (with any it carries) that answered."""
    return re.split(r"\s*\[\d+\]", answer, maxsplit=1)[0]


_MORE = re.compile(r"\b(?:more|else|other|another|further|besides)\b", re.I)


def asks_for_more(question: str) -> bool:
    """"Tell me more", "What else?", "Which other sector ...?": something the conversation has not said yet."""
    return _MORE.search(question) is not None


def elliptical(question: str) -> bool:
    """"And for hers?", "What about Chelsea?": the last question asked again of something else."""
    return _ELLIPSIS.match(question) is not None


# foreign(text, article_ids, max_share): whether text holds a specific term none of those articles holds (the
# retriever's lexical index knows); without one, no question is read as pointing away by its terms alone.
Foreign = Callable[[str, list[str], float], bool]


# "It", "its": a thing (not "they": "Where are they based?" after a deal for two startups is about the startups).
_IT = re.compile(r"\b(it|its)\b", re.I)
# "He", "she": a person.
_PERSONAL = re.compile(r"\b(he|she|him|his|her|hers)\b", re.I)


def _answered(run: list[Turn]) -> bool:
    return any(not is_abstention(t.answer) for t in run)


def _names_someone(run: list[Turn]) -> bool:
    """Whether the run's questions name a person (assumed so when the recogniser is unavailable)."""
    found = entities.spans([" ".join(t.question for t in run)], "who")
    return found is None or bool(found[0])


def topics(history: list[Turn], foreign: Foreign | None = None) -> list[list[Turn]]:
    """The conversation's topics, each the turns from the question that opened it, the one continued last at
    the end."""
    history = history[-HISTORY_TURNS:]
    runs: list[list[Turn]] = []
    for n, turn in enumerate(history):
        if runs and is_followup(turn.question, history[:n], foreign):
            run = runs.pop(_continued(runs, turn.question))
            runs.append(run + [turn])
        else:
            runs.append([turn])
    return runs


def _continued(runs: list[list[Turn]], question: str) -> int:
    """Which of the topics a follow-up continues: the latest, or an earlier one it shares more words with ("Back
    to the Frankfurt game: ..."). "He" or "she" does not point into a topic the articles answered nothing of and
    whose questions name no one: after "Who won the 2022 World Cup?" and "The indexed articles don't mention
    2022 World Cup.", "What did he say about X?" is about the person of the topic before."""
    candidates = list(range(len(runs)))
    if _PERSONAL.search(question):
        candidates = [n for n in candidates if _answered(runs[n]) or _names_someone(runs[n])] or candidates
    asked = stems(question)
    best = max(reversed(candidates), key=lambda n: len(asked & _said_stems(_said(runs[n]))))
    return best if asked & _said_stems(_said(runs[best])) else candidates[-1]


@lru_cache(maxsize=256)
def _said_stems(said: str) -> frozenset[str]:
    """The stems of what a topic said (read once per question for each earlier turn: kept)."""
    return frozenset(stems(said))


def topic_of(history: list[Turn], question: str = "", foreign: Foreign | None = None) -> Topic | None:
    """The topic `question` continues (see `_continued`). Its subject is what the last answer within it named."""
    runs = topics(history, foreign)
    if not runs:
        return None
    turns = runs[_continued(runs, question)]
    # "He" after "The indexed articles don't mention Alaska." is still the person the last answer named.
    answered = [t for t in turns if not is_abstention(t.answer)]
    subject = subject_of(_unmarked(answered[-1].answer)) if answered else []
    if _PERSONAL.search(question):
        # "He" and "she" point at the person the conversation is about more often than at one its last answer
        # mentioned in passing ("Why isn't he pitching?" is about Ohtani, not Mike Trout whose record he broke).
        subject = protagonist(turns) or subject
    elif _IT.search(question):
        subject = thing_asked_about(turns) or subject  # "When can people order it?": the Steam Deck OLED
    cited = list(dict.fromkeys(a for t in reversed(turns) for a in t.cited_article_ids))
    return Topic(turns[0].question, _said(turns), subject, cited)


def protagonist(turns: list[Turn]) -> list[str]:
    """The person a topic is about: the one its first question asks for ("Who will take over at Binance?": the first
    person its answer names), else the first person that question names ("How long is Shohei Ohtani's contract?");
    [] when there is none or the recogniser is unavailable."""
    first = turns[0]
    if answer_kind(first.question) == "who":
        if is_abstention(first.answer):
            return []
        text = _lead(_unmarked(first.answer))
    else:
        text = first.question
    people = entities.spans([text], "who")
    return [min(people[0], key=text.find)] if people and people[0] else []


def thing_asked_about(turns: list[Turn]) -> list[str]:
    """What "it" points at in a topic: the first name of its first question that is not a person ("Steam Deck
    OLED" in "How bright is the Steam Deck OLED's screen?"); [] when that question asks who or which organisation
    (its answer names the thing) or names nothing else."""
    first = turns[0].question
    if answer_kind(first) in ("who", "organisation"):
        return []
    people = entities.spans([first], "who") or [[]]
    names = [n for n in named_phrases(first) if not n[0].isdigit() and not any(n in p or p in n for p in people[0])]
    return names[:1]


def subject_of(answer: str) -> list[str]:
    """What an answer is about: the first names of its first sentence (the recogniser's, else capitalised phrases)."""
    lead = _lead(answer)
    found = entities.names(lead)
    return (found if found is not None else named_phrases(lead))[:SUBJECT_NAMES]



def _said(turns: list[Turn]) -> str:
    return "\n".join(f"{t.question}\n{t.answer}\n" + "\n".join(t.cited_titles) for t in turns)


def is_followup(question: str, history: list[Turn], foreign: Foreign | None = None) -> bool:
    """Whether `question` continues the conversation rather than opening a topic of its own: it points back (an
    elliptical start, before a short question or one naming nothing new; a pronoun before any new name; or,
    naming nothing new, "that", "there", "the first one", "the company" for a company already mentioned), or
    naming nothing new, most of its words were said already or it is very short and holds no specific term the
    articles cited so far lack. A name is new when no turn said it and the articles cited so far do not hold it."""
    if not history:
        return False
    back_to = _BACK_TO.match(question) is not None
    recent = history[-HISTORY_TURNS:]
    said = _said(recent)
    named = named_phrases(question)
    new_names = [n for n in named if not mentions(said, n)]
    cited = list(dict.fromkeys(a for t in recent for a in t.cited_article_ids))
    if foreign and cited and not back_to and not LABEL.match(question):
        # A name the articles cited so far hold is the topic's too ("Who was the House Speaker that praised its
        # passage?" after an answer about the budget the Speaker's article reports), unless a label says the
        # subject changes ("Different question: ...").
        new_names = [n for n in new_names if foreign(n, cited, 1.0)]
    if elliptical(question) and not back_to:
        # "What about Chelsea?" asks again of something else; "Also, Graham Arnold is about to set a Socceroos
        # coaching record, how many games is that?" asks a question of its own.
        return not new_names or len(stems(question)) <= SHORT_QUESTION_WORDS
    if back_to:
        # "Back to the Frankfurt game: ..." returns to a topic that spoke of it; "Back to Biden and Xi: ..." naming
        # only what no turn said opens one of its own.
        return not named or len(new_names) < len(named)
    pronoun = _PRONOUN.search(question)
    if pronoun and not any(0 <= question.find(n) < pronoun.start() for n in new_names):
        return True
    if new_names:
        return False
    said_stems = stems(said)
    if _DEMONSTRATIVE.search(question) or any(stems(noun) & said_stems for noun in _DEFINITE.findall(question)):
        return True
    words = stems(question)
    if len(words & said_stems) >= SAID_SHARE * len(words):
        return True
    if len(words) > SHORT_QUESTION_WORDS:
        return False
    return not (foreign and foreign(" ".join(sorted(content_words(question))), cited, SPECIFIC_SHARE))


def condense(question: str, history: list[Turn], topic: Topic | None = None) -> str:
    """The retrieval query for `question` given earlier turns (the question itself when it opens a topic).
    `topic` is the one it continues when the caller has already found it (the chain does, once per question)."""
    if topic is None:
        if not is_followup(question, history):
            return question
        topic = topic_of(history, question)
    words = question.split()
    # "What about Chelsea?" asks the last question again of something else; "Back to X: ..." asks within X's topic.
    # Only an elliptical question takes the last one's frame: "And which senator criticised Apple?" asks in full.
    asks_again = elliptical(question) and not _BACK_TO.match(question) and len(stems(question)) <= ELLIPSIS_WORDS
    frame = history[-1].question if asks_again else ""
    for extra in [*topic.subject, frame, topic.opened_by]:
        if extra and not mentions(" ".join(words), extra):
            words += extra.split()
    return " ".join(words[:MAX_QUERY_WORDS])
