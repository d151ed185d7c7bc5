"""BM25 over the same chunks as the dense index (bm25s), with metadata arrays for filtering."""

from __future__ import annotations

import logging
import math
import re

import bm25s
import numpy as np
import Stemmer

# bm25s sets its own logger to DEBUG on import, which would print on every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_STEMMER = Stemmer.Stemmer("english")
_CLAUSES = re.compile(r"[,;]")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


class LexicalIndex:
    """BM25 scores for every chunk at once, so filters are a mask and fusion sees the same ids as Chroma.
    It also holds each chunk's passage and metadata, so a search needs no read from the store."""

    def __init__(
        self, ids: list[str], texts: list[str], metadatas: list[dict], documents: list[str] | None = None, k1: float = 1.5, b: float = 0.75
    ):
        self.ids = ids
        self.metadatas = metadatas
        self.documents = documents if documents is not None else texts
        self.position = {chunk_id: n for n, chunk_id in enumerate(ids)}
        # Filters compare small integers, not strings: outlet and article codes per chunk.
        self._source_codes, self.sources = _codes([m.get("source", "") for m in metadatas])
        self._article_codes, self.article_ids = _codes([m.get("article_id", "") for m in metadatas])
        self.timestamps = np.array([int(m.get("published_ts") or 0) for m in metadatas], dtype=np.int64)
        self.outlets = sorted(set(self.sources) - {""})
        self._bm25 = None
        self.idf: dict[str, float] = {}
        if ids:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            self._bm25.index(tokens, show_progress=False)
            self.idf = _idf(tokens)

    def __len__(self) -> int:
        return len(self.ids)

    def chunks(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """Passage and metadata of each known chunk id."""
        return {i: (self.documents[self.position[i]], self.metadatas[self.position[i]]) for i in ids if i in self.position}

    def mask(self, sources=None, since: int | None = None, until: int | None = None, article_ids=None) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        if sources:
            keep &= np.isin(self._source_codes, [self.sources.index(s) for s in sources if s in self.sources])
        if since is not None:
            keep &= self.timestamps >= since
        if until is not None:
            keep &= self.timestamps <= until
        if article_ids:
            wanted = set(article_ids)
            keep &= np.isin(self._article_codes, [n for n, a in enumerate(self.article_ids) if a in wanted])
        return keep

    def knows(self, text: str) -> bool:
        """Whether every word of `text` (as BM25 reads it) occurs somewhere in the indexed chunks."""
        return all(t in self.idf for t in tokenize([text])[0])

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk for the query."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        return self._bm25.get_scores(tokenize([query])[0])

    def sentence_scores(self, query: str, passages: list[list[str]]) -> list[float]:
        """For each passage (given as its sentences), how much of the query its best sentence says: the summed IDF
        of the query terms the sentence holds, plus that of the terms it shares with the one clause of the query
        (split at commas and semicolons) it matches best. Terms of one clause found together count twice, so a
        sentence that says what one part of a long question says outranks one holding scattered words of several.
        A query without commas is one clause, and the score is twice the summed IDF."""
        asked, *clauses = [set(t) for t in tokenize([query] + _CLAUSES.split(query))]
        sentences = [s for p in passages for s in p]
        terms = [set(t) for t in tokenize(sentences)] if sentences else []
        # fsum: exactly rounded, so equal term sets tie exactly whatever order a set yields its terms in
        weight = lambda found: math.fsum(self.idf.get(t, 0.0) for t in found)
        scores, n = [], 0
        for passage in passages:
            found = [weight(s & asked) + max(weight(s & c) for c in clauses) for s in terms[n : n + len(passage)]]
            scores.append(max(found, default=0.0))
            n += len(passage)
        return scores

    def top(self, scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) pairs of the best `k` chunks within the mask, only positive scores."""
        if not len(scores):
            return []
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[n], float(scores[n])) for n in top if scores[n] > 0]


def _idf(tokens) -> dict[str, float]:
    """BM25's inverse document frequency of every term of the tokenized chunks."""
    counts = np.zeros(len(tokens.vocab))
    for doc in tokens.ids:
        counts[list(set(doc))] += 1
    n = len(tokens.ids)
    return {term: math.log(1 + (n - counts[i] + 0.5) / (counts[i] + 0.5)) for term, i in tokens.vocab.items()}


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each value as a small integer, and the distinct values in code order."""
    distinct = list(dict.fromkeys(values))
    code = {v: n for n, v in enumerate(distinct)}
    return np.array([code[v] for v in values], dtype=np.int32), distinct
