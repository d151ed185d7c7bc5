"""BM25 over the stored chunks: an on-disk tantivy index that takes adds and deletes, kept in step with the
article records by difference (see `LexicalIndex.sync`).

Chunks are tokenised here (bm25s's tokenizer: English stopwords, Snowball stemmer) and tantivy indexes the
tokens as given, so the vocabulary is the one BM25 always had. Tantivy ranks by BM25 with its own fixed
parameters (k1 1.2, b 0.75); its top `SHORTLIST` x k are re-scored with the configured k1 and b (pure
functions below), which measured better on MultiHop-RAG (docs/scale.md). Each chunk's passage and metadata
are stored in the index, so a search reads nothing else and start-up reads no passage at all.

What the index holds is written in it: one marker per article (its id and the fingerprint of its record:
content hash and other outlets) and one state document (the store version it was synced to, and when),
all in the same commit as the chunks, so a process killed mid-sync leaves the last whole commit and the
next sync repairs the rest.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import struct
import threading
import time
from collections import Counter
from pathlib import Path

import bm25s
import Stemmer
import tantivy

from index.text import fold

# bm25s sets its own logger to DEBUG on import, which would print on every tokenisation.
logging.getLogger("bm25s").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

_STEMMER = Stemmer.Stemmer("english")
_CLAUSES = re.compile(r"[,;]")
SHORTLIST = 2  # tantivy's top SHORTLIST x k are re-scored with the configured BM25 parameters (4 ranked the same: docs/scale.md)
_WRITER_HEAP = 64_000_000
_ARTICLE_BATCH = 200  # articles whose chunks are read from the store in one request
CLOCK_SLACK = 600.0  # seconds: how far another machine's clock (a writer's changed_at) may lag this one's
_CHUNK, _ARTICLE, _STATE = "chunk", "article", "state"
FORMAT = 4  # bump when the schema changes: an index of another format is set aside and rebuilt
_FOOTER, _FOOTER_MAGIC = struct.Struct("<II"), 1337  # every tantivy file ends in (footer length, magic)


# A lower-case question's names, as the archive writes them (`LexicalIndex.written_as`).
WRITTEN_AS_PASSAGES = 20
WRITTEN_AS_SHARE = 0.8
# A word stands alone within a sentence after a lower-case word (not one that ends a sentence) and before
# anything but a capitalised word: "said Putin on", not "Vladimir Putin", "Putin Says", "University of Michigan", "Date of Birth" or "... week. Putin".
_AFTER_LOWER = re.compile(r"(?:^|\s)(?!(?:of|for|de|and)\s)[a-z0-9][\w'’-]*[,;]?\s+$")
_BEFORE_NAME = re.compile(r"\s+(?:(?:of|for|de|and|&)\s+(?:the\s+)?)?[A-Z]")


def tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize([fold(t) for t in texts], stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


def idf(doc_freq: int, docs: int) -> float:
    """BM25's (Lucene's) inverse document frequency, as bm25s computes it."""
    return math.log(1 + (docs - doc_freq + 0.5) / (doc_freq + 0.5))


def bm25(query: list[str], chunks: list[list[str]], idfs: dict[str, float], mean_length: float, k1: float, b: float) -> list[float]:
    """BM25 (bm25s's Lucene variant) of each tokenised chunk for the tokenised query; a repeated query term counts again."""
    weights = [(t, n * idfs.get(t, 0.0)) for t, n in Counter(query).items()]
    scores = []
    for tokens in chunks:
        tf = Counter(tokens)
        norm = k1 * (1 - b + b * len(tokens) / mean_length) if mean_length else k1
        scores.append(sum(w * tf[t] / (tf[t] + norm) for t, w in weights if t in tf))
    return scores


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _check_files(folder: Path) -> None:
    """Raise ValueError unless each file of each segment meta.json lists is whole (ends in tantivy's footer).
    Tantivy panics, printing a Rust backtrace, on a truncated file; this finds it first."""
    meta = folder / "meta.json"
    if not meta.exists():
        return  # a new index
    for segment in json.loads(meta.read_text("utf-8"))["segments"]:
        prefix = segment["segment_id"].replace("-", "")
        files = list(folder.glob(f"{prefix}.*"))
        if not files:
            raise ValueError(f"segment {prefix} is missing")
        for path in files:
            with path.open("rb") as f:
                size = f.seek(0, 2)
                if size < _FOOTER.size:
                    raise ValueError(f"{path.name} is truncated")
                f.seek(size - _FOOTER.size)
                length, magic = _FOOTER.unpack(f.read(_FOOTER.size))
            if magic != _FOOTER_MAGIC or length + _FOOTER.size > size:
                raise ValueError(f"{path.name} is truncated")


def _schema() -> tantivy.Schema:
    schema = tantivy.SchemaBuilder()
    schema.add_text_field("kind", tokenizer_name="raw", stored=True)
    schema.add_text_field("tokens", tokenizer_name="whitespace", stored=True, index_option="freq")
    schema.add_text_field("id", tokenizer_name="raw", stored=True, fast=True)
    schema.add_text_field("article_id", tokenizer_name="raw", stored=True)
    schema.add_text_field("source", tokenizer_name="raw", fast=True)
    schema.add_integer_field("published_ts", indexed=True, fast=True)
    schema.add_integer_field("length", fast=True)
    schema.add_bytes_field("passage", stored=True, indexed=False)  # kept, not searched
    schema.add_bytes_field("metadata", stored=True, indexed=False)
    schema.add_text_field("fingerprint", tokenizer_name="raw", stored=True)
    schema.add_text_field("version", tokenizer_name="raw", stored=True)
    schema.add_float_field("watermark", stored=True)
    return schema.build()


class LexicalIndex:
    """The BM25 side of retrieval, in a folder of its own. `sync(store)` brings it to the store's version;
    searches read the last committed state and never wait for a sync another thread is running."""

    def __init__(self, folder: Path, k1: float = 0.9, b: float = 0.3):
        self.folder, self.k1, self.b = Path(folder) / f"format-{FORMAT}", k1, b
        if Path(folder).is_dir():
            for other in Path(folder).iterdir():  # of another format
                if other != self.folder:
                    _remove(other)
        self.schema = _schema()
        self._lock = threading.Lock()  # one sync at a time in this process
        self._merging: threading.Thread | None = None
        self._open()

    # -- opening ---------------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _check_files(self.folder)
            self.index = tantivy.Index(self.schema, path=str(self.folder), reuse=True)
            self._read_state()
        except BaseException as exc:  # a truncated or foreign folder: a cache of the store, rebuilt from it
            if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":  # tantivy's Rust panics
                raise
            log.warning("rebuilding the lexical index %s from the store: it is unreadable (%s: %s)", self.folder, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            _remove(self.folder)
            self.folder.mkdir(parents=True)
            self.index = tantivy.Index(self.schema, path=str(self.folder), reuse=False)
            self._read_state()

    def _read_state(self) -> None:
        """Take the last committed state: searcher, synced version, chunk count, mean length and outlets."""
        self.index.reload()
        searcher = self.index.searcher()
        state = searcher.search(self._term("kind", _STATE), 1, count=False).hits
        state = searcher.doc(state[0][1]) if state else None
        self.version = state["version"][0] if state else ""
        # Records changed after this time (by the writer's clock) may be missing: the next sync looks at them.
        self.watermark = state["watermark"][0] if state else None
        chunks = self._term("kind", _CHUNK)
        stats = searcher.aggregate(chunks, {"length": {"stats": {"field": "length"}}, "outlets": {"terms": {"field": "source", "size": 65000}}})
        self.count = int(stats["length"]["count"])
        self.mean_length = (stats["length"]["sum"] or 0) / self.count if self.count else 0.0
        self.outlets = sorted(b["key"] for b in stats["outlets"]["buckets"] if b["key"])
        self.searcher = searcher

    def __len__(self) -> int:
        return self.count

    # -- syncing ---------------------------------------------------------------------------------------
    def sync(self, store, version: str | None = None) -> dict | None:
        """Bring the index to the store's `version`: add the chunks of new or changed articles, delete those of
        removed ones, all in one commit. Returns what it did (articles added/removed, chunks read), or None when
        another thread or process is syncing (searches then use the last committed state).

        The work is in proportion to the change: one listing of the records' ids, the fingerprints of the
        records changed since the last sync (`changed_at`, less CLOCK_SLACK for writers on other machines)
        and of ids the index lacks, and the chunks of what changed. A new index lists every record."""
        version = version or store.version()
        if version == self.version:
            return {"added": 0, "removed": 0, "chunks_read": 0}
        if not self._lock.acquire(blocking=False):
            return None
        try:
            self._read_state()  # another process may have synced already
            if version == self.version:
                return {"added": 0, "removed": 0, "chunks_read": 0}
            self.settle()  # the last sync's writer, still merging, holds the index's write lock
            try:
                writer = self.index.writer(_WRITER_HEAP, 1)
            except ValueError:  # another process holds the writer: it is syncing the same store
                return None
            started = time.time()
            held = self._held()
            if self.watermark is None:
                records = store.record_fingerprints()
                removed = [a for a in held if a not in records]
            else:
                ids = store.record_ids()
                records = store.record_fingerprints(since=self.watermark - CLOCK_SLACK)
                records.update(store.record_fingerprints(ids=[a for a in ids if a not in held and a not in records]))
                removed = [a for a in held if a not in ids]
            changed = [a for a, f in records.items() if held.get(a) != f]
            for article_id in changed + removed:
                writer.delete_documents_by_term("article_id", article_id)
            read = 0
            for start in range(0, len(changed), _ARTICLE_BATCH):
                rows = store.chunks_of(changed[start : start + _ARTICLE_BATCH])
                read += len(rows["ids"])
                self._add_chunks(writer, rows)
            for article_id in changed:
                writer.add_document(tantivy.Document(kind=_ARTICLE, article_id=article_id, fingerprint=records[article_id]))
            writer.delete_documents_by_term("kind", _STATE)
            writer.add_document(tantivy.Document(kind=_STATE, version=version, watermark=started))
            writer.commit()
            self._read_state()
            # Segment merges finish in the background; searches already see the commit.
            self._merging = threading.Thread(target=self._finish, args=(writer,), daemon=True)
            self._merging.start()
            return {"added": len(changed), "removed": len(removed), "chunks_read": read}
        finally:
            self._lock.release()

    def settle(self) -> None:
        """Wait for the segment merges of the last sync (they hold the index's write lock)."""
        if self._merging is not None:
            self._merging.join()
            self._merging = None

    def _finish(self, writer) -> None:
        try:
            writer.wait_merging_threads()
        except Exception as exc:  # a merge lost is redone by a later one
            log.debug("lexical index merge: %s", exc)

    def _held(self) -> dict[str, str]:
        """The article ids and content hashes the index holds (its markers)."""
        markers = self._term("kind", _ARTICLE)
        found = self.searcher.search(markers, max(1, self.searcher.num_docs), count=False).hits
        docs = (self.searcher.doc(address) for _, address in found)
        return {d["article_id"][0]: d["fingerprint"][0] for d in docs}

    def _add_chunks(self, writer, rows: dict) -> None:
        texts = [f"{m.get('header', '')}\n{d}" for d, m in zip(rows["documents"], rows["metadatas"])]
        for chunk_id, passage, meta, tokens in zip(rows["ids"], rows["documents"], rows["metadatas"], tokenize(texts)):
            writer.add_document(
                tantivy.Document(
                    kind=_CHUNK, id=chunk_id, tokens=" ".join(tokens), length=len(tokens), passage=passage.encode(),
                    article_id=meta.get("article_id", ""), source=meta.get("source", ""),
                    published_ts=int(meta.get("published_ts") or 0), metadata=json.dumps(meta, ensure_ascii=False).encode(),
                )
            )

    # -- searching -------------------------------------------------------------------------------------
    def _term(self, field: str, value: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, value, index_option="basic")

    def _filters(self, sources=None, since: int | None = None, until: int | None = None, article_ids=None) -> list[tantivy.Query]:
        filters = []
        if sources:
            filters.append(tantivy.Query.term_set_query(self.schema, "source", list(sources)))
        if since is not None or until is not None:
            filters.append(tantivy.Query.range_query(self.schema, "published_ts", tantivy.FieldType.Integer, since, until))
        if article_ids:
            filters.append(tantivy.Query.term_set_query(self.schema, "article_id", list(article_ids)))
        return filters

    def _filtered(self, query: tantivy.Query, **filters) -> tantivy.Query:
        clauses = self._filters(**filters)
        if not clauses:
            return query
        must = tantivy.Occur.Must
        return tantivy.Query.boolean_query([(must, query)] + [(must, tantivy.Query.const_score_query(f, 0.0)) for f in clauses])

    def _ids(self, query: tantivy.Query, limit: int) -> list[str]:
        # The id column (a fast field), 20x quicker than fetching stored documents.
        found = self.searcher.aggregate(query, {"ids": {"terms": {"field": "id", "size": limit}}})
        return [bucket["key"] for bucket in found["ids"]["buckets"]]

    def matching(self, **filters) -> int:
        """How many chunks the filters let through."""
        return self.searcher.search(self._filtered(self._term("kind", _CHUNK), **filters), 1, count=True).count

    def ids_matching(self, limit: int, **filters) -> list[str]:
        """The ids of the chunks the filters let through (at most `limit`)."""
        return self._ids(self._filtered(self._term("kind", _CHUNK), **filters), limit)

    def within(self, ids: list[str], **filters) -> list[str]:
        """Those of `ids` (in their order) whose chunks the filters let through."""
        if not ids:
            return []
        kept = set(self._ids(self._filtered(tantivy.Query.term_set_query(self.schema, "id", list(ids)), **filters), len(ids)))
        return [i for i in ids if i in kept]

    def absent_terms(self, text: str, article_ids: list[str], max_share: float) -> list[str]:
        """The specific terms of `text` (in at most `max_share` of the chunks, and in some) that no chunk of
        `article_ids` holds: words that point away from those articles as a new name would."""
        if not article_ids or not self.count:
            return []
        searcher = self.searcher
        specific = [t for t in dict.fromkeys(tokenize([text])[0]) if 0 < searcher.doc_freq("tokens", t) <= max_share * self.count]
        holds = lambda t: searcher.search(self._filtered(self._term("tokens", t), article_ids=article_ids), 1, count=True).count > 0
        return [t for t in specific if not holds(t)]

    def idfs(self, terms) -> dict[str, float]:
        """BM25 IDF of each term, from the document frequencies of the committed index."""
        return {t: idf(self.searcher.doc_freq("tokens", t), self.count) for t in set(terms)}

    def search(self, query: str, k: int, sources=None, since: int | None = None, until: int | None = None, article_ids=None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `k` chunks within the filters, only positive scores."""
        terms = tokenize([query])[0]
        if not terms or not self.count:
            return []
        should = tantivy.Occur.Should
        counts = Counter(terms)
        text = tantivy.Query.boolean_query(
            [(should, tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, "tokens", t, index_option="freq"), float(n))) for t, n in counts.items()]
        )
        searcher = self.searcher
        filters = dict(sources=sources, since=since, until=until, article_ids=article_ids)
        hits = searcher.search(self._filtered(text, **filters), SHORTLIST * k, count=False).hits
        docs = [searcher.doc(address) for _, address in hits]
        scores = bm25(terms, [d["tokens"][0].split() for d in docs], self.idfs(terms), self.mean_length, self.k1, self.b)
        ranked = sorted(zip((d["id"][0] for d in docs), scores), key=lambda pair: -pair[1])
        return [(i, s) for i, s in ranked[:k] if s > 0]

    def chunks(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        """Passage and metadata of each chunk id the index holds."""
        if not ids:
            return {}
        searcher = self.searcher
        hits = searcher.search(tantivy.Query.term_set_query(self.schema, "id", list(ids)), len(ids), count=False).hits
        docs = [searcher.doc(address) for _, address in hits]
        return {d["id"][0]: (bytes(d["passage"][0]).decode(), json.loads(bytes(d["metadata"][0]))) for d in docs}

    def written_as(self, word: str, passages: int = WRITTEN_AS_PASSAGES) -> str:
        """How the archive writes a word (or a phrase of words) typed in lower case: the form it uses when the word
        stands alone within a sentence, when at least `WRITTEN_AS_SHARE` of those uses are not lower case
        ("irobot" -> "iRobot", "putin" -> "Putin", "mary schiavo" -> "Mary Schiavo"), read from the first `passages`
        chunks that hold it in the index's order (a word written so twice at least, a phrase once; the share counts one vote per article and form); else
        the word as given ("energy", and "university", capitalised mostly within longer names such as "Carnegie
        Mellon University")."""
        words = word.split()
        terms = tokenize([word])[0]
        if len(terms) != len(words):
            return word  # a stopword, or a word BM25 splits
        searcher = self.searcher
        # Any chunks that hold it, not those BM25 ranks first: the shortest, list items, captions and titles ("Release:
        # the Date is TBA."), which capitalise common words.
        found = tantivy.Query.const_score_query(tantivy.Query.boolean_query([(tantivy.Occur.Must, self._term("tokens", t)) for t in terms]), 1.0)
        hits = searcher.search(found, passages, count=False).hits
        pattern = re.compile(r"(?<![\w'’-])" + r"\s+".join(re.escape(w) for w in words) + r"(?![\w-])", re.I)
        uses: Counter = Counter()  # form -> times written so
        articles: dict[str, set[str]] = {}  # form -> the articles that write it so: one long article is one vote
        for _, address in hits:
            doc = searcher.doc(address)
            text = fold(bytes(doc["passage"][0]).decode())
            for m in pattern.finditer(text):
                if _AFTER_LOWER.search(text, max(0, m.start() - 40), m.start()) and not _BEFORE_NAME.match(text, m.end()):
                    uses[m.group()] += 1
                    articles.setdefault(m.group(), set()).add(doc["article_id"][0])
        forms = Counter({form: len(ids) for form, ids in articles.items()})
        written = sum(n for form, n in forms.items() if form != form.lower())
        least = 1 if len(words) > 1 else 2  # one word capitalised once may be a title's; "Mary Schiavo" once is a name
        if sum(n for form, n in uses.items() if form != form.lower()) < least or written < WRITTEN_AS_SHARE * sum(forms.values()):
            return word
        return next(form for form, _ in forms.most_common() if form != form.lower())

    def knows(self, text: str) -> bool:
        """Whether every word of `text` (as BM25 reads it) occurs somewhere in the indexed chunks."""
        return all(self.searcher.doc_freq("tokens", t) > 0 for t in tokenize([text])[0])

    def sentence_scores(self, query: str, passages: list[list[str]]) -> list[float]:
        """For each passage (given as its sentences), how much of the query its best sentence says: the summed IDF
        of the query terms the sentence holds, plus that of the terms it shares with the one clause of the query
        (split at commas and semicolons) it matches best. Terms of one clause found together count twice, so a
        sentence that says what one part of a long question says outranks one holding scattered words of several.
        A query without commas is one clause, and the score is twice the summed IDF."""
        asked, *clauses = [set(t) for t in tokenize([query] + _CLAUSES.split(query))]
        idfs = self.idfs(asked)
        sentences = [s for p in passages for s in p]
        terms = [set(t) for t in tokenize(sentences)] if sentences else []
        # fsum: exactly rounded, so equal term sets tie exactly whatever order a set yields its terms in
        weight = lambda found: math.fsum(idfs.get(t, 0.0) for t in found)
        scores, n = [], 0
        for passage in passages:
            found = [weight(s & asked) + max(weight(s & c) for c in clauses) for s in terms[n : n + len(passage)]]
            scores.append(max(found, default=0.0))
            n += len(passage)
        return scores
