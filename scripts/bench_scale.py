"""Scale-up benchmark (issue 7): grow a store to 10k, 30k and 100k chunks and print, at each size, the time
to add the step, store size on disk, start-up time and memory of a fresh process, and p50/p95 retrieval latency.

    python scripts/bench_scale.py --source-store STORE-eval-default --steps 10000,30000,100000

Embedding 100k chunks takes over an hour on this CPU, so the store grows by COPYING chunks that were
embedded once, with their stored vectors, under new article ids (records included): the "add" column is
copy time (Chroma writes and HNSW inserts), not embedding time. The real embedding throughput is measured
first, by indexing --articles articles of the corpus with `index add`'s code path.

Everything happens in a temporary folder; a --source-store is copied there first and never modified.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatbot.bench import load_questions  # noqa: E402
from chatbot.stats import percentile  # noqa: E402
from chatbot.settings import Settings  # noqa: E402
from index.store import read_all  # noqa: E402

MULTIHOP = ROOT.parent / "shared" / "bench" / "multihop"


def disk_bytes(folder: Path) -> int:
    """Bytes the folder takes on disk, as `du` counts them (allocated blocks)."""
    return sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def template_articles(store) -> list[tuple[dict, list[tuple[str, list[float], str, dict]]]]:
    """Each fully indexed article of a store: (record metadata, [(chunk id, vector, text, metadata)])."""
    records = {r["id"]: r for r in store.articles()}
    metas = store._record_metas()  # the stored record as is (with its signature), to copy verbatim
    got = read_all(store.chunks, ["embeddings", "documents", "metadatas"])
    chunks: dict[str, list] = {}
    for cid, vec, doc, meta in zip(got["ids"], got["embeddings"], got["documents"], got["metadatas"]):
        if meta.get("article_id") in records:
            chunks.setdefault(meta["article_id"], []).append((cid, list(vec), doc, meta))
    return [(metas[a], chunks[a]) for a in records if a in chunks]


def grow(store, template, target: int, copy_round: list[int]) -> int:
    """Copy template articles under new ids until the store holds `target` chunks; returns chunks copied."""
    batch = min(store.client.get_max_batch_size(), 2000)
    have = store.chunks.count()
    copied = 0
    ids, vecs, docs, metas, rec_ids, rec_metas = [], [], [], [], [], []

    def flush():
        if ids:
            store.chunks.add(ids=list(ids), embeddings=list(vecs), documents=list(docs), metadatas=list(metas))
        # Records after their chunks, as `index add` commits them: a record makes an article visible.
        if rec_ids:
            store.records.add(
                ids=list(rec_ids), embeddings=[[1.0]] * len(rec_ids), documents=[m["title"] for m in rec_metas],
                metadatas=list(rec_metas),
            )
        for row in (ids, vecs, docs, metas, rec_ids, rec_metas):
            row.clear()

    with store.writing():
        while have + copied < target:
            copy_round[0] += 1
            for record, chunks in template:
                if have + copied >= target:
                    break
                article_id = f"{chunks[0][3]['article_id']}-copy{copy_round[0]}"
                for _, vec, doc, meta in chunks:
                    ids.append(f"{article_id}:{meta['chunk_index']}")
                    vecs.append(vec)
                    docs.append(doc)
                    metas.append({**meta, "article_id": article_id})
                rec_ids.append(article_id)
                rec_metas.append(record)
                copied += len(chunks)
                if len(ids) >= batch:
                    flush()
        flush()
        store._bump_generation()  # the retriever's cache key, as after any write
    return copied


def probe(store_dir: Path, queries: Path, count: int) -> dict:
    """In a fresh process: start-up (the retriever's BM25 + vector cache), RSS, retrieval latency."""
    from chatbot.chain import build_chain

    settings = Settings(store=store_dir)
    chain = build_chain(settings)
    chain.store.embeddings.encode(["warm up"])  # model load is not part of the store's start-up cost
    began = time.perf_counter()
    chain.retriever.lexical()
    startup = time.perf_counter() - began
    questions = load_questions(queries, count)
    chain.retrieve(questions[0])
    latencies = []
    for question in questions:
        began = time.perf_counter()
        chain.retrieve(question)
        latencies.append(1000 * (time.perf_counter() - began))
    return {
        "startup_s": startup, "rss_mb": rss_mb(), "queries": len(latencies),
        "p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95),
    }


def run(args) -> dict:
    from chatbot.chain import build_store
    from index.loaders import load_path
    from index.store import ArticleStore

    tmp = Path(args.work_dir or tempfile.mkdtemp(prefix="newsqa-scale-"))
    tmp.mkdir(parents=True, exist_ok=True)
    target_dir = tmp / "store"
    settings = Settings(store=target_dir)
    store = build_store(settings)
    embeddings = store.embeddings

    # 1. Real indexing (chunking + embedding + writes) of a corpus slice: the honest throughput figure.
    records = json.loads(args.corpus.read_text("utf-8"))[: args.articles]
    slice_file = tmp / "slice.json"
    slice_file.write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    embeddings.encode(["warm up"])  # loading the model is start-up, not indexing
    began = time.perf_counter()
    report = store.add(load_path(slice_file))
    index_s = time.perf_counter() - began
    result = {
        "indexed_articles": len(report.added), "indexed_chunks": report.chunks, "index_s": index_s,
        "index_chunks_per_s": report.chunks / index_s if index_s else 0.0, "steps": [],
    }

    # 2. The template to copy: a copy of --source-store (never the original), or what was just indexed.
    if args.source_store:
        source_copy = tmp / "source"
        shutil.copytree(args.source_store, source_copy, ignore=shutil.ignore_patterns("*.lock"))
        template = template_articles(ArticleStore(Settings(store=source_copy), embeddings))
    else:
        template = template_articles(store)
    result["template_chunks"] = sum(len(c) for _, c in template)

    copy_round = [0]
    for step in args.steps:
        began = time.perf_counter()
        copied = grow(store, template, step, copy_round)
        copy_s = time.perf_counter() - began
        chunks = store.chunks.count()
        child = subprocess.run(
            [sys.executable, __file__, "--probe", str(target_dir), "--queries", str(args.queries),
             "--query-count", str(args.query_count)],
            capture_output=True, text=True, cwd=ROOT,
        )
        if child.returncode:
            raise SystemExit(f"the probe of the {chunks}-chunk store failed:\n{child.stderr[-3000:]}")
        probed = json.loads(child.stdout.strip().splitlines()[-1])
        row = {"chunks": chunks, "copied": copied, "copy_s": copy_s, "disk_mb": disk_bytes(target_dir) / 2**20, **probed}
        result["steps"].append(row)
        if not args.json:
            print(f"  {chunks} chunks done", file=sys.stderr)
    if not args.work_dir:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def table(result: dict) -> str:
    lines = [
        f"real indexing (chunk + embed + write): {result['indexed_articles']} articles, {result['indexed_chunks']} chunks "
        f"in {result['index_s']:.1f} s = {result['index_chunks_per_s']:.1f} chunks/s",
        f"growth by copying stored vectors of {result['template_chunks']} template chunks (copy time, NOT embedding time):",
        "| chunks | copy time for the step (s) | copy rate (chunks/s) | store on disk (MB) | start-up: BM25 + vectors (s) "
        "| process RSS (MB) | retrieval p50 (ms) | retrieval p95 (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["steps"]:
        rate = s["copied"] / s["copy_s"] if s["copy_s"] else 0.0
        lines.append(
            f"| {s['chunks']} | {s['copy_s']:.1f} | {rate:.0f} | {s['disk_mb']:.1f} | {s['startup_s']:.2f} "
            f"| {s['rss_mb']:.0f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} |"
        )
    lines.append(f"(latency over {result['steps'][0]['queries'] if result['steps'] else 0} MultiHop dev queries, "
                 "NewsQA.retrieve in a fresh process per size)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="10000,30000,100000", help="Store sizes (chunks) to measure at, comma-separated")
    parser.add_argument("--source-store", type=Path, help="A store whose chunks are copied (copied to a temp folder first)")
    parser.add_argument("--corpus", type=Path, default=MULTIHOP / "corpus.json")
    parser.add_argument("--articles", type=int, default=40, help="Corpus articles indexed for real (embedding throughput)")
    parser.add_argument("--queries", type=Path, default=MULTIHOP / "dev_queries.json")
    parser.add_argument("--query-count", type=int, default=50)
    parser.add_argument("--work-dir", type=Path, help="Keep the stores here instead of a removed temp folder")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.probe:
        print(json.dumps(probe(args.probe, args.queries, args.query_count)))
        return 0
    args.steps = sorted(int(s) for s in args.steps.split(","))
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
