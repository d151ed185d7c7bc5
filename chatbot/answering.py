"""Answers with numbered citations. The extractive answerer is the offline default; LLM backends
implement the same `Answerer` interface. `finalize` turns any answer text with [n] markers into an
Answer whose citations point at real passages, renumbered in order of first use."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np
from langchain_core.documents import Document

from chatbot.plan import QueryPlan
from index.text import WORD as _WORD, content_words, split_sentences

ABSTAIN_TEXT = "The indexed articles don't say."
MARKER = re.compile(r"\[(\d{1,3})\]")
@dataclass
class Citation:
    n: int
    chunk_id: str
    article_id: str
    title: str
    source: str
    published_at: str
    url: str
    text: str
    sentence: str = ""
    also_published_by: list[str] = field(default_factory=list)  # other outlets that ran the same (wire) story

    def as_json(self) -> dict:
        return asdict(self)



@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    query: str = ""
    passages: list[Document] = field(default_factory=list)
    notice: str = ""  # how the answer was made when not as configured (e.g. the LLM was unreachable)
    unverified: list[str] = field(default_factory=list)  # sentences no passage supports

    def as_json(self) -> dict:
        return {
            "answer": self.text,
            "citations": [c.as_json() for c in self.citations],
            "abstained": self.abstained,
            "query": self.query,
            "notice": self.notice,
            "unverified": self.unverified,
        }


class Notice(str):
    """A line for the user in an answer stream, not part of the answer: the text streamed before it is
    dropped, and what follows is the answer (e.g. the extractive one after the LLM failed)."""


class Answerer(ABC):
    """Writes an answer from numbered passages, citing them as [1], [2], ... (1-based positions)."""

    name: str = "answerer"

    @abstractmethod
    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        """Pieces of the answer text as they are produced (a `Notice` piece restarts the answer).
        `plan.query` is the standalone retrieval query when `plan.question` is a follow-up that only
        makes sense with the conversation."""

    def finish(self, text: str, passages: list[Document], query: str = "") -> Answer:
        """The final Answer from the streamed text."""
        return finalize(text, passages, query)


def _citation(n: int, doc: Document, sentence: str) -> Citation:
    m = doc.metadata
    return Citation(
        n=n,
        chunk_id=str(m.get("chunk_id", doc.id or "")),
        article_id=m.get("article_id", ""),
        title=m.get("title", ""),
        source=m.get("source", ""),
        published_at=m.get("published_at", ""),
        url=m.get("url", ""),
        text=doc.page_content,
        sentence=sentence,
        also_published_by=list(m.get("also_published_by") or []),
    )


def finalize(text: str, passages: list[Document], query: str = "") -> Answer:
    """Drop markers that point to no passage, renumber the rest 1..n in order of first use."""
    text = text.strip()
    if not text or text == ABSTAIN_TEXT:
        return Answer(ABSTAIN_TEXT, [], True, query, passages)
    order: dict[int, int] = {}
    supporting: dict[int, str] = {}

    def renumber(match: re.Match) -> str:
        position = int(match.group(1))
        if not 1 <= position <= len(passages):
            return ""
        order.setdefault(position, len(order) + 1)
        return f"[{order[position]}]"

    out_sentences = []
    for sentence in split_sentences(text):
        plain = re.sub(r"\s+([.,;!?])", r"\1", MARKER.sub("", sentence)).strip()
        renumbered = MARKER.sub(renumber, sentence)
        for position in {int(x) for x in MARKER.findall(sentence)}:
            if position in order:
                supporting.setdefault(position, plain)
        out_sentences.append(re.sub(r"\s+([.,;!?])", r"\1", re.sub(r"\s{2,}", " ", renumbered)).strip())
    citations = [_citation(n, passages[pos - 1], supporting.get(pos, "")) for pos, n in order.items()]
    return Answer(" ".join(out_sentences), citations, False, query, passages)


class ExtractiveAnswerer(Answerer):
    """Picks the passage sentences most similar to the question and quotes them with their citations.

    Abstains when no sentence reaches `abstain_below` (cosine similarity to the question), rather
    than quoting something unrelated.
    """

    name = "extractive"

    def __init__(self, embeddings, max_sentences: int = 3, abstain_below: float = 0.35, margin: float = 0.12, shortlist: int = 16):
        self.embeddings = embeddings
        self.shortlist = shortlist
        self.max_sentences = max_sentences
        self.abstain_below = abstain_below
        self.margin = margin

    def select(self, question: str, passages: list[Document], query: str | None = None) -> list[tuple[int, str, float]]:
        """(passage position, sentence, score) of the chosen sentences, best first; empty means abstain.

        For a follow-up, similarity is the mean over the bare question (what is asked now) and the
        standalone query (what it is about), so the answer neither drifts off topic nor repeats the
        previous answer."""
        candidates = [
            (pos, s)
            for pos, doc in enumerate(passages, 1)
            for s in split_sentences(doc.page_content)
            if not s.rstrip().endswith("?") and len(_WORD.findall(s)) >= 5
        ]
        if not candidates:
            return []
        asks = [question] + ([query] if query and query != question else [])
        candidates = self._shortlist(candidates, content_words(" ".join(asks)))
        vectors = self.embeddings.encode(asks + [s for _, s in candidates])
        qv, sv = vectors[: len(asks)], vectors[len(asks) :]
        similarity = (sv @ qv.T).mean(axis=1)
        asked = content_words(question)
        overlap = np.array([len(asked & content_words(s)) / max(1, len(asked)) for _, s in candidates])
        rank_prior = np.array([0.03 * (len(passages) - pos) / len(passages) for pos, _ in candidates])
        scores = similarity + 0.15 * overlap + rank_prior
        best = int(np.argmax(scores))
        if similarity[best] < self.abstain_below:
            return []
        chosen: list[int] = []
        for n in np.argsort(-scores):
            if len(chosen) == self.max_sentences or scores[n] < scores[best] - self.margin:
                break
            if similarity[n] < self.abstain_below or any(float(sv[n] @ sv[c]) > 0.9 for c in chosen):
                continue
            chosen.append(int(n))
        return [(candidates[n][0], candidates[n][1], float(scores[n])) for n in chosen]

    def _shortlist(self, candidates: list[tuple[int, str]], asked: set[str]) -> list[tuple[int, str]]:
        """The `shortlist` candidates sharing most words with the question (then from the best passages),
        in passage order: encoding every sentence of every passage costs most of an answer's time."""
        if len(candidates) <= self.shortlist:
            return candidates
        keep = sorted(range(len(candidates)), key=lambda n: (-len(asked & content_words(candidates[n][1])), candidates[n][0]))
        return [candidates[n] for n in sorted(keep[: self.shortlist])]

    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        if plan.digest:
            # "What's new today?" matches no sentence well: the lead sentence of each (newest) article answers it.
            yield from digest(passages)
            return
        chosen = self.select(plan.question, passages, plan.query)
        if not chosen:
            yield ABSTAIN_TEXT
            return
        for i, (pos, sentence, _) in enumerate(chosen):
            # A quoted "[3]" in the article's own text must not pass for one of our citations.
            quoted = re.sub(r"\s{2,}", " ", MARKER.sub("", sentence)).strip()
            yield ("" if i == 0 else " ") + cite(quoted, pos)


def digest(passages: list[Document]) -> Iterator[str]:
    """The first full sentence of each passage, cited; the passages come newest first."""
    first = True
    for pos, doc in enumerate(passages, 1):
        lead = next((s for s in split_sentences(doc.page_content) if len(_WORD.findall(s)) >= 5), "")
        if lead:
            yield ("" if first else " ") + cite(lead, pos)
            first = False
    if first:
        yield ABSTAIN_TEXT


def cite(sentence: str, position: int) -> str:
    """The sentence with its marker before the closing punctuation: 'It rose [2].'"""
    return tag_sentence(sentence, f"[{position}]")


def tag_sentence(sentence: str, tag: str) -> str:
    """The sentence with `tag` before its closing punctuation: 'It rose [2][3].', 'It rose (unverified).'"""
    body = sentence.rstrip()
    if body[-1:] in (".", "!", "?") and body[-2:-1] not in ("\"", "'", "”", "’"):
        return f"{body[:-1]} {tag}{body[-1]}"
    return f"{body} {tag}"
