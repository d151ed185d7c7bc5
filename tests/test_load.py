"""Sessions at once through gradio_client while the app's store is being written (issue 7), kept short
for CI; `newsqa bench load --sessions 20 --turns 5` runs the same load at full size."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from chatbot.chain import build_chain
from chatbot.loadtest import bench_load, session_questions
from chatbot.settings import Settings
from index.loaders import load_path
from index.store import ArticleStore

from tests.conftest import MULTIHOP, ROOT


def test_session_questions_differ_between_sessions():
    pool = ["What happened?", "Who won?"]
    assert session_questions(pool, 0, 2) == ["What happened (session 0, turn 0)?", "Who won (session 0, turn 1)?"]
    assert not set(session_questions(pool, 0, 2)) & set(session_questions(pool, 1, 2))


@pytest.mark.slow
def test_six_sessions_chat_while_the_feed_sync_adds_articles(seeded_settings, seeded_store, embeddings, tmp_path):
    settings = seeded_settings.model_copy(update={"store": tmp_path / "store"})
    shutil.copytree(seeded_settings.store, settings.store)
    store = ArticleStore(settings, embeddings)
    before = store.stats()["articles"]
    indexed = {r["title"] for r in store.articles()}
    records = [r for r in json.loads((MULTIHOP / "corpus.json").read_text("utf-8")) if r["title"] not in indexed][-8:]

    report = bench_load(build_chain(settings, store=store), sessions=6, turns=3, records=records, timeout=600)

    print(report.summary())
    assert report.errors == [] and report.mixed == []  # no error, no "database is locked", no history mixing
    assert len(report.latencies) == 18
    assert report.warm_up_seconds > 0  # the app was warmed up, as `newsqa serve` does, before the sessions
    assert report.synced is not None and not report.synced.failed, report.summary()
    (feed,) = report.synced.feeds
    assert len(feed.added) + len(feed.merged) == len(records) and not feed.updated  # every entry, through its page
    assert store.stats()["articles"] == before + len(feed.added)  # nothing lost
    titles = {r["title"]: r for r in store.articles()}
    assert {titles[r["title"]]["source"] for r in records if r["title"] in titles} <= {r["source"] for r in records}


def test_the_load_clients_build_no_tls_context_per_request(seeded_settings, seeded_store, monkeypatch):
    """The clients share the server's two cores: a TLS context (the CA bundle loaded) per request took a third
    of their CPU from the server being measured."""
    import ssl

    from chatbot import loadtest
    from chatbot.app import create_app, launch

    built = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: built.append(1) or real(*a, **k))
    loadtest._tls.cache_clear()
    settings = seeded_settings.model_copy(update={"host": "127.0.0.1", "port": loadtest.free_port()})
    app = launch(create_app(build_chain(settings, store=seeded_store)), settings, block=False)
    try:
        built.clear()  # the server's own start
        report = loadtest.run_load(f"http://127.0.0.1:{settings.port}/", sessions=2, turns=2, pool=["What did Putin say about rare earths?"])
    finally:
        app.close()
    assert report.errors == [] and len(report.latencies) == 4, report.summary()
    assert len(built) <= 2  # one shared context (two sessions may both build it on their first call), not one per request


@pytest.mark.slow
def test_bench_load_command_runs_the_load_over_a_fresh_store(tmp_path):
    records = [
        {"title": f"Harbour report {n}", "source": "Coast Daily", "published_at": f"2026-11-0{n}",
         "body": f"The harbour of Dover handled {n}00 ships this week, the port authority said. Repairs go on."}
        for n in (1, 2, 3)
    ]
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(records), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "bench", "load", "--sessions", "2", "--turns", "1", "--articles", "2",
         "--corpus", str(corpus), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\n2 sessions x 1 turns: 2 answers, 0 errors, 0 mixed histories" in done.stdout, done.stdout
    assert "feed sync meanwhile" in done.stdout and "2 added" in done.stdout.split("feed sync meanwhile")[1]
    assert done.stderr.startswith("seeds: 21 added"), done.stderr


def test_bench_load_command_names_a_missing_corpus(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chatbot", "bench", "load", "--corpus", str(tmp_path / "nope.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: --corpus {tmp_path / 'nope.json'} is not a file; pass the MultiHop-RAG corpus.json or your own"


@pytest.mark.slow
def test_bench_load_serves_a_copy_of_a_store_and_the_feed_adds_back_what_it_held(tmp_path, embeddings):
    records = sorted(json.loads((MULTIHOP / "corpus.json").read_text("utf-8")), key=lambda r: len(r["body"]))[:3]
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(records), "utf-8")
    source = tmp_path / "source"
    ArticleStore(Settings(store=source), embeddings).add(load_path(corpus))
    digest = sorted((p.name, p.stat().st_mtime_ns) for p in source.rglob("*") if p.is_file())
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "bench", "load", "--sessions", "2", "--turns", "1", "--articles", "2",
         "--corpus", str(corpus), "--source-store", str(source), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "{'articles': 1, 'chunks':" in done.stderr and "after removing the 2 articles the feed adds back" in done.stderr
    assert "2 sessions x 1 turns: 2 answers, 0 errors, 0 mixed histories" in done.stdout, done.stdout
    assert "2 added, 0 updated, 0 skipped, 0 failed" in done.stdout.split("feed sync meanwhile")[1]
    assert sorted((p.name, p.stat().st_mtime_ns) for p in source.rglob("*") if p.is_file()) == digest  # never written
