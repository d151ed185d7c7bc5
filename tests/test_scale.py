"""`newsqa bench scale` runs end to end on a tiny store and prints every figure at every step (no timing
assertions); the copying it grows stores with lands on the asked size exactly."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chatbot.scalebench import STEP_FIELDS, copy_articles, read_articles
from index.loaders import load_path
from index.store import ArticleStore

from tests.conftest import MULTIHOP, ROOT

QUERIES = MULTIHOP / "dev_queries.json"


def shortest_articles(count: int, folder: Path) -> Path:
    """A corpus file of the `count` shortest MultiHop articles."""
    records = sorted(json.loads((MULTIHOP / "corpus.json").read_text("utf-8")), key=lambda r: len(r["body"]))
    path = folder / "articles.json"
    path.write_text(json.dumps(records[:count]), "utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory, embeddings) -> Path:
    """Three short MultiHop articles (fewer chunks than the smallest step), indexed the product's way."""
    from chatbot.settings import Settings

    folder = tmp_path_factory.mktemp("tiny")
    report = ArticleStore(Settings(store=folder / "store"), embeddings).add(load_path(shortest_articles(3, folder)))
    assert len(report.added) == 3 and report.chunks < 40
    return folder / "store"


def folder_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def bench_scale(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatbot", "bench", "scale", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_bench_scale_measures_every_step_of_a_grown_copy(tiny_store):
    before = folder_digest(tiny_store)
    done = bench_scale("--source-store", str(tiny_store), "--steps", "150,60", "--queries", str(QUERIES),
                       "--query-count", "3", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)

    assert set(result) == {"steps", "backend"}
    assert result["backend"]["chroma"] == "embedded" and result["backend"]["retriever"]
    assert [step["chunks"] for step in result["steps"]] == [60, 150]  # sizes in order, each exactly
    for step in result["steps"]:
        assert set(step) == set(STEP_FIELDS)
        assert all(math.isfinite(step[f]) for f in STEP_FIELDS), step  # every article written was found
        assert step["startup_s"] > 0 and step["rss_mb"] > 50
        assert 0 < step["retrieval_p50_ms"] <= step["retrieval_p95_ms"]
        assert step["ingest_searchable_s"] >= 0 and step["ingest_question_p95_ms"] > 0
    assert folder_digest(tiny_store) == before  # the source store is copied, never written


@pytest.mark.slow
def test_bench_scale_prints_a_table_without_json(tiny_store):
    done = bench_scale("--source-store", str(tiny_store), "--steps", "40", "--queries", str(QUERIES),
                       "--query-count", "2", "--ingest-articles", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 40 |")]
    assert len(rows) == 1 and rows[0].count("|") == 8, done.stdout
    assert "start-up to first answer (s)" in done.stdout and '"chroma": "embedded"' in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "ten"], "error: --steps 'ten' is not a list of chunk counts; write e.g. 100000,300000,1000000"),
        (["--steps", "0"], "error: --steps '0' needs at least one chunk count above 0"),
    ],
)
def test_bench_scale_names_bad_steps(tiny_store, args, message):
    done = bench_scale("--source-store", str(tiny_store), *args)
    assert done.returncode == 1 and done.stderr.strip() == message


def test_bench_scale_names_a_workdir_that_holds_an_earlier_run(tiny_store, tmp_path):
    (tmp_path / "source").mkdir()
    done = bench_scale("--source-store", str(tiny_store), "--steps", "10", "--queries", str(QUERIES), "--workdir", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: --workdir {tmp_path} holds an earlier run (its source/ folder); pass a new or empty folder"


def test_bench_scale_names_a_folder_that_is_no_store(tmp_path):
    done = bench_scale("--source-store", str(tmp_path), "--steps", "10", "--queries", str(QUERIES))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"error: --source-store {tmp_path} is not a newsqa store (no chroma folder in it); pass the folder of an indexed store"
    )


def test_copies_land_on_the_asked_size_and_are_whole_articles(tiny_store, settings, embeddings, monkeypatch):
    shutil.copytree(tiny_store, settings.store)
    store = ArticleStore(settings, embeddings)
    template = read_articles(store)
    version, before = store.version(), store.stats()

    def no_encoding(*args, **kwargs):
        raise AssertionError("copying re-embedded a chunk")

    monkeypatch.setattr(store.embeddings, "encode", no_encoding)  # vectors are copied, not re-embedded
    written = copy_articles(store, template, "t", chunks=64)

    assert store.stats() == {"chunks": before["chunks"] + 64, "articles": before["articles"] + len(written)}
    records = {r["id"]: r for r in store.articles()}
    assert sum(records[i]["chunks"] for i in written) == 64  # the last copy cut short, its record says so
    assert store.version() != version  # readers see the write
    copied = read_articles(store)
    by_id = {a.id: a for a in copied}
    original = {a.id: a for a in template}
    first = by_id[written[0]]
    assert first.documents == original[written[0].rsplit("-t", 1)[0]].documents
    # Chroma renormalises every vector it stores in a cosine space: a copy may differ from its source in the last bit.
    assert np.allclose(first.vectors, original[written[0].rsplit("-t", 1)[0]].vectors, rtol=0, atol=1e-7)


@pytest.mark.slow
def test_bench_scale_grows_collections_of_its_own_on_a_chroma_server(tiny_store, tmp_path, monkeypatch):
    from tests.test_server_mode import ChromaServer

    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    try:
        monkeypatch.setenv("NEWSQA_CHROMA_HOST", "127.0.0.1")
        monkeypatch.setenv("NEWSQA_CHROMA_PORT", str(server.port))
        done = bench_scale("--source-store", str(tiny_store), "--steps", "40", "--queries", str(QUERIES),
                           "--query-count", "2", "--ingest-articles", "3", "--json")
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout)
        assert result["backend"]["chroma"] == f"127.0.0.1:{server.port}"
        (step,) = result["steps"]
        assert step["chunks"] == 40 and math.isfinite(step["ingest_searchable_s"])  # written by another process, seen
        import chromadb

        left = chromadb.HttpClient(host="127.0.0.1", port=server.port).list_collections()
        assert [c.name for c in left if "_scale" in c.name] == []  # the benchmark's collections are dropped
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=30)
