"""Retrieval and conversation evaluation: the MultiHop-RAG scorer as plain functions, and runners that
go through `build_chain` / `NewsQA.retrieve` exactly as the chat does.

Scoring rule (from the MultiHop-RAG authors' script): skip null queries; remove spaces and newlines
from gold facts and retrieved chunks; a chunk is relevant when a gold fact is a substring of it.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from chatbot.followup import Turn
from chatbot.settings import Settings
from chatbot.stats import percentile
from chatbot.tutorial import TutorialBaseline, baseline_dir
from index.articles import Article
from index.loaders import LoadError, load_path

log = logging.getLogger(__name__)

NULL_TYPE = "null_query"
ABSTAIN = "ABSTAIN"
CONVERSATION_K = 5



# -- scoring: plain functions on plain data -------------------------------------------------------
def squash(text: str) -> str:
    """The paper's normalisation: spaces and newlines removed."""
    return text.replace(" ", "").replace("\n", "")


def first_found(chunks: list[str], facts: list[str]) -> list[set[int]]:
    """For each rank, the gold facts (by position) first found in the chunk at that rank."""
    gold = [squash(f) for f in facts]
    seen: set[int] = set()
    out = []
    for chunk in chunks:
        text = squash(chunk)
        new = {n for n, fact in enumerate(gold) if n not in seen and fact in text}
        seen |= new
        out.append(new)
    return out


def score_ranking(chunks: list[str], facts: list[str], ks: Iterable[int] = (4, 10), depth: int = 10) -> dict[str, float]:
    """hits@k for each k, reciprocal rank and average precision (both cut at `depth`) of one query.

    AP follows the README's MAP@10: sum over ranks r <= depth of (gold facts newly found at r) / r,
    divided by min(#gold facts, depth).
    """
    found = first_found(chunks, facts)
    relevant = _relevance(chunks, facts)
    first = next((r for r, hit in enumerate(relevant[:depth], 1) if hit), None)
    scores = {f"hits@{k}": float(any(relevant[:k])) for k in ks}
    scores[f"mrr@{depth}"] = 1.0 / first if first else 0.0
    gained = sum(len(new) / r for r, new in enumerate(found[:depth], 1))
    scores[f"map@{depth}"] = gained / min(len(facts), depth) if facts else 0.0
    return scores


def _relevance(chunks: list[str], facts: list[str]) -> list[bool]:
    gold = [squash(f) for f in facts]
    return [any(fact in squash(chunk) for fact in gold) for chunk in chunks]


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else []
    return {key: round(sum(r[key] for r in rows) / len(rows), 4) for key in keys}


def rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


# -- inputs ---------------------------------------------------------------------------------------
class EvalInputError(ValueError):
    """A benchmark file that cannot be used; the message names it and says what is wrong."""


def read_json_list(path: Path, what: str) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalInputError(f"{path}: no such file; give the {what} file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: not valid JSON ({exc}); give the {what} file") from None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise EvalInputError(f"{path}: expected a JSON list of objects ({what})")
    return data


def read_queries(path: Path) -> list[dict]:
    queries = read_json_list(path, "MultiHop-RAG queries")
    for n, q in enumerate(queries):
        if not isinstance(q.get("query"), str) or not isinstance(q.get("evidence_list", []), list):
            raise EvalInputError(f"{path}[{n}]: a query needs 'query' (text) and 'evidence_list' (a list)")
    return queries


def read_conversations(path: Path) -> list[dict]:
    conversations = read_json_list(path, "conversations")
    for n, c in enumerate(conversations):
        turns = c.get("turns")
        if not isinstance(turns, list) or not all(isinstance(t, dict) and isinstance(t.get("question"), str) for t in turns):
            raise EvalInputError(f"{path}[{n}]: a conversation needs 'turns', each with a 'question'")
    return conversations


def load_articles(paths: list[Path], on_error: Callable[[LoadError], None] | None = None) -> list[Article]:
    articles = []
    for path in paths:
        if not Path(path).exists():
            raise EvalInputError(f"{path}: no such file or folder; give the corpus to index")
        for item in load_path(Path(path)):
            if isinstance(item, LoadError):
                if on_error:
                    on_error(item)
            else:
                articles.append(item)
    return articles


# -- runners --------------------------------------------------------------------------------------
def eval_chain(settings: Settings, k: int, store=None):
    """The product's chain with `k` passages per question (everything else as configured)."""
    from chatbot.chain import build_chain

    return build_chain(settings.model_copy(update={"k": k}), store=store)


def mean_chunk_chars(store, article_ids: set[str]) -> tuple[float, float]:
    """Mean characters of the corpus's passages, and of their context headers."""
    rows = store.all_chunks()
    lengths = [
        (len(doc), len(meta.get("header", "")))
        for doc, meta in zip(rows["documents"], rows["metadatas"])
        if meta.get("article_id") in article_ids
    ]
    if not lengths:
        return 0.0, 0.0
    return round(statistics.mean(a for a, _ in lengths), 1), round(statistics.mean(b for _, b in lengths), 1)


def warm_up(chain) -> None:
    """Load the model and build the BM25 side before anything is timed."""
    chain.retriever.lexical()
    chain.retrieve("warm up")


def score_queries(
    queries: list[dict], search: Callable[[str], list[str]], k: int, progress: bool = False
) -> dict:
    """Run `search` (question -> ranked chunk texts) on every non-null query and score it, overall and by type."""
    from tqdm import tqdm

    rows: dict[str, list[dict]] = defaultdict(list)
    latencies = []
    for q in tqdm(queries, desc="retrieving", unit="query", disable=not progress):
        if q.get("question_type") == NULL_TYPE or not q.get("evidence_list"):
            continue
        started = time.perf_counter()
        chunks = search(q["query"])
        latencies.append((time.perf_counter() - started) * 1000)
        facts = [e["fact"] for e in q["evidence_list"]]
        rows[q.get("question_type", "")].append(score_ranking(chunks, facts, ks=sorted({4, k}), depth=k))
    everything = [r for typed in rows.values() for r in typed]
    return {
        "queries": len(everything),
        **mean_scores(everything),
        "latency_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else 0.0,
        "latency_ms_p90": round(percentile(latencies, 0.9), 1) if latencies else 0.0,
        "by_type": {t: {"queries": len(r), **mean_scores(r)} for t, r in sorted(rows.items())},
    }


def abstention(chain, queries: list[dict], progress: bool = False) -> dict:
    """How often the chat declines: on null queries (it should) and on answerable ones (it should not)."""
    from tqdm import tqdm

    null, answerable = [], []
    for q in tqdm(queries, desc="answering", unit="query", disable=not progress):
        declined = chain.ask(q["query"]).abstained
        (null if q.get("question_type") == NULL_TYPE or not q.get("evidence_list") else answerable).append(declined)
    return {"null_queries": len(null), "abstain_rate": rate(null), "false_abstain_rate": rate(answerable)}


def ensure_indexed(store, articles: list[Article], progress: bool = False):
    """Index what the store lacks; unchanged articles are skipped by the store itself."""
    report = store.add(articles, progress=progress)
    if report.added or report.updated:
        log.info("indexed corpus: %s", report.summary())
    return report


def evaluate_retrieval(
    settings: Settings,
    corpus: Path,
    queries_path: Path,
    k: int = 10,
    baseline: bool = False,
    answers: bool = True,
    progress: bool = False,
) -> dict:
    """The product on a MultiHop-RAG corpus and query file; with `baseline`, the tutorial pipeline too."""
    queries = read_queries(queries_path)
    articles = load_articles([corpus])
    chain = eval_chain(settings, k)
    ensure_indexed(chain.store, articles, progress)
    warm_up(chain)
    result = score_queries(queries, lambda q: [d.page_content for d in chain.retrieve(q)[1]], k, progress)
    chunk_chars, header_chars = mean_chunk_chars(chain.store, {a.id for a in articles})
    result.update(mean_chunk_chars=chunk_chars, mean_header_chars=header_chars, k=k, store=str(settings.store))
    if answers:
        result.update(abstention(eval_chain(settings, settings.k, store=chain.store), queries, progress))
    if baseline:
        tutorial = TutorialBaseline(baseline_dir(settings.store), chain.store.embeddings)
        tutorial.ensure(articles, progress)
        tutorial.search("warm up", k)
        scored = score_queries(queries, lambda q: tutorial.search(q, k), k, progress)
        scored.update(mean_chunk_chars=tutorial.mean_chunk_chars(), k=k, store=str(tutorial.folder))
        result["baseline"] = scored
        result["ratio"] = {
            key: round(result[key] / scored[key], 2) if scored.get(key) else None
            for key in result
            if key.startswith(("hits@", "mrr@", "map@"))
        }
    return result


@dataclass
class ConversationTally:
    first: list[bool] = field(default_factory=list)
    followup: list[bool] = field(default_factory=list)
    followup_bare: list[bool] = field(default_factory=list)
    abstained_on_abstain: list[bool] = field(default_factory=list)
    abstained_on_answerable: list[bool] = field(default_factory=list)
    turns: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        everything = self.first + self.followup
        return {
            "conversations": len({t["conversation"] for t in self.turns}),
            "turns": len(self.turns),
            "hit@5": rate(everything),
            "first_hit@5": rate(self.first),
            "followup_hit@5": rate(self.followup),
            "followup_bare_hit@5": rate(self.followup_bare),
            "abstain_turns": len(self.abstained_on_abstain),
            "abstain_rate": rate(self.abstained_on_abstain),
            "false_abstain_rate": rate(self.abstained_on_answerable),
        }


def evidence_hit(chunks: list[str], evidence: list[dict]) -> bool:
    """The conversation bench's rule: any gold evidence text inside any of the chunks (spaces/newlines removed)."""
    return any(_relevance(chunks, [e["text"] for e in evidence]))


def play_conversations(chain, conversations: list[dict], k: int = CONVERSATION_K) -> ConversationTally:
    """Each conversation turn by turn, as the chat plays it: ask with the history, then add the turn to it."""
    tally = ConversationTally()
    for conv in conversations:
        history: list[Turn] = []
        for n, turn in enumerate(conv["turns"]):
            answer = chain.ask(turn["question"], history)
            evidence = turn.get("evidence") or []
            record = {"conversation": conv.get("id", ""), "turn": n + 1, "query": answer.query, "abstained": answer.abstained}
            if turn.get("answer") == ABSTAIN or not evidence:
                tally.abstained_on_abstain.append(answer.abstained)
            else:
                hit = evidence_hit([d.page_content for d in answer.passages[:k]], evidence)
                record["hit"] = hit
                tally.abstained_on_answerable.append(answer.abstained)
                if n == 0:
                    tally.first.append(hit)
                else:
                    tally.followup.append(hit)
                    _, bare = chain.retrieve(turn["question"])
                    record["bare_hit"] = evidence_hit([d.page_content for d in bare[:k]], evidence)
                    tally.followup_bare.append(record["bare_hit"])
            tally.turns.append(record)
            history.append(Turn.after(turn["question"], answer))
    return tally


def evaluate_conversations(settings: Settings, file: Path, corpus_paths: list[Path], progress: bool = False) -> dict:
    conversations = read_conversations(file)
    chain = eval_chain(settings, max(settings.k, CONVERSATION_K))
    ensure_indexed(chain.store, load_articles(corpus_paths), progress)
    tally = play_conversations(chain, conversations)
    return {**tally.summary(), "misses": [t for t in tally.turns if t.get("hit") is False]}


# -- printing -------------------------------------------------------------------------------------
METRIC_ORDER = ("hits@4", "hits@10", "mrr@10", "map@10")


def retrieval_table(result: dict) -> str:
    """A plain-text table: overall and per question type, product (and baseline, ratio)."""
    product = result
    metrics = [m for m in product if m.startswith(("hits@", "mrr@", "map@"))]
    columns = [("product", product)] + ([("baseline", result["baseline"])] if "baseline" in result else [])
    lines = []
    header = f"{'':24}{'queries':>8}" + "".join(f"{name + ' ' + m:>20}" for name, _ in columns for m in metrics)
    lines.append(header)
    types = ["all"] + sorted(product["by_type"])
    for t in types:
        row_source = [(name, res if t == "all" else res["by_type"].get(t, {})) for name, res in columns]
        n = product["queries"] if t == "all" else product["by_type"][t]["queries"]
        lines.append(f"{t:24}{n:>8}" + "".join(f"{row.get(m, 0):>20.4f}" for _, row in row_source for m in metrics))
    if "ratio" in result:
        lines.append("ratio product/baseline: " + ", ".join(f"{m} {v}" for m, v in result["ratio"].items()))
    lines.append(
        f"mean chunk chars: product {product['mean_chunk_chars']} (+ header {product['mean_header_chars']})"
        + (f", baseline {result['baseline']['mean_chunk_chars']}" if "baseline" in result else "")
    )
    lines.append(
        f"retrieval latency per query: product p50 {product['latency_ms_p50']} ms, p90 {product['latency_ms_p90']} ms"
        + (f"; baseline p50 {result['baseline']['latency_ms_p50']} ms" if "baseline" in result else "")
    )
    if "abstain_rate" in product:
        lines.append(
            f"abstention: {product['abstain_rate']} of {product['null_queries']} null queries; "
            f"false abstention on answerable queries: {product['false_abstain_rate']}"
        )
    return "\n".join(lines)


def conversation_table(result: dict) -> str:
    keys = ("turns", "first_hit@5", "followup_hit@5", "followup_bare_hit@5", "abstain_rate", "false_abstain_rate")
    lines = [f"{key:22}{result[key]}" for key in keys]
    for miss in result["misses"]:
        lines.append(f"miss: {miss['conversation']} turn {miss['turn']}: searched for {miss['query']!r}")
    return "\n".join(lines)
