"""`newsqa bench` runs end to end on a tiny corpus and prints every figure (no timing is asserted)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import fields

import pytest

from chatbot.bench import BenchResult
from chatbot.stats import percentile
from tests.conftest import MULTIHOP, ROOT

ISSUE_KEYS = {
    "encode_chunks_per_s", "index_chunks_per_s", "index_vs_encode", "index_s", "tutorial_index_s",
    "speedup_vs_tutorial", "startup_s", "retrieval_p50_ms", "retrieval_p95_ms", "answer_p50_ms",
    "answer_p95_ms", "peak_rss_mb", "chunks", "backend",
}


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0
    assert math.isnan(percentile([], 0.5))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench-input")
    articles = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))[:2]
    queries = [{"query": "Who is facing a criminal trial for fraud?"}, {"query": "What did the article say about prices?"}]
    (folder / "corpus.json").write_text(json.dumps(articles), encoding="utf-8")
    (folder / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
    return folder


def bench(tiny, tmp_path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "chatbot", "bench", "--corpus", str(tiny / "corpus.json"),
         "--queries", str(tiny / "queries.json"), "--limit", "2", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NEWSQA_MODEL_CACHE": str(tmp_path / "models")},
    )


@pytest.mark.slow
def test_bench_json_has_every_figure(tiny, tmp_path):
    done = bench(tiny, tmp_path, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert ISSUE_KEYS <= set(figures)
    assert figures["chunks"] > 0 and figures["tutorial_chunks"] > 0
    # auto is reported as what ran, OpenVINO with its precision
    assert figures["backend"] in {"openvino (bf16)", "openvino (f32)", "torch", "torch-bf16", "onnx", "onnx-int8"}
    for key in ISSUE_KEYS - {"backend", "chunks"}:
        assert isinstance(figures[key], float) and figures[key] > 0, (key, figures[key])
    assert figures["queries"] == 2


def test_table_shows_every_figure():
    result = BenchResult(**{f.name: (7 if f.type == "int" else "onnx-int8" if f.name == "backend" else 1.25) for f in fields(BenchResult)})
    table = result.table()
    assert table.count("\n") == 12  # header, rule and 11 rows
    assert "| embedding backend | onnx-int8 |" in table and "| 1.25x |" in table and "| 1.2 s, 1.2 chunks/s |" in table


def test_bench_names_a_missing_input(tiny, tmp_path):
    missing = bench(tiny, tmp_path, "--corpus", str(tmp_path / "nope.json"))
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("error: --corpus")
    assert "Traceback" not in missing.stderr
