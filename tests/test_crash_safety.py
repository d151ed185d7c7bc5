"""SIGKILL `newsqa index add`, and a sync of the lexical index, at random moments: the store always opens and
answers, shows only whole articles, the lexical index is brought back to exactly the committed chunks, and
the next run completes it with nothing duplicated and nothing lost."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from chatbot.chain import build_retriever
from chatbot.settings import Settings
from index.store import ArticleStore
from tests.conftest import MULTIHOP, ROOT

pytestmark = pytest.mark.slow
KILLS = 4


def index_cmd(store, corpus):
    return [sys.executable, "-m", "chatbot", "--store", str(store), "index", "add", str(corpus)]


def env():
    # Small batches so that kills land between, and inside, the commits of several batches.
    return {**os.environ, "NEWSQA_INDEX_BATCH_CHUNKS": "40"}


SYNC = "from chatbot.chain import build_chain; from chatbot.settings import Settings; build_chain(Settings()).retriever.lexical()"


def sync_cmd():
    return [sys.executable, "-c", SYNC]


def lexical_matches(store, visible, seed) -> None:
    """The lexical index, once synced, holds exactly the committed chunks."""
    lexical = build_retriever(Settings(), store).lexical()
    assert lexical.version == store.version(), f"seed {seed}"
    assert len(lexical) == len(visible["ids"]), f"seed {seed}"
    assert set(lexical.chunks(visible["ids"])) == set(visible["ids"]), f"seed {seed}"


def snapshot(store_dir, embeddings):
    store = ArticleStore(Settings(store=store_dir), embeddings)
    records = {r["id"]: r for r in store.articles()}
    visible = store.all_chunks()
    return store, records, visible


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    articles = json.loads((MULTIHOP / "corpus.json").read_text())[:24]
    path = tmp_path_factory.mktemp("crash") / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(a) for a in articles))
    return path


def test_killed_indexing_leaves_a_consistent_store(corpus, tmp_path, embeddings):
    reference = tmp_path / "reference"
    started = time.monotonic()
    subprocess.run(index_cmd(reference, corpus), cwd=ROOT, env=env(), check=True, capture_output=True, timeout=900)
    duration = time.monotonic() - started
    _, want_records, want_chunks = snapshot(reference, embeddings)
    want = {r: v["content_hash"] for r, v in want_records.items()}
    assert len(want) == 24

    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    target = tmp_path / "killed"
    for attempt in range(KILLS):
        proc = subprocess.Popen(index_cmd(target, corpus), cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store, records, visible = snapshot(target, embeddings)
        # Only whole articles are visible, and the store answers.
        for article_id, row in records.items():
            assert row["content_hash"] == want[article_id], f"seed {seed}: wrong record"
            assert sum(1 for m in visible["metadatas"] if m["article_id"] == article_id) == row["chunks"], f"seed {seed}"
        assert {m["article_id"] for m in visible["metadatas"]} <= set(records)
        if records:
            assert build_retriever(Settings(k=3), store).invoke("news")
        # A sync killed mid-way (from an empty index: the most work) is repaired by the next one.
        shutil.rmtree(store.lexical_path(), ignore_errors=True)
        sync = subprocess.Popen(sync_cmd(), cwd=ROOT, env={**env(), "NEWSQA_STORE": str(target)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 6.0))  # the model and Chroma load first, then the sync runs
        sync.send_signal(signal.SIGKILL)
        sync.wait()
        lexical_matches(store, visible, seed)

    subprocess.run(index_cmd(target, corpus), cwd=ROOT, env=env(), check=True, capture_output=True, timeout=900)
    store, records, visible = snapshot(target, embeddings)
    assert {r: v["content_hash"] for r, v in records.items()} == want, f"seed {seed}"
    assert sorted(visible["ids"]) == sorted(want_chunks["ids"]), f"seed {seed}"
    assert store.stats()["chunks"] == len(want_chunks["ids"]), f"seed {seed}: orphan or duplicate chunks remain"
    lexical_matches(store, visible, seed)
