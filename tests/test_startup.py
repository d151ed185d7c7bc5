"""Start-up of a served store: the retriever's snapshot is loaded instead of re-reading the store, and
answering needs neither torch nor sentence-transformers (questions go to the ONNX export)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chatbot.chain import build_retriever
from chatbot.retrieval import HybridRetriever
from chatbot.settings import Settings
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
    snapshot.unlink(missing_ok=True)
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


def test_a_snapshot_of_another_version_or_a_broken_file_is_ignored(tmp_path):
    path = tmp_path / "snap.pkl"
    assert load_snapshot(path, "1:5") is None  # none yet
    save_snapshot(path, "1:5", {"chunks": 3})
    assert load_snapshot(path, "1:5") == {"chunks": 3}
    assert load_snapshot(path, "2:9") is None  # the store changed since
    path.write_bytes(b"not a pickle")
    assert load_snapshot(path, "1:5") is None


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
