"""BM25 over the same chunks as the dense index (bm25s), with metadata arrays for filtering."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import bm25s
import numpy as np
import orjson
import Stemmer

# bm25s sets its own logger to DEBUG on import, which would print on every index build.
logging.getLogger("bm25s").setLevel(logging.WARNING)

_STEMMER = Stemmer.Stemmer("english")
_CLAUSES = re.compile(r"[,;]")
_CHUNKS = "chunks.json"  # ids, passages, term IDFs and metadata values of the chunks
_METADATA_CODES = "metadata.npy"  # which metadata value each chunk has, per key
_BM25 = "bm25"  # bm25s's own saved format (numpy arrays and JSON)


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


class LexicalIndex:
    """BM25 scores for every chunk at once, so filters are a mask and fusion sees the same ids as Chroma.
    It also holds each chunk's passage and metadata, so a search needs no read from the store."""

    def __init__(
        self, ids: list[str], texts: list[str], metadatas: list[dict], documents: list[str] | None = None, k1: float = 1.5, b: float = 0.75
    ):
        self._keep(ids, metadatas, documents if documents is not None else texts)
        self._bm25 = None
        self.idf: dict[str, float] = {}
        if ids:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, show_progress=False)
            self._bm25 = bm25s.BM25(k1=k1, b=b)
            self._bm25.index(tokens, show_progress=False)
            self.idf = _idf(tokens)

    def _keep(self, ids: list[str], metadatas: list[dict], documents: list[str]) -> None:
        self.ids = ids
        self.metadatas = metadatas
        self.documents = documents
        self.position = {chunk_id: n for n, chunk_id in enumerate(ids)}
        # Filters compare small integers, not strings: outlet and article codes per chunk.
        self._source_codes, self.sources = _codes([m.get("source", "") for m in metadatas])
        self._article_codes, self.article_ids = _codes([m.get("article_id", "") for m in metadatas])
        self.timestamps = np.array([int(m.get("published_ts") or 0) for m in metadatas], dtype=np.int64)
        self.outlets = sorted(set(self.sources) - {""})

    # -- saved as plain data: JSON and numpy arrays (bm25s's own format for BM25), nothing that runs code when read
    def save(self, folder: Path) -> None:
        """Write the index into an empty folder; `load` reads it back without tokenizing anything."""
        keys, values, codes = _metadata_columns(self.metadatas)
        chunks = {"ids": self.ids, "documents": self.documents, "idf": self.idf, "metadata_keys": keys, "metadata_values": values}
        (folder / _CHUNKS).write_bytes(orjson.dumps(chunks))
        np.save(folder / _METADATA_CODES, codes, allow_pickle=False)
        if self._bm25 is not None:
            self._bm25.save(folder / _BM25, allow_pickle=False, show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        """The index `save` wrote. Raises (OSError, ValueError, KeyError...) on a missing or damaged file."""
        chunks = orjson.loads((folder / _CHUNKS).read_bytes())
        codes = np.load(folder / _METADATA_CODES, allow_pickle=False)
        metadatas = _metadata_rows(chunks["metadata_keys"], chunks["metadata_values"], codes)
        if not len(chunks["ids"]) == len(chunks["documents"]) == len(metadatas):
            raise ValueError(f"{len(chunks['ids'])} ids, {len(chunks['documents'])} passages, {len(metadatas)} metadata rows")
        index = cls.__new__(cls)  # the saved parts, not the tokenizing constructor
        index._keep(chunks["ids"], metadatas, chunks["documents"])
        index.idf = chunks["idf"]
        index._bm25 = None
        if index.ids:
            index._bm25 = bm25s.BM25.load(folder / _BM25, allow_pickle=False, mmap=False, show_progress=False)
            if index._bm25.scores["num_docs"] != len(index.ids):
                raise ValueError(f"the BM25 index holds {index._bm25.scores['num_docs']} chunks, not {len(index.ids)}")
        return index

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


def _metadata_columns(rows: list[dict]) -> tuple[list[str], list[list], np.ndarray]:
    """Chunk metadata as columns: each key's distinct values, and a code per chunk and key (-1: absent). The
    chunks of one article repeat its title, URL and header, so this is a fraction of the rows' size to read."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    codes = np.full((len(rows), len(keys)), -1, dtype=np.int32)
    values = []
    for j, key in enumerate(keys):
        # Keyed by their JSON: 1, 1.0 and True are equal in Python but each must come back as itself; lists hash.
        seen: dict[bytes, int] = {}
        distinct = []
        for n, row in enumerate(rows):
            if key in row:
                code = codes[n, j] = seen.setdefault(orjson.dumps(row[key]), len(seen))
                if code == len(distinct):
                    distinct.append(row[key])
        values.append(distinct)
    return keys, values, codes


def _metadata_rows(keys: list[str], values: list[list], codes: np.ndarray) -> list[dict]:
    if codes.shape[1:] != (len(keys),) or len(values) != len(keys):
        raise ValueError(f"metadata codes of shape {codes.shape} for {len(keys)} keys")
    # Chroma stores no None value, so None (the last entry, which code -1 picks) marks a key a chunk lacks.
    columns = []
    for j, column in enumerate(values):
        padded = column + [None]
        columns.append([padded[i] for i in codes[:, j].tolist()])
    return [{k: v for k, v in zip(keys, row) if v is not None} for row in zip(*columns)] if keys else [{} for _ in codes]


def _codes(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each value as a small integer, and the distinct values in code order."""
    distinct = list(dict.fromkeys(values))
    code = {v: n for n, v in enumerate(distinct)}
    return np.array([code[v] for v in values], dtype=np.int32), distinct
