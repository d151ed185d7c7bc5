"""The article store: chunks in Chroma (embedded folder or server) plus a record of what is fully indexed.

An article is committed in two steps: its chunks first, then its record in the articles collection.
The record is the commit: chunks without a record (a run killed in between) are invisible to retrieval
and are replaced or swept on the next write, so the store never shows half an article.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import chromadb
import chromadb.errors
import httpx
import numpy as np
import platformdirs
from chromadb.config import Settings as ChromaSettings
from filelock import FileLock
from tqdm import tqdm

from index.errors import UserError
from index.articles import Article
from index.chunking import Chunk, chunk_article
from index.duplicates import CopyFinder, more_outlets
from index.embeddings import SentenceTransformerEmbeddings
from index.loaders import LoadError
from index.questions import suggest_questions

log = logging.getLogger(__name__)

GENERATION_ID = "__generation__"
VECTOR_BATCH = 1000
VERSION_SECONDS = 1.0


class StoreUnreachable(UserError):
    """The Chroma server (Settings.chroma_host) does not answer; the message says how to start it."""


def unreachable_message(settings) -> str:
    return (
        f"the Chroma server at {settings.chroma_host}:{settings.chroma_port} is not reachable; start it with "
        f"`chroma run --path <folder> --host {settings.chroma_host} --port {settings.chroma_port}` and ask again"
    )


@contextmanager
def server_errors(settings) -> Iterator[None]:
    """Turn a lost connection to the Chroma server into StoreUnreachable.

    The HTTP client opens a new connection per failed request, so once the server is back (same
    --path, same port) the next call simply works: nothing to rebuild on our side.
    """
    if not settings.chroma_host:
        yield
        return
    try:
        yield
    except httpx.TransportError as exc:
        log.warning("Chroma server %s:%s: %s", settings.chroma_host, settings.chroma_port, exc)
        raise StoreUnreachable(unreachable_message(settings)) from None


# Rows per read when a whole collection is read: one unpaged get() of ~100k chunks fails in embedded
# Chroma 1.5.9 with "too many SQL variables" (found by scripts/bench_scale.py).
READ_PAGE = 5000


def read_all(collection, include: list[str], where: dict | None = None) -> dict:
    """Every row of a collection (ids plus `include`), or those `where` picks, read a page at a time."""
    out: dict[str, list] = {key: [] for key in ["ids", *include]}
    offset = 0
    while True:
        got = collection.get(include=include, where=where, limit=READ_PAGE, offset=offset)
        for key in out:
            out[key].extend(got[key])
        if len(got["ids"]) < READ_PAGE:
            return out
        offset += READ_PAGE


def read_ids(collection, ids: list[str], include: list[str]) -> dict:
    """The rows of `ids` (those that exist), asked for READ_PAGE at a time: embedded Chroma's SQLite refuses a
    query with more than 32,766 variables ("too many SQL variables")."""
    out: dict[str, list] = {key: [] for key in ["ids", *include]}
    for start in range(0, len(ids), READ_PAGE):
        got = collection.get(ids=ids[start : start + READ_PAGE], include=include)
        for key in out:
            out[key].extend(got[key])
    return out


@dataclass
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    chunks: int = 0
    # Copies of an indexed story (wire copy, re-publication): (copy's url or id, id of the article it copies).
    merged: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        merged = f", {len(self.merged)} merged as copies of indexed stories" if self.merged else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged{merged}, "
            f"{len(self.failed)} failed ({self.chunks} chunks written)"
        )


def article_metadata(article: Article) -> dict:
    """What both an article's record and its chunks say of it: outlet, date (ISO and epoch seconds), ..."""
    return {
        "title": article.title,
        "source": article.source,
        "author": article.author,
        "published_at": article.date_iso,
        "published_ts": int(article.published_at.timestamp()) if article.published_at else 0,
        "url": article.url,
        "category": article.category,
    }


def chunk_metadata(article: Article, chunk: Chunk, also_published_by: list[str] | None = None) -> dict:
    """Scalar metadata Chroma can filter on: the article's, ids, the chunk's place; other outlets of the story."""
    meta = {
        "article_id": article.id,
        "chunk_index": chunk.index,
        **article_metadata(article),
        "section": chunk.section,
        "header": chunk.header,
        **chunk.metadata,  # e.g. "faq_question" on the chunk of an FAQ pair
    }
    if also_published_by:  # Chroma refuses empty lists
        meta["also_published_by"] = list(also_published_by)
    return meta


class ArticleStore:
    """Chunks and article records in Chroma; one writer at a time, readers never wait on it.

    `questions` writes the suggested questions saved in each article's record (the chat app offers
    them); the caller picks the writer, the store only keeps what it returns.
    """

    def __init__(
        self,
        settings,
        embeddings: SentenceTransformerEmbeddings,
        questions: Callable[[Article], list[str]] = suggest_questions,
    ):
        self.settings = settings
        self.embeddings = embeddings
        self.questions = questions
        if settings.chroma_host:
            try:
                self.client = chromadb.HttpClient(
                    host=settings.chroma_host, port=settings.chroma_port, settings=ChromaSettings(anonymized_telemetry=False)
                )
            except ValueError:  # chromadb's "Could not connect to a Chroma server"
                raise StoreUnreachable(unreachable_message(settings)) from None
            self._file_lock = None
        else:
            Path(settings.store).mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(
                path=str(Path(settings.store) / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
            )
            self._file_lock = FileLock(str(Path(settings.store) / "write.lock"))
        self._thread_lock = threading.Lock()
        self._version: tuple[float, str] | None = None  # (when read, version)
        with server_errors(settings):
            self._open_collections()

    def _open_collections(self) -> None:
        settings = self.settings
        self.chunks = self.client.get_or_create_collection(
            f"{settings.collection}_chunks", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        # One record per fully indexed article; embeddings are a placeholder (Chroma requires one).
        self.records = self.client.get_or_create_collection(f"{settings.collection}_articles", embedding_function=None)

    # -- writing -------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._thread_lock, server_errors(self.settings):
            if self._file_lock is None:
                yield
            else:
                with self._file_lock:
                    yield

    def add(
        self,
        items: Iterable[Article | LoadError],
        progress: bool = False,
        on_error: Callable[[LoadError], None] | None = None,
    ) -> IndexReport:
        """Index articles; unchanged ones are skipped, changed ones replace their old chunks."""
        report = IndexReport()
        with self.writing():
            records = self._record_metas()
            known = {i: m["content_hash"] for i, m in records.items()}
            copies = CopyFinder(records, self.settings.duplicate_threshold)
            merges: dict[str, list[Article]] = {}
            pending: list[tuple[Article, list[Chunk], bool]] = []
            pending_chunks = 0
            bar = tqdm(desc="indexing", unit="article", disable=not progress)
            for item in items:
                bar.update(1)
                if isinstance(item, LoadError):
                    report.failed.append(str(item))
                    if on_error:
                        on_error(item)
                    continue
                if known.get(item.id) == item.content_hash:
                    report.unchanged.append(item.id)
                    continue
                original = copies.original_of(item.id, item.body, known=item.id in known)
                if original:
                    merges.setdefault(original, []).append(item)
                    report.merged.append((item.url or item.id, original))
                    continue
                chunks = chunk_article(
                    item, self.embeddings.count_tokens, self.settings.chunk_tokens, self.settings.chunk_overlap_tokens
                )
                pending.append((item, chunks, item.id in known))
                known[item.id] = item.content_hash
                pending_chunks += len(chunks)
                if pending_chunks >= self.settings.index_batch_chunks:
                    self._commit(pending, report, copies)
                    pending, pending_chunks = [], 0
            if pending:
                self._commit(pending, report, copies)
            bar.close()
            for original_id, articles in merges.items():
                self._record_copies(original_id, articles)
            if merges:
                self.bump_generation()
        return report

    def _record_copies(self, original_id: str, articles: list[Article]) -> None:
        """Note more outlets of an indexed story in its record and on its chunks (not as sources of their own)."""
        meta = self.records.get(ids=[original_id], include=["metadatas"])["metadatas"][0]
        outlets = more_outlets(meta, [(a.source, a.url) for a in articles])
        if outlets is None:
            return
        names = list(outlets)
        self.records.update(
            ids=[original_id],
            metadatas=[{"also_published_by": names, "also_published_urls": list(outlets.values()), "changed_at": time.time()}],
        )
        chunk_ids = self.chunks.get(where={"article_id": original_id}, include=[])["ids"]
        if chunk_ids:
            self.chunks.update(ids=chunk_ids, metadatas=[{"also_published_by": names}] * len(chunk_ids))

    def _commit(
        self, pending: list[tuple[Article, list[Chunk], bool]], report: IndexReport, copies: CopyFinder
    ) -> None:
        all_chunks = [c for _, chunks, _ in pending for c in chunks]
        vectors = self.embeddings.encode([c.indexed_text for c in all_chunks]) if all_chunks else np.zeros((0, 0))
        for article, _, existed in pending:
            if existed:
                self.chunks.delete(where={"article_id": article.id})
        if all_chunks:
            by_id = {a.id: a for a, _, _ in pending}
            also = self._also_published_by([a.id for a, _, existed in pending if existed])
            self.chunks.upsert(
                ids=[c.id for c in all_chunks],
                embeddings=vectors,
                documents=[c.text for c in all_chunks],
                metadatas=[chunk_metadata(by_id[c.article_id], c, also.get(c.article_id)) for c in all_chunks],
            )
        self.records.upsert(
            ids=[a.id for a, _, _ in pending],
            embeddings=[[1.0]] * len(pending),
            documents=[a.title for a, _, _ in pending],
            metadatas=[{**self._record(a, chunks), "minhash": copies.stored_signature(a.id)} for a, chunks, _ in pending],
        )
        for article, chunks, existed in pending:
            (report.updated if existed else report.added).append(article.id)
            report.chunks += len(chunks)
        self.bump_generation()  # readers see each batch, and a run killed later loses none to them

    def _record(self, article: Article, chunks: list[Chunk]) -> dict:
        return {
            "content_hash": article.content_hash,
            **article_metadata(article),
            "origin": article.origin,
            "chunks": len(chunks),
            "indexed_at": int(time.time()),
            "changed_at": time.time(),  # what a sync of the lexical index looks for (record_fingerprints)
            # Computed once here so the chat app can offer them without re-reading the article.
            "questions": json.dumps(self.questions(article), ensure_ascii=False),
            # The article's own structure, for the chat app and the LLM prompt (read back with index/structure.py).
            "key_points": json.dumps(article.key_points, ensure_ascii=False),
            "faq": json.dumps([pair.model_dump() for pair in article.faq], ensure_ascii=False),
        }

    def remove(self, article_id: str) -> bool:
        with self.writing():
            if not self.records.get(ids=[article_id])["ids"]:
                return False
            self.records.delete(ids=[article_id])
            self.chunks.delete(where={"article_id": article_id})
            self.bump_generation()
            return True

    def sweep_orphans(self) -> int:
        """Delete chunks that no article record owns (left by a run killed mid-article)."""
        with self.writing():
            owned = set(self.record_hashes())
            metas = read_all(self.chunks, ["metadatas"])
            orphans = [i for i, m in zip(metas["ids"], metas["metadatas"]) if m.get("article_id") not in owned]
            if orphans:
                for start in range(0, len(orphans), READ_PAGE):
                    self.chunks.delete(ids=orphans[start : start + READ_PAGE])
                self.bump_generation()
            return len(orphans)

    def _also_published_by(self, article_ids: list[str]) -> dict[str, list[str]]:
        """Other outlets already recorded for these (re-indexed) articles, so their new chunks keep them."""
        if not article_ids:
            return {}
        got = self.records.get(ids=article_ids, include=["metadatas"])
        return {i: m.get("also_published_by") or [] for i, m in zip(got["ids"], got["metadatas"])}

    def bump_generation(self) -> None:
        """Tell readers, in this process and others, that the store changed: every write ends with it, and so
        must a writer that adds chunks to the collections itself (bench scale's copy)."""
        self._version = None
        self.records.upsert(
            ids=[GENERATION_ID], embeddings=[[1.0]], documents=[""],
            metadatas=[{"generation": self.generation() + 1, "updated": time.time()}],
        )
        self._version = None  # this process sees its own write at once

    # -- reading -------------------------------------------------------------
    def generation(self) -> int:
        """Changes whenever articles are written or removed, by any process."""
        return int(self.version().split(":")[0])

    def version(self) -> str:
        """'generation:time of the last write': names the store's content, even across a store deleted and rebuilt.
        Another process's write shows within VERSION_SECONDS (a question reads the version several times)."""
        now = time.monotonic()
        if self._version is None or now - self._version[0] > VERSION_SECONDS:
            with server_errors(self.settings):
                got = self.records.get(ids=[GENERATION_ID], include=["metadatas"])
            meta = got["metadatas"][0] if got["ids"] else {"generation": 0}
            self._version = now, f"{int(meta['generation'])}:{meta.get('updated', 0)}"
        return self._version[1]

    def lexical_path(self) -> Path:
        """Where the BM25 index of this store lives (index/lexical.py): beside an embedded store; for a Chroma
        server, in this machine's cache (each machine keeps its own, synced from the records)."""
        if self.settings.chroma_host:
            name = f"{self.settings.chroma_host}_{self.settings.chroma_port}_{self.settings.collection}"
            return Path(platformdirs.user_cache_dir("newsqa")) / "lexical" / name
        return Path(self.settings.store) / f"{self.settings.collection}-lexical"

    def chunks_of(self, article_ids: list[str]) -> dict:
        """The chunks of these articles: ids, documents and metadatas."""
        with server_errors(self.settings):
            return read_all(self.chunks, ["documents", "metadatas"], where={"article_id": {"$in": list(article_ids)}})

    def record_hashes(self) -> dict[str, str]:
        """Id and content hash of every committed article."""
        return {i: m["content_hash"] for i, m in self._record_metas().items()}

    def record_ids(self) -> set[str]:
        """The ids of the committed articles (no metadata read: a tenth of the time of a full listing)."""
        with server_errors(self.settings):
            return set(read_all(self.records, [])["ids"]) - {GENERATION_ID}

    def record_fingerprints(self, ids: list[str] | None = None, since: float | None = None) -> dict[str, str]:
        """What each committed article's chunks were written from (content hash and the other outlets noted on
        them): of every article, of `ids`, or of those changed since a time (`changed_at`)."""
        with server_errors(self.settings):
            if ids is not None:
                got = read_ids(self.records, list(ids), ["metadatas"])
            else:
                got = read_all(self.records, ["metadatas"], where={"changed_at": {"$gte": since}} if since is not None else None)
        return {i: fingerprint(m) for i, m in zip(got["ids"], got["metadatas"]) if i != GENERATION_ID}

    def _record_metas(self) -> dict[str, dict]:
        with server_errors(self.settings):
            got = read_all(self.records, ["metadatas"])
        return {i: m for i, m in zip(got["ids"], got["metadatas"]) if i != GENERATION_ID}

    def articles(self) -> list[dict]:
        """Article records, newest first: id, title, source, published_at, url, chunks, ..."""
        with server_errors(self.settings):
            got = read_all(self.records, ["metadatas"])
        rows = [{"id": i, **public(m)} for i, m in zip(got["ids"], got["metadatas"]) if i != GENERATION_ID]
        return sorted(rows, key=lambda r: (r.get("published_ts", 0), r["title"]), reverse=True)

    def article(self, article_id: str) -> dict | None:
        with server_errors(self.settings):
            got = self.records.get(ids=[article_id], include=["metadatas"])
        return {"id": article_id, **public(got["metadatas"][0])} if got["ids"] else None

    def stats(self) -> dict:
        with server_errors(self.settings):
            return {"articles": len(self.record_hashes()), "chunks": self.chunks.count()}

    def all_chunks(self) -> dict:
        """Every committed chunk: ids, documents and metadatas (for the lexical index)."""
        owned = set(self.record_hashes())
        with server_errors(self.settings):
            got = read_all(self.chunks, ["documents", "metadatas"])
        keep = [n for n, m in enumerate(got["metadatas"]) if m.get("article_id") in owned]
        return {key: [got[key][n] for n in keep] for key in ("ids", "documents", "metadatas")}

    def vectors(self, ids: list[str], texts: list[str]) -> tuple[np.ndarray, list[int]]:
        """The stored vectors of `ids` (in that order), and the positions of those that could not be read.

        A process killed while Chroma was writing can leave a chunk whose record is readable but whose
        vector is not ("Error finding id"). Such vectors are re-embedded from `texts` (the indexed text),
        so the store still answers; `repair_vectors` writes them back.
        """
        found: dict[str, list[float]] = {}
        with server_errors(self.settings):
            for start in range(0, len(ids), VECTOR_BATCH):
                batch = ids[start : start + VECTOR_BATCH]
                if not self._readable(batch, found):
                    for chunk_id in batch:  # find the unreadable ones
                        self._readable([chunk_id], found)
        lost = [n for n, chunk_id in enumerate(ids) if chunk_id not in found]
        if lost:
            log.warning("%d chunk vectors were unreadable (an interrupted write?): re-embedded", len(lost))
            for n, vector in zip(lost, self.embeddings.encode([texts[n] for n in lost])):
                found[ids[n]] = vector
        if not ids:
            return np.zeros((0, 0), dtype=np.float32), lost
        return np.asarray([found[i] for i in ids], dtype=np.float32), lost

    def _readable(self, ids: list[str], found: dict) -> bool:
        try:
            got = self.chunks.get(ids=ids, include=["embeddings"])
        except chromadb.errors.ChromaError:
            return False
        found.update(zip(got["ids"], got["embeddings"]))
        return True

    def repair_vectors(self) -> int:
        """Rewrite the vectors an interrupted write left unreadable; the number repaired."""
        with self.writing():
            rows = self.all_chunks()
            texts = indexed_texts(rows)
            vectors, lost = self.vectors(rows["ids"], texts)
            if lost:
                self.chunks.upsert(
                    ids=[rows["ids"][n] for n in lost],
                    embeddings=vectors[lost],
                    documents=[rows["documents"][n] for n in lost],
                    metadatas=[rows["metadatas"][n] for n in lost],
                )
            return len(lost)

    def dense_search(self, vector, k: int, where: dict | None = None, ids: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first; among `ids` when given, and those `where` lets through."""
        with server_errors(self.settings):
            try:
                # n_results beyond the matches is no error (chromadb 1.5), and count() cost as much as the query
                got = self.chunks.query(query_embeddings=[vector], n_results=k, where=where or None, ids=ids, include=["distances"])
            except chromadb.errors.InternalError as exc:
                # A vector an interrupted write left unreadable ("Error finding id"): BM25 still answers.
                log.warning("dense search failed (%s): answering from BM25 alone; `newsqa index add` repairs the store", exc)
                return []
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])]


def indexed_texts(rows: dict) -> list[str]:
    """What the encoder and BM25 read for stored chunks (as Chunk.indexed_text): header, then passage."""
    return [f"{m.get('header', '')}\n{d}" for d, m in zip(rows["documents"], rows["metadatas"])]


def fingerprint(record: dict) -> str:
    """A record's content hash and the other outlets its chunks name: either changes what the chunks say."""
    return "+".join([record["content_hash"], *(record.get("also_published_by") or [])])


def public(record: dict) -> dict:
    """A record without its internal near-duplicate signature and change time."""
    return {k: v for k, v in record.items() if k not in ("minhash", "changed_at")}
