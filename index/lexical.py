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

    def __init__(self, ids: list[str], texts: list[str], metadatas: list[dict], documents: list[str] | None = None):
        self.ids = ids
        self.metadatas = metadatas
        self.documents = documents if documents is not None else texts
        self.position = {chunk_id: n for n, chunk_id in enumerate(ids)}
        self.sources = np.array([m.get("source", "") for m in metadatas], dtype=object)
        self.timestamps = np.array([int(m.get("published_ts") or 0) for m in metadatas], dtype=np.int64)
        self.article_ids = np.array([m.get("article_id", "") for m in metadatas], dtype=object)
        self.outlets = sorted({m.get("source", "") for m in metadatas} - {""})
        self._bm25 = None
        if ids:
            self._bm25 = bm25s.BM25()
            self._bm25.index(bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False), show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def chunks(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """Passage and metadata of each known chunk id."""
        return {i: (self.documents[self.position[i]], self.metadatas[self.position[i]]) for i in ids if i in self.position}

    def mask(self, sources=None, since: int | None = None, until: int | None = None, article_ids=None) -> np.ndarray:
        keep = np.ones(len(self.ids), dtype=bool)
        if sources:
            keep &= np.isin(self.sources, list(sources))
        if since is not None:
            keep &= self.timestamps >= since
        if until is not None:
            keep &= self.timestamps <= until
        if article_ids:
            keep &= np.isin(self.article_ids, list(article_ids))
        return keep

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) pairs, best first, only chunks with a positive score."""
        if self._bm25 is None:
            return []
        scores = self._bm25.get_scores(tokenize([query])[0])
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[n], float(scores[n])) for n in top if scores[n] > 0]
