"""`newsqa bench scale` (issue 17): how the product behaves as the archive grows, one size after another.

A copy of a source store is the template. For each step the target store is grown to exactly that many
chunks by COPYING the template's stored chunks, vectors and article records under new article ids
(embedding 100k chunks would take hours on a laptop CPU; these figures are about the store's size, not
about the encoder). Then a fresh serving process measures, at that size:

- start-up: seconds from the process's start to its first answered question;
- serving RSS, and retrieval p50/p95 over the dev questions (`NewsQA.retrieve`, the chat's own path);
- a live-ingest probe: while the process keeps asking questions, 50 articles are written, and the probe
  times how long after the end of the write each of them is found by a search filtered to its id, and the
  p95 of the questions asked meanwhile.

Who writes during the probe follows the product's rule of one writer (index/serving.py): an embedded
store is written only by the process that serves it (as its Library tab and feed sync do), so the
writer is a thread of the serving process; a Chroma server store takes writes from any process, so
the writer is another process. (A second process writing an embedded store is not seen by the serving
process's HNSW index: its queries fail with "Error finding id".)

Each step runs in its own processes (`newsqa bench scale-worker grow|serve|write`, hidden), so no process
carries a warm cache or an open embedded client from one size to the next. The source store is copied
first and never opened; a server store grows in collections of its own, dropped at the end.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from chatbot.bench import load_questions
from chatbot.chain import NewsQA, build_chain, build_retriever, build_store
from chatbot.settings import Settings
from chatbot.stats import memory_mb, percentile
from index.errors import UserError
from index.store import GENERATION_ID, ArticleStore, read_all

log = logging.getLogger(__name__)

STEP_FIELDS = (
    "chunks", "startup_s", "rss_mb", "retrieval_p50_ms", "retrieval_p95_ms", "ingest_searchable_s", "ingest_question_p95_ms",
)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


# -- copying stored articles --------------------------------------------------
@dataclass
class StoredArticle:
    """One fully indexed article as stored: its record and its chunks (in order), vectors included."""

    id: str
    record: dict
    documents: list[str]
    metadatas: list[dict]
    vectors: np.ndarray


def read_articles(store: ArticleStore, limit: int | None = None) -> list[StoredArticle]:
    """The store's fully indexed articles (the first `limit` of them), with their chunks and vectors."""
    got = read_all(store.records, ["metadatas"])
    records = {i: m for i, m in zip(got["ids"], got["metadatas"]) if i != GENERATION_ID}
    if limit is not None:
        records = dict(list(records.items())[:limit])
        rows = store.chunks.get(where={"article_id": {"$in": list(records)}}, include=["embeddings", "documents", "metadatas"])
    else:
        rows = read_all(store.chunks, ["embeddings", "documents", "metadatas"])
    chunks: dict[str, list] = {}
    for vector, doc, meta in zip(rows["embeddings"], rows["documents"], rows["metadatas"]):
        if meta.get("article_id") in records:
            chunks.setdefault(meta["article_id"], []).append((meta["chunk_index"], doc, meta, vector))
    articles = []
    for article_id, rows_ in chunks.items():
        rows_.sort(key=lambda row: row[0])
        articles.append(StoredArticle(
            article_id, records[article_id], [r[1] for r in rows_], [r[2] for r in rows_],
            np.asarray([r[3] for r in rows_], dtype=np.float32),
        ))
    return articles


def copy_articles(
    store: ArticleStore, template: list[StoredArticle], tag: str, chunks: int | None = None, articles: int | None = None,
    batch: int | None = None,
) -> list[str]:
    """Write copies of the template's articles under new ids (`<id>-<tag><round>`) until `chunks` chunks or
    `articles` articles are written (the last copy cut short to land on `chunks` exactly); their ids.

    Committed as `index add` commits: chunks first, then the records that make them visible, in batches of
    `batch` chunks (default: as large as Chroma takes, to grow a store fast), then the store's generation
    moves so every reader sees the write."""
    if not template:
        raise UserError("the source store holds no fully indexed article to copy")
    batch = batch or store.client.get_max_batch_size()
    written: list[str] = []
    ids, vectors, docs, metas, records = [], [], [], [], []
    copied = 0

    def flush() -> None:
        if ids:
            store.chunks.add(ids=list(ids), embeddings=np.asarray(vectors), documents=list(docs), metadatas=list(metas))
        if records:
            store.records.add(
                ids=[i for i, _ in records], embeddings=[[1.0]] * len(records),
                documents=[r.get("title", "") for _, r in records], metadatas=[r for _, r in records],
            )
        for rows in (ids, vectors, docs, metas, records):
            rows.clear()

    def wanted() -> bool:
        return (chunks is None or copied < chunks) and (articles is None or len(written) < articles)

    round_ = 0
    with store.writing():
        while wanted():
            round_ += 1
            for source in template:
                if not wanted():
                    break
                take = len(source.documents) if chunks is None else min(len(source.documents), chunks - copied)
                if len(ids) + take > batch:
                    flush()
                article_id = f"{source.id}-{tag}{round_}"
                for n in range(take):
                    ids.append(f"{article_id}:{source.metadatas[n]['chunk_index']}")
                    vectors.append(source.vectors[n])
                    docs.append(source.documents[n])
                    metas.append({**source.metadatas[n], "article_id": article_id})
                records.append((article_id, {**source.record, "chunks": take}))
                written.append(article_id)
                copied += take
        flush()
        store.bump_generation()  # readers see a new version, as after every write of the store
    return written


# -- measuring, in the serving process -----------------------------------------
def rss_mb() -> float:
    """This process's resident memory (MB), as the kernel counts it."""
    rss = memory_mb("VmRSS")
    return float("nan") if rss is None else rss


def timed_ms(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return 1000 * (time.perf_counter() - began)


def describe_backend(settings: Settings, chain: NewsQA) -> dict:
    """Where the chunks live and which retrieval implementation searched them (a retriever may describe
    itself with `describe()`; else its class, its lexical index's class and how it searches vectors)."""
    retriever = chain.retriever
    backend = {
        "chroma": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
        "retriever": f"{type(retriever).__module__}.{type(retriever).__qualname__}",
    }
    describe = getattr(retriever, "describe", None)
    if callable(describe):
        return {**backend, **describe()}
    lexical = getattr(retriever, "lexical", None)
    if callable(lexical):
        kind = type(lexical())
        backend["lexical"] = f"{kind.__module__}.{kind.__qualname__}"
    backend["dense"] = "in-memory matrix" if getattr(retriever, "exact_dense", False) else "Chroma HNSW"
    return backend


class Asker(threading.Thread):
    """Asks questions one after another until stopped, noting when each started and how long it took."""

    def __init__(self, chain: NewsQA, questions: list[str]):
        super().__init__(name="newsqa-scale-asker", daemon=True)
        self.chain, self.questions = chain, questions
        self.stop = threading.Event()
        self.asked: list[tuple[float, float]] = []  # (time.time() at the start, milliseconds)
        self.error: Exception | None = None

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            question = self.questions[n % len(self.questions)]
            n += 1
            began = time.time()
            try:
                took = timed_ms(lambda: self.chain.retrieve(question))
            except Exception as exc:  # noqa: BLE001 (re-raised by the probe, which then fails in one line or a traceback)
                self.error = exc
                return
            self.asked.append((began, took))


def searchable_within(chain: NewsQA, written: dict[str, str], timeout: float, say: Callable[[str], None]) -> float | None:
    """Search for each written article (its title, filtered to its id) until all are found: the time.time()
    when the last one was, or None after `timeout` seconds. The retriever's own search: the chain would read
    a title such as "The latest on ..." as a question about this week, and filter the article out by date."""
    waiting = dict(written)
    deadline = time.time() + timeout
    found_at = None
    while waiting and time.time() < deadline:
        # Each round first brings the retriever up to the store's version, as the next question would; an article
        # its searches then find was searchable from that moment (checking 50 one by one takes a while itself).
        chain.retriever.lexical()  # the dense side (Chroma) needs no sync: it holds what was written
        synced = time.time()
        for article_id, title in list(waiting.items()):
            docs = chain.retriever.search(title, k=1, article_ids=[article_id])
            if any(d.metadata.get("article_id") == article_id for d in docs):
                del waiting[article_id]
                found_at = synced
        if waiting:
            say(f"{len(written) - len(waiting)} of {len(written)} written articles searchable so far")
            time.sleep(0.2)
    if waiting:
        say(f"not searchable after {timeout:g} s: {', '.join(list(waiting)[:5])}{' ...' if len(waiting) > 5 else ''}")
    return None if waiting else found_at


def live_ingest(
    chain: NewsQA, settings: Settings, job: dict, questions: list[str], say: Callable[[str], None]
) -> tuple[float | None, float]:
    """Write `job["ingest_articles"]` copies while questions are asked; (seconds from the end of the write until
    all are searchable, or None; p95 ms of the questions asked from the start of the write until then)."""
    template = read_articles(open_source(settings, job, chain.store.embeddings), limit=job["ingest_articles"])
    asker = Asker(chain, questions)
    asker.start()
    write_began = time.time()
    tag = f"live{job['chunks']}-"
    if settings.chroma_host:  # any process may write a server store: another one does
        written, write_ended = run_worker("write", {**job, "tag": tag}, settings)
    else:  # the serving process is an embedded store's only writer (its Library tab, its feed sync)
        # Written in the batches `index add` and the feed sync write (a reader waits for the batch being written)
        written = copy_articles(chain.store, template, tag, articles=job["ingest_articles"], batch=chain.settings.index_batch_chunks)
        write_ended = time.time()
    by_source = {a.id: a.record.get("title", "") for a in template}
    titles = {i: by_source[i.rsplit(f"-{tag}", 1)[0]] for i in written}
    say(f"{len(written)} articles written in {write_ended - write_began:.1f} s; searching for them")
    found_at = searchable_within(chain, titles, job["ingest_timeout"], say)
    asker.stop.set()
    asker.join()
    if asker.error is not None:
        raise asker.error
    until = found_at if found_at is not None else time.time()
    meanwhile = [ms for began, ms in asker.asked if write_began <= began <= until]
    say(f"{len(meanwhile)} questions asked from the start of the write until then, the slowest {max(meanwhile, default=0):.0f} ms")
    for article_id in written:  # back to the step's size, through the product's own removal
        chain.store.remove(article_id)
    return (None if found_at is None else found_at - write_ended), percentile(meanwhile, 0.95)


def serve_probe(settings: Settings, job: dict, say: Callable[[str], None]) -> dict:
    """One step's figures, measured in this fresh process (started at job["started"], time.time())."""
    chain = build_chain(settings)
    chain.warm_up()  # as `newsqa serve` does on start
    questions = load_questions(Path(job["queries"]), job["query_count"])
    chain.ask(questions[0])
    startup = time.time() - job["started"]
    say(f"{job['chunks']} chunks: first answer {startup:.1f} s after the start; timing {len(questions)} questions")
    latencies = [timed_ms(lambda q=q: chain.retrieve(q)) for q in questions]
    rss = rss_mb()
    searchable, meanwhile_p95 = live_ingest(chain, settings, job, questions, say)
    row = {
        "chunks": job["chunks"], "startup_s": startup, "rss_mb": rss,
        "retrieval_p50_ms": percentile(latencies, 0.5), "retrieval_p95_ms": percentile(latencies, 0.95),
        "ingest_searchable_s": searchable, "ingest_question_p95_ms": meanwhile_p95,
    }
    return {"step": row, "backend": describe_backend(settings, chain)}


# -- the worker processes ---------------------------------------------------------
def worker(role: str, settings: Settings, job: dict, say: Callable[[str], None]) -> dict:
    """What one worker process does (`newsqa bench scale-worker ROLE JOB`); its result is printed as JSON,
    its progress said on stderr."""
    settings = settings.model_copy(update=job["target"])
    if role == "serve":
        return serve_probe(settings, job, say)
    target = build_store(settings)
    source = open_source(settings, job, target.embeddings)
    if role == "grow":
        have = target.chunks.count()
        if job["chunks"] > have:
            copy_articles(target, read_articles(source), f"s{job['chunks']}r", chunks=job["chunks"] - have)
        # As `index add` does, the writer brings the lexical index up to date, so the serving process
        # measured next starts from a synced store (start-up is not the time to index what was copied).
        began = time.perf_counter()
        build_retriever(settings, target).lexical()
        say(f"lexical index synced with the grown store in {time.perf_counter() - began:.1f} s")
        return {"chunks": target.chunks.count()}
    if role == "write":
        written = copy_articles(
            target, read_articles(source, job["ingest_articles"]), job["tag"], articles=job["ingest_articles"], batch=settings.index_batch_chunks
        )
        return {"written": written, "ended": time.time()}
    raise ValueError(f"unknown scale worker role {role!r}")


def open_source(settings: Settings, job: dict, embeddings) -> ArticleStore:
    """The copy of the source store: always an embedded folder, under the collection names it was made with."""
    update = {"store": Path(job["source"]), "chroma_host": None, "collection": job["source_collection"]}
    return ArticleStore(settings.model_copy(update=update), embeddings)


def run_worker(role: str, job: dict, settings: Settings) -> object:
    """Run one worker in a fresh process; what it returned (a "write" returns (ids, time of the end))."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    job = {**job, "started": time.time()}
    done = subprocess.run(  # its progress and its one-line error go straight to our stderr
        [sys.executable, "-m", "chatbot", "bench", "scale-worker", role, json.dumps(job)], stdout=subprocess.PIPE, text=True, env=env,
    )
    if done.returncode:
        raise UserError(f"the {role} process at {job['chunks']} chunks failed (exit status {done.returncode}; its error is above)")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return (result["written"], result["ended"]) if role == "write" else result


# -- the command ---------------------------------------------------------------------
def parse_steps(text: str) -> list[int]:
    try:
        steps = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    except ValueError:
        raise UserError(f"--steps {text!r} is not a list of chunk counts; write e.g. 100000,300000,1000000") from None
    if not steps or steps[0] < 1:
        raise UserError(f"--steps {text!r} needs at least one chunk count above 0")
    return steps


def run_scale(
    settings: Settings,
    source_store: Path,
    steps: list[int],
    queries: Path,
    query_count: int,
    workdir: Path,
    ingest_articles: int = 50,
    ingest_timeout: float = 600,
    say: Callable[[str], None] = log.info,
) -> dict:
    """Grow a copy of `source_store` to each of `steps` chunks and measure it in fresh processes:
    {"steps": [one row of STEP_FIELDS per step], "backend": {...}}."""
    if not Path(queries).is_file():
        raise UserError(f"--queries {queries} is not a file; pass the MultiHop-RAG dev_queries.json or a JSON list of questions")
    source = Path(workdir) / "source"
    if source.exists():
        raise UserError(f"--workdir {workdir} holds an earlier run (its source/ folder); pass a new or empty folder")
    shutil.copytree(source_store, source, ignore=shutil.ignore_patterns("*.lock", "*-snapshot", "*.pkl"))
    target = (
        {"collection": f"{settings.collection}_scale{os.getpid()}"} if settings.chroma_host
        else {"store": str(Path(workdir) / "store")}
    )
    job = {
        "source": str(source), "source_collection": settings.collection, "target": target,
        "queries": str(queries), "query_count": query_count,
        "ingest_articles": ingest_articles, "ingest_timeout": ingest_timeout,
    }
    result: dict = {"steps": [], "backend": None}
    try:
        for step in steps:
            say(f"growing the store to {step} chunks")
            grown = run_worker("grow", {**job, "chunks": step}, settings)["chunks"]
            if grown != step:
                raise UserError(f"the store holds {grown} chunks where the step asks for {step}")
            say(f"measuring {step} chunks in a fresh process")
            probed = run_worker("serve", {**job, "chunks": step}, settings)
            result["steps"].append(probed["step"])
            result["backend"] = probed["backend"]
    finally:
        if settings.chroma_host:
            drop_collections(settings.model_copy(update=target))
    return result


def drop_collections(settings: Settings) -> None:
    """Remove the benchmark's own collections from the Chroma server."""
    store = build_store(settings)
    for collection in (store.chunks, store.records):
        store.client.delete_collection(collection.name)


def table(result: dict) -> str:
    lines = [
        f"backend: {json.dumps(result['backend'])}",
        "| chunks | start-up to first answer (s) | serving RSS (MB) | retrieval p50 (ms) | retrieval p95 (ms) "
        "| 50 new articles searchable after (s) | question p95 meanwhile (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["steps"]:
        searchable = "not within the timeout" if s["ingest_searchable_s"] is None else f"{s['ingest_searchable_s']:.1f}"
        lines.append(
            f"| {s['chunks']} | {s['startup_s']:.1f} | {s['rss_mb']:.0f} | {s['retrieval_p50_ms']:.0f} "
            f"| {s['retrieval_p95_ms']:.0f} | {searchable} | {s['ingest_question_p95_ms']:.0f} |"
        )
    return "\n".join(lines)
