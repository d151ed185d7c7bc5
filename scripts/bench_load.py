"""Load benchmark (issue 7): N chat sessions x M turns against the served app on 127.0.0.1 while a folder
of MultiHop-RAG articles is indexed into the same store; prints errors, mixed histories and p50/p95 latency.

    python scripts/bench_load.py --sessions 20 --turns 5 --articles 60

Works in a temporary folder (a fresh store with seeds/ indexed first); nothing of the user's is touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.chain import build_chain  # noqa: E402
from chatbot.loadtest import bench_load, write_article_folder  # noqa: E402
from chatbot.settings import Settings  # noqa: E402
from index.loaders import load_path  # noqa: E402

CORPUS = ROOT.parent / "shared" / "bench" / "multihop" / "corpus.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--articles", type=int, default=60, help="MultiHop-RAG articles indexed during the run")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--timeout", type=float, default=1800, help="Seconds before the run is cut short (an error)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="newsqa-load-") as tmp:
        settings = Settings(store=Path(tmp) / "store")
        chain = build_chain(settings)
        began = time.perf_counter()
        seeded = chain.store.add(load_path(ROOT / "seeds"))
        print(f"seeds: {seeded.summary()} in {time.perf_counter() - began:.1f} s")
        indexed = {r["title"] for r in chain.store.articles()}
        records = [r for r in json.loads(args.corpus.read_text("utf-8")) if r["title"] not in indexed][-args.articles:]
        folder = write_article_folder(records, Path(tmp) / "incoming")
        report = bench_load(chain, args.sessions, args.turns, [folder], timeout=args.timeout)
        print(report.summary())
        return 1 if report.errors or report.mixed else 0


if __name__ == "__main__":
    sys.exit(main())
