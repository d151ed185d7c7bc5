"""`newsqa bench`: indexing, start-up and answer speed, each beside its yardstick, from one run on one machine.

The yardsticks are the raw encoder (SentenceTransformer.encode over the product's own chunk texts: what
indexing cannot beat without a faster build of the model) and the LangChain tutorial pipeline
(chatbot/tutorial.py: RecursiveCharacterTextSplitter 1000/100 into Chroma, same model) over the same corpus.
Indexing and serving run in fresh subprocesses, as a user runs them, so model loading, start-up and
memory are the product's own.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from chatbot.settings import Settings
from chatbot.stats import memory_mb, percentile

log = logging.getLogger(__name__)

BATCH_SIZES = (16, 32, 64, 128)
BATCH_PROBE_CHUNKS = 128
TUTORIAL_BATCH_SIZE = 32  # langchain-huggingface's HuggingFaceEmbeddings leaves encode's default of 32


@dataclass
class BenchResult:
    chunks: int
    backend: str
    encode_batch_size: int
    encode_s: float
    encode_chunks_per_s: float
    index_s: float
    index_chunks_per_s: float
    index_vs_encode: float
    tutorial_chunks: int
    tutorial_index_s: float
    speedup_vs_tutorial: float
    startup_s: float
    queries: int
    retrieval_p50_ms: float
    retrieval_p95_ms: float
    answer_p50_ms: float
    answer_p95_ms: float
    peak_rss_mb: float

    def table(self) -> str:
        rows = [
            ("chunks (product chunker)", f"{self.chunks}"),
            ("embedding backend", self.backend),
            (f"raw encoder, fp32 SentenceTransformer.encode, batch {self.encode_batch_size}", f"{self.encode_s:.1f} s, {self.encode_chunks_per_s:.1f} chunks/s"),
            ("`index add`, end to end, fresh store", f"{self.index_s:.1f} s, {self.index_chunks_per_s:.1f} chunks/s"),
            ("indexing / raw encoder throughput", f"{self.index_vs_encode:.2f}x"),
            (f"LangChain tutorial pipeline ({self.tutorial_chunks} chunks)", f"{self.tutorial_index_s:.1f} s"),
            ("speed-up over the tutorial", f"{self.speedup_vs_tutorial:.2f}x"),
            ("start-up to first answer", f"{self.startup_s:.2f} s"),
            (f"retrieval p50 / p95 ({self.queries} queries)", f"{self.retrieval_p50_ms:.0f} / {self.retrieval_p95_ms:.0f} ms"),
            ("extractive answer p50 / p95", f"{self.answer_p50_ms:.0f} / {self.answer_p95_ms:.0f} ms"),
            ("peak RSS while serving", f"{self.peak_rss_mb:.0f} MB"),
        ]
        return "\n".join(["| measure | figure |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])


def load_questions(path: Path, limit: int) -> list[str]:
    """Question strings from a MultiHop-RAG style file (a list of {"query": ...}) or a list of strings."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = [q["query"] if isinstance(q, dict) else str(q) for q in data]
    return [q for q in questions if q.strip()][:limit]


# -- 1. the raw encoder -------------------------------------------------------
def product_chunk_texts(settings: Settings, corpus: Path, embeddings) -> list[str]:
    """The texts `index add` hands the encoder for this corpus (context header + passage)."""
    from index.articles import Article
    from index.chunking import chunk_article
    from index.loaders import load_path

    texts = []
    for article in load_path(corpus):
        if isinstance(article, Article):
            chunks = chunk_article(article, embeddings.count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens)
            texts += [c.indexed_text for c in chunks]
    return texts


def time_raw_encoder(model_name: str, texts: list[str], say: Callable[[str], None]) -> tuple[int, float]:
    """(best batch size, seconds) for SentenceTransformer.encode over all texts; batch sizes probed on a sample."""
    from index.embeddings import SentenceTransformerEmbeddings

    model = SentenceTransformerEmbeddings(model_name, backend="torch").model
    sample = texts[:: max(1, len(texts) // BATCH_PROBE_CHUNKS)][:BATCH_PROBE_CHUNKS]
    model.encode(sample[:32], batch_size=32)  # warm-up: first calls allocate
    rates = {}
    for size in BATCH_SIZES:
        start = time.perf_counter()
        model.encode(sample, batch_size=size, normalize_embeddings=True)
        rates[size] = len(sample) / (time.perf_counter() - start)
    best = max(rates, key=rates.get)
    say("encoder batch probe (chunks/s): " + ", ".join(f"{k}: {v:.1f}" for k, v in rates.items()))
    start = time.perf_counter()
    model.encode(texts, batch_size=best, normalize_embeddings=True, convert_to_numpy=True)
    return best, time.perf_counter() - start


# -- 2. `index add` -----------------------------------------------------------
def child_env(settings: Settings, store: Path) -> dict[str, str]:
    """The environment of a child newsqa process: these settings, this store."""
    fields = settings.model_dump(exclude_none=True, exclude={"llm_api_key"})
    env = {f"NEWSQA_{k.upper()}": str(v) for k, v in fields.items()}
    return {**os.environ, **env, "NEWSQA_STORE": str(store)}


def prepare_backend(settings: Settings) -> tuple[str, float]:
    """(backend that encodes the chunks, seconds to get it ready): the ONNX exports that encode questions (fp32)
    and answer sentences (int8), and for onnx backends chunks, are built once per model and cached, a first-run
    cost, not an indexing one."""
    from chatbot.chain import build_store

    start = time.perf_counter()
    embeddings = build_store(settings).embeddings
    if embeddings.short_encoder is not None:
        embeddings.short_encoder.encode(["warm"])
    embeddings.encode_comparable(["warm"])
    backend = embeddings.resolved_backend
    if backend == "openvino":
        backend += f" ({embeddings.openvino.precision})"
    return backend, time.perf_counter() - start


def time_index_add(settings: Settings, corpus: Path, store: Path) -> float:
    start = time.perf_counter()
    command = [sys.executable, "-m", "chatbot", "index", "add", str(corpus)]
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(settings, store))
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"`newsqa index add {corpus}` failed: {done.stderr.strip()[-500:]}")
    return elapsed


# -- 3. the LangChain tutorial ------------------------------------------------
def time_tutorial(corpus: Path, persist: Path, model_name: str) -> tuple[int, float]:
    """(chunks, seconds) for the tutorial pipeline into a fresh folder, model loading included as in `index add`."""
    from chatbot.tutorial import TutorialBaseline
    from index.articles import Article
    from index.embeddings import SentenceTransformerEmbeddings
    from index.loaders import load_path

    start = time.perf_counter()
    articles = [a for a in load_path(corpus) if isinstance(a, Article)]
    embeddings = SentenceTransformerEmbeddings(model_name, batch_size=TUTORIAL_BATCH_SIZE, backend="torch")
    chunks = TutorialBaseline(persist, embeddings).ensure(articles)
    return chunks, time.perf_counter() - start


# -- 4, 5. start-up, latency and memory of the served product -----------------
def serve(settings: Settings):
    """Start the product as `newsqa serve` does (chain, then the app's Blocks) and return the chain;
    start-up is measured up to its first answer."""
    from chatbot.app import create_app
    from chatbot.chain import build_chain

    chain = build_chain(settings)
    create_app(chain)
    return chain


def probe(questions: list[str]) -> dict:
    """Runs in a fresh process: start, answer the first question, then time every question."""
    chain = serve(Settings())
    chain.ask(questions[0])
    print("FIRST_ANSWER", flush=True)  # the parent stops the start-up clock here
    retrieval, answer = [], []
    for question in questions:
        start = time.perf_counter()
        chain.retrieve(question)
        retrieval.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        chain.ask(question)
        answer.append((time.perf_counter() - start) * 1000)
    return {
        "retrieval_p50_ms": percentile(retrieval, 0.5),
        "retrieval_p95_ms": percentile(retrieval, 0.95),
        "answer_p50_ms": percentile(answer, 0.5),
        "answer_p95_ms": percentile(answer, 0.95),
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """The high-water mark of this process's memory. Linux's VmHWM belongs to the process's own address
    space; ru_maxrss would also count the parent's RSS at fork time (Linux carries it across exec)."""
    peak = memory_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def time_serving(settings: Settings, store: Path, queries: Path, limit: int) -> dict:
    env = child_env(settings, store)
    start = time.perf_counter()
    command = [sys.executable, "-m", "chatbot.bench", "--probe", str(queries), str(limit)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    startup = None
    lines = []
    for line in child.stdout:
        if line.strip() == "FIRST_ANSWER":
            startup = time.perf_counter() - start
        else:
            lines.append(line)
    stderr = child.stderr.read()
    if child.wait() != 0 or startup is None:
        raise RuntimeError(f"the serving probe failed: {stderr.strip()[-500:]}")
    return {"startup_s": startup, **json.loads(lines[-1])}


def run_bench(
    settings: Settings, corpus: Path, queries: Path, workdir: Path, limit: int, say: Callable[[str], None] = log.info
) -> BenchResult:
    """Every figure from one run; `workdir` receives the fresh stores."""
    from index.embeddings import SentenceTransformerEmbeddings

    model_name = settings.embedding_model
    texts = product_chunk_texts(settings, corpus, SentenceTransformerEmbeddings(model_name, backend="torch"))
    say(f"{len(texts)} product chunks")
    batch, encode_s = time_raw_encoder(model_name, texts, say)
    say(f"raw encoder: {encode_s:.1f} s at batch {batch}")
    backend, ready_s = prepare_backend(settings.model_copy(update={"store": workdir / "warm"}))
    say(f"backend {backend} ready in {ready_s:.1f} s")
    index_s = time_index_add(settings, corpus, workdir / "store")
    say(f"index add ({backend}): {index_s:.1f} s")
    tutorial_chunks, tutorial_s = time_tutorial(corpus, workdir / "tutorial", model_name)
    say(f"tutorial: {tutorial_chunks} chunks in {tutorial_s:.1f} s")
    serving = time_serving(settings, workdir / "store", queries, limit)
    say(f"serving: {serving}")
    return BenchResult(
        chunks=len(texts),
        backend=backend,
        encode_batch_size=batch,
        encode_s=encode_s,
        encode_chunks_per_s=len(texts) / encode_s,
        index_s=index_s,
        index_chunks_per_s=len(texts) / index_s,
        index_vs_encode=(len(texts) / index_s) / (len(texts) / encode_s),
        tutorial_chunks=tutorial_chunks,
        tutorial_index_s=tutorial_s,
        speedup_vs_tutorial=tutorial_s / index_s,
        startup_s=serving["startup_s"],
        queries=min(limit, len(load_questions(queries, limit))),
        **{k: serving[k] for k in ("retrieval_p50_ms", "retrieval_p95_ms", "answer_p50_ms", "answer_p95_ms", "peak_rss_mb")},
    )


def as_json(result: BenchResult) -> str:
    return json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(result).items()})


if __name__ == "__main__" and sys.argv[1:2] == ["--probe"]:
    # The serving side of `newsqa bench`, in a process of its own (see time_serving).
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(probe(load_questions(Path(sys.argv[2]), int(sys.argv[3])))), flush=True)
