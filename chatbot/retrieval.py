"""The hybrid retriever: dense (Chroma) + BM25, fused by reciprocal rank, aware of outlets and dates."""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from chatbot.plan import QueryPlan, understand
from chatbot.settings import Settings
from index.lexical import LexicalIndex
from index.store import ArticleStore
from index.text import rough_sentences

_WORD = re.compile(r"\b[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\b")


def _document(chunks: dict, chunk_id: str, **metadata) -> Document:
    """A passage of the lexical index's `chunks` (id -> passage, metadata) as a Document."""
    passage, stored = chunks[chunk_id]
    return Document(page_content=passage, metadata={**stored, "chunk_id": chunk_id, **metadata}, id=chunk_id)


def _ts(value: date | datetime | None, end: bool = False) -> int | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end else time.min, tzinfo=timezone.utc)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


def chroma_where(sources=None, since: int | None = None, until: int | None = None, article_ids=None) -> dict | None:
    clauses: list[dict] = []
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if since is not None:
        clauses.append({"published_ts": {"$gte": since}})
    if until is not None:
        clauses.append({"published_ts": {"$lte": until}})
    if article_ids:
        clauses.append({"article_id": {"$in": list(article_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def rrf(rankings: list[tuple[list[str], float]], rrf_k: int) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion of ranked id lists."""
    scores: dict[str, float] = defaultdict(float)
    for ids, weight in rankings:
        for rank, chunk_id in enumerate(ids):
            scores[chunk_id] += weight / (rrf_k + rank + 1)
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)


def interleave(lists: list[list[str]]) -> list[str]:
    """Round-robin over ranked lists, skipping ids already taken."""
    seen: dict[str, None] = {}
    for row in range(max((len(x) for x in lists), default=0)):
        for ids in lists:
            if row < len(ids) and ids[row] not in seen:
                seen[ids[row]] = None
    return list(seen)


_DEFAULTS = Settings.model_fields
# A filtered dense search filters an unfiltered one at most DENSE_DEPTH deep, or passes Chroma the ids of at
# most DENSE_IDS matching chunks (measured: docs/scale.md). At 1M chunks Chroma's `where` costs 0.7-2.5 s and
# 42k-49k ids 43-224 ms; the lexical index lists at most 65,000 ids at once (tantivy's bucket limit).
DENSE_IDS = 60000
DENSE_DEPTH = 8000


class HybridRetriever(BaseRetriever):
    """Passages for a question, best first. Filters: outlets, date range, article ids (a pinned source).

    When the question itself names known outlets or dates and no filter is given, one sub-search runs
    per outlet and per date and the ranked lists are interleaved with the unfiltered one.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    # The defaults are the product's settings (described there): one source of defaults.
    store: ArticleStore
    k: int = _DEFAULTS["k"].default
    candidates: int = _DEFAULTS["candidates"].default
    rrf_k: int = _DEFAULTS["rrf_k"].default
    dense_weight: float = _DEFAULTS["dense_weight"].default
    bm25_weight: float = _DEFAULTS["bm25_weight"].default
    bm25_weight_long: float = _DEFAULTS["bm25_weight_long"].default
    long_question_words: int = _DEFAULTS["long_question_words"].default
    bm25_k1: float = _DEFAULTS["bm25_k1"].default
    bm25_b: float = _DEFAULTS["bm25_b"].default
    sentence_weight: float = _DEFAULTS["sentence_weight"].default
    use_question_metadata: bool = _DEFAULTS["question_metadata"].default
    decompose: bool = _DEFAULTS["decompose_questions"].default
    sources: list[str] | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    article_ids: list[str] | None = None

    _lexical: LexicalIndex | None = PrivateAttr(None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def lexical(self) -> LexicalIndex:
        """The BM25 index, synced to the store's current version: by difference, and only the first search after
        a write waits for it (the others, meanwhile, search the last committed state)."""
        with self._lock:
            if self._lexical is None:
                self._lexical = LexicalIndex(self.store.lexical_path(), k1=self.bm25_k1, b=self.bm25_b)
        version = self.store.version()
        if version != self._lexical.version:
            self._lexical.sync(self.store, version)
        return self._lexical

    def known_sources(self) -> list[str]:
        return self.lexical().outlets

    def foreign(self, text: str, article_ids: list[str], max_share: float) -> bool:
        """Whether `text` holds a specific term (in at most `max_share` of the chunks) that none of `article_ids`
        holds: it points away from a conversation about those articles."""
        return bool(self.lexical().absent_terms(text, article_ids, max_share))

    def truecase(self, question: str) -> str:
        """A question typed without capitals ("who is the ceo of irobot?") with its words written as the archive
        writes them ("who is the CEO of iRobot?"), so its names are read as names; any other question as it is."""
        if question[1:] != question[1:].lower():
            return question
        lexical = self.lexical()
        words = list(_WORD.finditer(question))
        pieces, end, n = [], 0, 0
        while n < len(words):
            first = words[n]
            pair = words[n + 1] if n + 1 < len(words) and question[first.end() : words[n + 1].start()] == " " else None
            # A name of two words is read whole ("mary schiavo": "Mary" alone is written so only before a surname).
            written = lexical.written_as(question[first.start() : pair.end()]) if pair else ""
            if written and written != written.lower():
                pieces += [question[end : first.start()], written]
                end, n = pair.end(), n + 2
            else:
                pieces += [question[end : first.start()], lexical.written_as(first.group())]
                end, n = first.end(), n + 1
        return "".join(pieces) + question[end:]

    def lexical_search(self, query: str, k: int, sources=None, since=None, until=None, article_ids=None) -> list[Document]:
        """The `k` best passages for `query` by BM25 alone, within the filters (a name's own passages)."""
        lexical = self.lexical()
        filters = dict(sources=sources or None, since=_ts(since), until=_ts(until, end=True), article_ids=article_ids or None)
        ids = [i for i, _ in lexical.search(query, k, **filters)]
        chunks = lexical.chunks(ids)
        return [_document(chunks, i) for i in ids if i in chunks]

    def common_word(self, word: str) -> bool:
        """Whether the archive holds the word and writes it in lower case within its sentences ("different"), so a
        question capitalising it is only opening a sentence ("Different subject: who won ...?")."""
        low = word.lower()
        return len(word.split()) == 1 and self.lexical().knows(low) and self.lexical().written_as(low) == low

    def unknown(self, names: list[str]) -> list[str]:
        """The names no indexed chunk mentions at all (a word of theirs is nowhere in the archive)."""
        lexical = self.lexical()
        return [n for n in names if not lexical.knows(n)]

    def _nearest(self, vector, depth: int, memo: dict) -> list[str]:
        """The `depth` nearest chunks of the vector (unfiltered), from the deepest list this search already read
        for the same vector when it is deep enough: the sub-searches of a question share their vectors."""
        key = tuple(vector)
        have = memo.get(key)
        if have is None or (len(have[0]) < depth and not have[1]):
            found = [i for i, _ in self.store.dense_search(vector, depth)]
            have = memo[key] = found, len(found) < depth  # (ids, whether that is every chunk)
        return have[0][:depth]

    def _dense(self, lexical: LexicalIndex, vector, filters: dict, memo: dict | None = None) -> list[str]:
        """The `candidates` nearest chunks within the filters. Chroma evaluates a `where` filter over its whole
        metadata table (at 12.8k chunks 9-140 ms against 1 ms unfiltered; 360-610 ms at 300k), so filters are
        applied here instead: a broad one on an unfiltered search deep enough to hold `candidates` of its chunks,
        a narrow one as the ids of the chunks it lets through (the lexical index lists them). Chroma's `where`
        is the last resort."""
        memo = {} if memo is None else memo
        if not any(v is not None and v != [] for v in filters.values()):
            return self._nearest(vector, self.candidates, memo)
        matching = lexical.matching(**filters)
        if matching == 0:
            return []
        # Deep enough to hold `candidates` matching chunks if they were spread evenly, deeper when they are not.
        # Chroma's cost grows alike with the depth of a search and with the ids it is given: the smaller wins.
        depth = math.ceil(self.candidates * len(lexical) / matching * 1.5)
        while depth <= DENSE_DEPTH and (depth <= matching or matching > DENSE_IDS):
            nearest = self._nearest(vector, depth, memo)
            kept = lexical.within(nearest, **filters)
            if len(kept) >= self.candidates or len(nearest) < depth:
                return kept[: self.candidates]
            depth = min(depth * 4, DENSE_DEPTH) if depth < DENSE_DEPTH else DENSE_DEPTH + 1
        if matching <= DENSE_IDS:
            return [i for i, _ in self.store.dense_search(vector, self.candidates, ids=lexical.ids_matching(matching, **filters))]
        return [i for i, _ in self.store.dense_search(vector, self.candidates, chroma_where(**filters))]

    def _fused(self, lexical: LexicalIndex, query: str, vector, filters: dict, bm25_weight: float, memo: dict) -> list[str]:
        dense = self._dense(lexical, vector, filters, memo)
        sparse = [i for i, _ in lexical.search(query, self.candidates, **filters)]
        fused = rrf([(dense, self.dense_weight), (sparse, bm25_weight)], self.rrf_k)
        return [i for i, _ in fused]

    def _by_best_sentence(self, lexical: LexicalIndex, query: str, ids: list[str], chunks: dict) -> list[str]:
        """The same passages, their order fused with the order of their best sentences (lexical.sentence_scores):
        of an article's passages the one that answers is the one with a sentence holding the question's terms
        together, where whole-passage scores tie on the shared article header."""
        ids = [i for i in ids if i in chunks]
        scores = lexical.sentence_scores(query, [rough_sentences(chunks[i][0]) for i in ids])
        by_sentence = [ids[n] for n in np.argsort(-np.asarray(scores), kind="stable")]
        return [i for i, _ in rrf([(ids, 1.0), (by_sentence, self.sentence_weight)], self.rrf_k)]

    @staticmethod
    def _window(days: list[date], base: dict) -> dict:
        """A date filter a day either side of the days a question names (none when a filter is set)."""
        if not days or base["since"] is not None or base["until"] is not None:
            return {}
        return {"since": _ts(min(days) - timedelta(days=1)), "until": _ts(max(days) + timedelta(days=1), end=True)}

    def search(
        self,
        query: str,
        k: int | None = None,
        sources: list[str] | None = None,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        article_ids: list[str] | None = None,
        plan: QueryPlan | None = None,
    ) -> list[Document]:
        """Passages for `query`. `plan` is the chain's understanding of the question (outlets, dates and parts
        to search within, and whether it is long: BM25 then weighs more); without one, the query is read here."""
        k = k or self.k
        base = {
            "sources": sources if sources is not None else self.sources,
            "since": _ts(since if since is not None else self.since),
            "until": _ts(until if until is not None else self.until, end=True),
            "article_ids": article_ids if article_ids is not None else self.article_ids,
        }
        lexical = self.lexical()  # one version check per search
        if len(lexical) == 0:
            return []
        plan = plan or understand(query, lexical.outlets, long_question_words=self.long_question_words)
        weight = self.bm25_weight_long if plan.long else self.bm25_weight
        lists, memo = [], {}
        if self.use_question_metadata and not base["sources"] and not base["article_ids"]:
            parts = plan.parts if self.decompose else []
            vectors = self.store.embeddings.encode([query] + [p.text for p in parts])
            vector = vectors[0].tolist()
            for part, part_vector in zip(parts, vectors[1:]):
                lists.append(self._fused(lexical, part.text, part_vector.tolist(), {**base, "sources": part.outlets, **self._window(part.dates, base)}, weight, memo))
            lists += [self._fused(lexical, query, vector, {**base, "sources": [o]}, weight, memo) for o in plan.outlets]
            if base["since"] is None and base["until"] is None:
                for day in plan.dates:
                    lists.append(self._fused(lexical, query, vector, {**base, **self._window([day], base)}, weight, memo))
        else:
            vector = self.store.embeddings.embed_query(query)
        lists.append(self._fused(lexical, query, vector, base, weight, memo))
        # Dense hits the lexical index does not hold (chunks of an article not yet committed) are skipped.
        ranked = interleave(lists)
        chunks = lexical.chunks(ranked[: 2 * k])
        ids = [i for i in ranked[: 2 * k] if i in chunks][:k]
        if self.sentence_weight:
            ids = self._by_best_sentence(lexical, query, ids, chunks)
        return [_document(chunks, i, rank=r + 1) for r, i in enumerate(ids) if i in chunks]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return self.search(query, **kwargs)
