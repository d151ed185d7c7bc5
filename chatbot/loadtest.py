"""Many chat sessions at once against a served app while a feed sync adds articles to its store (issues 7, 17).

`run_load(url, ...)` drives N sessions x M turns through gradio_client (each Client is one browser
session) and checks every answer and every session's history; `bench_load(...)` serves the app on
127.0.0.1 over a store as `newsqa serve` does, with its background feed sync following a feed of the
given articles (served on 127.0.0.1 by chatbot/localfeed.py: feed, robots.txt and pages fetched over
HTTP), and runs the load from another process while that sync indexes them: the clients, like browsers,
do not share the server's interpreter (in one process their HTTP and JSON work held the server's GIL).
The CLI's `newsqa bench load` and the test run the same function.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import threading
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from gradio_client import Client

from chatbot.app import create_app, launch
from chatbot.chain import NewsQA, build_chain
from chatbot.library import Library
from chatbot.localfeed import FeedSite
from chatbot.settings import Settings
from chatbot.stats import percentile
from index.feeds import BackgroundSync, SyncReport
from index.questions import pick_questions
from index.loaders import load_path

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    sessions: int
    turns: int
    latencies: list[float] = field(default_factory=list)  # seconds per answered turn
    errors: list[str] = field(default_factory=list)  # one line per failed turn or session
    mixed: list[str] = field(default_factory=list)  # sessions whose history is not exactly their own questions
    seconds: float = 0.0
    synced: SyncReport | None = None  # the feed sync that ran meanwhile
    sync_seconds: float = 0.0
    warm_up_seconds: float = 0.0  # the served app's warm-up, finished before the sessions start

    def summary(self) -> str:
        lines = [
            f"warm-up before the sessions (what `newsqa serve` loads at start): {self.warm_up_seconds:.1f} s",
            f"{self.sessions} sessions x {self.turns} turns: {len(self.latencies)} answers, {len(self.errors)} errors, "
            f"{len(self.mixed)} mixed histories in {self.seconds:.1f} s",
            f"latency per answer: p50 {percentile(self.latencies, 0.5):.2f} s, p95 {percentile(self.latencies, 0.95):.2f} s, max {max(self.latencies, default=0):.2f} s",
        ]
        if self.synced is not None:
            lines.append(f"feed sync meanwhile, in {self.sync_seconds:.1f} s: {self.synced.summary()}")
            lines += [f"not indexed: {line}" for feed in self.synced.feeds for line in feed.failed[:10]]
        return "\n".join(lines + [f"error: {e}" for e in self.errors[:10]] + [f"mixed: {m}" for m in self.mixed[:10]])


def session_questions(pool: list[str], session: int, turns: int) -> list[str]:
    """This session's questions: from the pool, each tagged with the session and turn so no two sessions ask alike."""
    return [f"{pool[(session + t) % len(pool)].rstrip('?')} (session {session}, turn {t})?" for t in range(turns)]


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One TLS context for every request of the client process. gradio_client makes each request with a new
    httpx client, which builds a context and loads the CA bundle: on 2 cores, a third of the clients' CPU, taken
    from the server being measured."""
    return ssl.create_default_context()


def run_session(url: str, questions: list[str], auth: tuple[str, str] | None, report: LoadReport, lock: threading.Lock) -> None:
    try:
        client = Client(url, auth=auth, verbose=False, ssl_verify=_tls())  # httpx takes a context as `verify`
    except Exception as exc:  # noqa: BLE001 (any failure to connect is an error of the run, counted and reported)
        with lock:
            report.errors.append(f"session could not connect: {type(exc).__name__}: {exc}")
        return
    answered = []
    for question in questions:
        start = time.perf_counter()
        try:
            answer = client.predict(question, api_name="/chat")
        except Exception as exc:  # noqa: BLE001
            with lock:
                report.errors.append(f"{question!r}: {type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - start
        answered.append(question)
        with lock:
            report.latencies.append(took)
            if not isinstance(answer, str) or not answer.strip():
                report.errors.append(f"{question!r}: empty answer")
    try:
        asked = [t["question"] for t in client.predict(api_name="/history")]
    except Exception as exc:  # noqa: BLE001
        with lock:
            report.errors.append(f"history of {questions[0]!r}: {type(exc).__name__}: {exc}")
        return
    if asked != answered:  # exactly this session's answered questions, in order: nothing from another session
        with lock:
            report.mixed.append(f"asked {answered}, history holds {asked}")


def run_load(
    url: str, sessions: int, turns: int, pool: list[str], auth: tuple[str, str] | None = None, timeout: float = 1800
) -> LoadReport:
    """`sessions` clients, each asking `turns` questions in turn, all at once; bounded by `timeout` seconds."""
    report = LoadReport(sessions, turns)
    lock = threading.Lock()
    start = time.perf_counter()
    pool_ = ThreadPoolExecutor(sessions, thread_name_prefix="newsqa-load")
    futures = [pool_.submit(run_session, url, session_questions(pool, s, turns), auth, report, lock) for s in range(sessions)]
    deadline = start + timeout
    for f in futures:
        try:
            f.result(timeout=max(0.0, deadline - time.perf_counter()))
        except TimeoutError:
            report.errors.append(f"the run did not finish within {timeout:g} s")
            break
    pool_.shutdown(wait=False, cancel_futures=True)
    report.seconds = time.perf_counter() - start
    return report


def ready() -> bool:
    """Run in the client process before the load: it has imported this module."""
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_load(chain: NewsQA, sessions: int, turns: int, records: list[dict], timeout: float = 1800) -> LoadReport:
    """Serve the app over `chain` on 127.0.0.1 with a feed sync of `records` (article records served as a
    feed on 127.0.0.1) running while the load runs."""
    pool = pick_questions(chain.store.articles(), limit=50)
    if not pool:
        raise ValueError("the store has no articles to ask about; index some first")
    # The feed is this bench's own site on 127.0.0.1, an internal address the sync must be allowed to fetch.
    settings = chain.settings.model_copy(update={"host": "127.0.0.1", "port": free_port(), "allow_private_urls": True})
    # What `newsqa serve` loads in the background at start (encoders, named-entity pipeline, indexes) is loaded
    # before the sessions start: this measures answers under load; start-up is `newsqa bench scale`'s.
    warming = time.perf_counter()
    chain.warm_up().join()
    warmed = time.perf_counter() - warming
    with FeedSite(records) as site:
        Library(settings, chain.store).follow(site.feed_url)
        # One sync now, the next not before the run ends: as `newsqa serve` starts its scheduled sync.
        sync = BackgroundSync(chain.store, settings, every_minutes=max(timeout / 60, 1) * 2)
        app = launch(create_app(chain, sync), settings, block=False)
        clients = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            clients.submit(ready).result()  # the client process is up, its imports done, before the sync starts
            began = time.perf_counter()
            sync.start()
            report = clients.submit(run_load, f"http://127.0.0.1:{settings.port}/", sessions, turns, pool, timeout=timeout).result()
            while sync.last_run is None and time.perf_counter() - began < timeout:
                time.sleep(0.2)
            report.sync_seconds = time.perf_counter() - began
            report.warm_up_seconds = warmed
        finally:
            clients.shutdown()
            sync.stop()
            app.close()
    report.synced = sync.last_report
    if report.synced is None:
        report.errors.append(sync.last_error or "the feed sync did not finish")
    return report


def load_bench(
    settings: Settings,
    seeds: Path,
    corpus: Path,
    workdir: Path,
    sessions: int,
    turns: int,
    articles: int,
    timeout: float = 1800,
    say: Callable[[str], None] = log.info,
    source_store: Path | None = None,
) -> LoadReport:
    """A store in `workdir` (a copy of `source_store`, else `seeds` indexed afresh), then `bench_load` while a
    feed sync indexes the last `articles` records of `corpus` (a JSON list); those the copy holds already
    are removed from it first, so the sync adds every one of them."""
    store_dir = Path(workdir) / "store"
    if source_store:
        shutil.copytree(source_store, store_dir, ignore=shutil.ignore_patterns("*.lock", "*.pkl"))
    chain = build_chain(settings.model_copy(update={"store": store_dir}))
    began = time.perf_counter()
    if not source_store:
        seeded = chain.store.add(load_path(seeds))
        say(f"seeds: {seeded.summary()} in {time.perf_counter() - began:.1f} s")
    records = json.loads(Path(corpus).read_text("utf-8"))[-articles:]
    held = {r["title"]: r["id"] for r in chain.store.articles()}
    removed = [held[r["title"]] for r in records if r["title"] in held]
    for article_id in removed:
        chain.store.remove(article_id)
    if source_store:
        say(f"{source_store} copied: {chain.store.stats()} after removing the {len(removed)} articles the feed adds back")
    return bench_load(chain, sessions, turns, records, timeout=timeout)
