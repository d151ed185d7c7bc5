"""Start-up of a served store: the retriever's snapshot is loaded instead of re-reading the store, and
answering needs neither torch nor sentence-transformers (questions go to the ONNX export)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from chatbot.chain import build_retriever
from chatbot.retrieval import HybridRetriever
from chatbot.settings import Settings
from index.lexical import LexicalIndex
from index.snapshot import load_snapshot, save_snapshot
from tests.conftest import ROOT

PROBE = """
import json, sys
from chatbot.chain import build_chain
from chatbot.settings import Settings
chain = build_chain(Settings())
answer = chain.ask("What are rare earth minerals?")
print(json.dumps({"torch": "torch" in sys.modules, "sentence_transformers": "sentence_transformers" in sys.modules,
                  "cited": [c.title for c in answer.citations]}))
"""


@pytest.mark.slow
def test_serving_answers_without_torch_and_leaves_a_snapshot(seeded_settings, seeded_store):
    snapshot = seeded_store.snapshot_path()
    shutil.rmtree(snapshot, ignore_errors=True)
    env = {**os.environ, "NEWSQA_STORE": str(seeded_settings.store)}
    runs = []
    for _ in range(2):  # the first run writes the snapshot, the second loads it
        done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        assert snapshot.exists()
    for run in runs:
        assert run["torch"] is False and run["sentence_transformers"] is False
        assert any("rare earth" in title.lower() for title in run["cited"]), run["cited"]


def small_index() -> tuple[LexicalIndex, np.ndarray]:
    passages = ["Copper prices hit a record in London.", "A lithium mine opened in Nevada.", "Rates held at 4.5 percent."]
    metadatas = [{"source": s, "article_id": f"a{n}", "published_ts": 1700000000 + n} for n, s in enumerate(["Wire", "Post", "Wire"])]
    # Values of every type Chroma keeps, equal in Python (1, 1.0, True) but each to come back as itself; a key one chunk lacks.
    metadatas[0] |= {"chunk_index": 1, "weight": 1.0, "lead": True, "section": "Markets"}
    metadatas[1] |= {"chunk_index": True, "weight": 1, "section": "", "also_published_by": ["Daily Post", "Wire"]}
    vectors = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    return LexicalIndex(["c0", "c1", "c2"], passages, metadatas, k1=0.9, b=0.3), vectors


def test_a_snapshot_reads_back_the_same_index_and_another_version_is_ignored(tmp_path):
    path = tmp_path / "snap"
    lexical, vectors = small_index()
    assert load_snapshot(path, "1:5") is None  # none yet
    save_snapshot(path, "1:5", (lexical, vectors))
    loaded, loaded_vectors = load_snapshot(path, "1:5")
    assert np.array_equal(loaded_vectors, vectors)
    assert (loaded.ids, loaded.metadatas, loaded.documents, loaded.idf) == (lexical.ids, lexical.metadatas, lexical.documents, lexical.idf)
    typed = lambda rows: [[(k, type(v)) for k, v in sorted(row.items())] for row in rows]
    assert typed(loaded.metadatas) == typed(lexical.metadatas)
    for query in ("copper record London", "lithium Nevada", "rates percent"):
        assert np.array_equal(loaded.scores(query), lexical.scores(query))
    assert np.array_equal(loaded.mask(sources=["Wire"], since=1700000001), lexical.mask(sources=["Wire"], since=1700000001))
    assert load_snapshot(path, "2:9") is None  # the store changed since
    save_snapshot(path, "2:9", (lexical, vectors))
    assert load_snapshot(path, "1:5") is None and len(list(path.iterdir())) == 1  # the stale one is gone


@pytest.mark.parametrize("damage", ["truncated vectors", "foreign json", "missing bm25", "pickled vectors"])
def test_a_damaged_snapshot_is_rebuilt_with_one_line_and_never_runs_code(tmp_path, caplog, damage):
    path = tmp_path / "snap"
    save_snapshot(path, "1:5", small_index())
    (folder,) = path.iterdir()
    if damage == "truncated vectors":
        (folder / "vectors.npy").write_bytes((folder / "vectors.npy").read_bytes()[:100])
    elif damage == "foreign json":
        (folder / "chunks.json").write_text('{"ids": 3}')
    elif damage == "missing bm25":
        shutil.rmtree(folder / "bm25")
    else:  # a file replaced by one that would run code if it were unpickled
        marker = tmp_path / "ran"
        np.save(folder / "vectors.npy", np.array([RunsCode(marker)], dtype=object), allow_pickle=True)
    with caplog.at_level(logging.WARNING, logger="index.snapshot"):
        assert load_snapshot(path, "1:5") is None
    (notice,) = [r.getMessage() for r in caplog.records]
    assert notice.startswith("rebuilding the retriever snapshot: ") and "\n" not in notice
    assert not (tmp_path / "ran").exists()


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_the_retriever_sees_writes_after_loading_a_snapshot(settings, store, embeddings):
    from index.articles import Article

    first = Article(title="Lithium mine opens", body="A lithium mine opened in Nevada on Monday. " * 5, source="Wire")
    store.add([first])
    build_retriever(Settings(), store).lexical()  # writes the snapshot of this version
    assert store.snapshot_path().exists()
    second = Article(title="Copper price record", body="Copper prices hit a record high in London trading. " * 5, source="Wire")
    store.add([second])
    retriever = build_retriever(Settings(), store)
    titles = {d.metadata["title"] for d in retriever.search("copper price record in London", k=3)}
    assert "Copper price record" in titles


@pytest.mark.slow
def test_index_add_leaves_the_snapshot_the_next_start_loads(tmp_path):
    store = tmp_path / "store"
    env = {**os.environ, "NEWSQA_STORE": str(store)}
    done = subprocess.run(
        [sys.executable, "-m", "chatbot", "index", "add", str(ROOT / "seeds" / "putin_rare_earths.txt")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from chatbot.chain import build_retriever, build_store
    from chatbot.settings import Settings

    settings = Settings(store=store)
    indexed = build_store(settings)
    key = build_retriever(settings, indexed).snapshot_key(indexed.version())
    assert load_snapshot(indexed.snapshot_path(), key) is not None
    assert load_snapshot(indexed.snapshot_path(), HybridRetriever(store=indexed, bm25_b=0.75).snapshot_key(indexed.version())) is None


def test_gradio_loads_without_rewriting_its_editor_stubs():
    """import_gradio drops gradio's per-import .pyi regeneration (about half of `import gradio`); the
    components still build."""
    probe = (
        "import sys; from chatbot.gradio_import import import_gradio, _no_stub; gr = import_gradio();"
        "meta = sys.modules['gradio.component_meta'];"
        "box = gr.Textbox(label='q');"
        "print(meta.create_or_modify_pyi is _no_stub, type(box).__name__, any(f is not None and type(f).__name__ == '_SkipStubs' for f in sys.meta_path))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "Textbox", "False"]  # skipped, built, and the finder is gone
