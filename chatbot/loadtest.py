"""Many chat sessions at once against a served app while a folder is indexed into its store (issue 7).

`run_load(url, ...)` drives N sessions x M turns through gradio_client (each Client is one browser
session) and checks every answer and every session's history; `bench_load(...)` serves the app on
127.0.0.1 over a store, indexes a folder into that store in a thread of the same process (the served
app is the store's only writer), and runs the load meanwhile. The CLI's `newsqa bench load` and the
test run the same function.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gradio_client import Client

from chatbot.app import create_app, launch
from chatbot.chain import NewsQA, build_chain
from chatbot.settings import Settings
from chatbot.stats import percentile
from index.questions import pick_questions
from index.loaders import load_path
from index.store import IndexReport

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    sessions: int
    turns: int
    latencies: list[float] = field(default_factory=list)  # seconds per answered turn
    errors: list[str] = field(default_factory=list)  # one line per failed turn or session
    mixed: list[str] = field(default_factory=list)  # sessions whose history is not exactly their own questions
    seconds: float = 0.0
    indexed: IndexReport | None = None
    index_seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"{self.sessions} sessions x {self.turns} turns: {len(self.latencies)} answers, {len(self.errors)} errors, "
            f"{len(self.mixed)} mixed histories in {self.seconds:.1f} s",
            f"latency per answer: p50 {percentile(self.latencies, 0.5):.2f} s, p95 {percentile(self.latencies, 0.95):.2f} s, max {max(self.latencies, default=0):.2f} s",
        ]
        if self.indexed is not None:
            lines.append(f"indexed meanwhile, in {self.index_seconds:.1f} s: {self.indexed.summary()}")
            lines += [f"not indexed: {line}" for line in self.indexed.failed[:10]]
        return "\n".join(lines + [f"error: {e}" for e in self.errors[:10]] + [f"mixed: {m}" for m in self.mixed[:10]])


def session_questions(pool: list[str], session: int, turns: int) -> list[str]:
    """This session's questions: from the pool, each tagged with the session and turn so no two sessions ask alike."""
    return [f"{pool[(session + t) % len(pool)].rstrip('?')} (session {session}, turn {t})?" for t in range(turns)]


def run_session(url: str, questions: list[str], auth: tuple[str, str] | None, report: LoadReport, lock: threading.Lock) -> None:
    try:
        client = Client(url, auth=auth, verbose=False)
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_load(chain: NewsQA, sessions: int, turns: int, index: list[Path], timeout: float = 1800) -> LoadReport:
    """Serve the app over `chain` on 127.0.0.1, index `index` into its store meanwhile, and run the load."""
    pool = pick_questions(chain.store.articles(), limit=50)
    if not pool:
        raise ValueError("the store has no articles to ask about; index some first")
    settings = chain.settings.model_copy(update={"host": "127.0.0.1", "port": free_port()})
    app = launch(create_app(chain), settings, block=False)
    indexed: dict = {}

    def index_folder() -> None:
        began = time.perf_counter()
        report = IndexReport()
        for path in index:
            one = chain.store.add(load_path(path))
            for name in ("added", "updated", "unchanged", "failed", "merged"):
                getattr(report, name).extend(getattr(one, name))
            report.chunks += one.chunks
        indexed["report"], indexed["seconds"] = report, time.perf_counter() - began

    writer = threading.Thread(target=index_folder, name="newsqa-load-index", daemon=True)
    try:
        writer.start()
        report = run_load(f"http://127.0.0.1:{settings.port}/", sessions, turns, pool, timeout=timeout)
        writer.join(timeout)
    finally:
        app.close()
    report.indexed = indexed.get("report")
    report.index_seconds = indexed.get("seconds", 0.0)
    if report.indexed is None:
        report.errors.append("indexing did not finish")
    return report


def write_article_folder(records: list[dict], folder: Path) -> Path:
    """One JSON file per article record: the folder a load run indexes while the sessions chat."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, record in enumerate(records):
        (folder / f"article-{n:04d}.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    return folder


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
) -> LoadReport:
    """A fresh store in `workdir` with `seeds` indexed, then `bench_load` while the last `articles`
    records of `corpus` (a JSON list) that are not indexed yet are indexed into it."""
    chain = build_chain(settings.model_copy(update={"store": workdir / "store"}))
    began = time.perf_counter()
    seeded = chain.store.add(load_path(seeds))
    say(f"seeds: {seeded.summary()} in {time.perf_counter() - began:.1f} s")
    indexed = {r["title"] for r in chain.store.articles()}
    fresh = [r for r in json.loads(Path(corpus).read_text("utf-8")) if r["title"] not in indexed]
    records = fresh[len(fresh) - articles :] if articles else []
    folder = write_article_folder(records, workdir / "incoming")
    return bench_load(chain, sessions, turns, [folder], timeout=timeout)
