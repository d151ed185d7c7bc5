"""BM25 over the same chunks as the dense index (bm25s), with metadata arrays for filtering."""

from __future__ import annotations

import logging

import bm25s
import numpy as np
import Stemmer

# bm25s sets its own logger to DEBUG on import, which would print on every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_STEMMER = Stemmer.Stemmer("english")


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
        if ids:
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            self._bm25.index(bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False), show_progress=False)

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

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk for the query."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        return self._bm25.get_scores(tokenize([query])[0])

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


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each value as a small integer, and the distinct values in code order."""
    distinct = list(dict.fromkeys(values))
    code = {v: n for n, v in enumerate(distinct)}
    return np.array([code[v] for v in values], dtype=np.int32), distinct
