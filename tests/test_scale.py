"""The scale-up benchmark runs end to end on a tiny corpus and prints every figure (no timing assertions)."""

import re
import subprocess
import sys

import pytest

from tests.conftest import MULTIHOP, ROOT

pytestmark = pytest.mark.slow


def test_bench_scale_prints_every_figure_at_every_step():
    out = subprocess.run(
        [sys.executable, "scripts/bench_scale.py", "--articles", "3", "--steps", "60,150", "--query-count", "3",
         "--corpus", str(MULTIHOP / "corpus.json"), "--queries", str(MULTIHOP / "dev_queries.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert re.search(r"real indexing .*: 3 articles, \d+ chunks in [\d.]+ s = [\d.]+ chunks/s", text)
    assert "copy time, NOT embedding time" in text
    for column in ("copy time", "store on disk (MB)", "start-up: BM25 + vectors (s)", "process RSS (MB)",
                   "retrieval p50 (ms)", "retrieval p95 (ms)"):
        assert column in text
    rows = [line for line in text.splitlines() if re.fullmatch(r"\|( [\d.]+ \|){8}", line)]
    assert len(rows) == 2
    sizes = [int(row.split("|")[1]) for row in rows]
    assert sizes[0] >= 60 and sizes[1] >= 150
    for row in rows:
        disk, startup, rss = (float(row.split("|")[n]) for n in (4, 5, 6))
        assert disk > 0 and rss > 0 and startup >= 0
