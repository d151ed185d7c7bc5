"""Retrieval and conversation evaluation: the MultiHop-RAG scorer as plain functions, and runners that
go through `build_chain` / `NewsQA.retrieve` exactly as the chat does.

Scoring rule (from the MultiHop-RAG authors' script): skip null queries; remove spaces and newlines
from gold facts and retrieved chunks; a chunk is relevant when a gold fact is a substring of it.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

from chatbot.followup import Turn
from chatbot.settings import Settings
from chatbot.stats import percentile
from chatbot.tutorial import TutorialBaseline, baseline_dir
from index.articles import Article
from index.text import content_words
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


def evidence_hit(chunks: list[str], evidence: list[dict]) -> bool:
    """The conversation bench's rule: any gold evidence text inside any of the chunks (spaces/newlines removed)."""
    return any(_relevance(chunks, [e["text"] for e in evidence]))


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else []
    return {key: round(sum(r[key] for r in rows) / len(rows), 4) for key in keys}


def rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def split_halves(items: list[dict]) -> dict[str, list[dict]]:
    """Items by the parity of their 1-based `position` in the benchmark file: constants are chosen on
    the odd half and checked on the even one."""
    return {
        "odd": [item for item in items if item["position"] % 2 == 1],
        "even": [item for item in items if item["position"] % 2 == 0],
    }


# -- answer scoring: plain functions on plain data ------------------------------------------------
CITATION_MARKER = re.compile(r"\s*\[\d{1,3}\]")


def without_markers(text: str) -> str:
    return CITATION_MARKER.sub("", text)


def answer_words(text: str) -> int:
    """Words of an answer as the reader sees them, citation markers aside."""
    return len(without_markers(text).split())


def evidence_in_answer(answer: str, evidence: list[dict]) -> bool:
    """A gold evidence text inside the answer, markers removed and compared as hit@5 compares (spaces and newlines removed)."""
    return evidence_hit([without_markers(answer)], evidence)


def cited_evidence(cited_passages: list[str], evidence: list[dict]) -> bool:
    """A passage the answer cites holds a gold evidence text."""
    return evidence_hit(cited_passages, evidence)


def gold_recall(answer: str, gold: str) -> float | None:
    """Share of the gold answer's content words that the answer holds (None when the gold has none)."""
    wanted = content_words(gold)
    return len(wanted & content_words(without_markers(answer))) / len(wanted) if wanted else None


def loose(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: how MultiHop-RAG gold answers are looked for."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def gold_in_answer(answer: str, gold: str) -> bool:
    """The gold answer string inside the answer, case and punctuation aside, on word boundaries
    (so a gold "No" is not found in "not")."""
    wanted = loose(gold)
    return bool(wanted) and f" {wanted} " in f" {loose(without_markers(answer))} "


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


def is_null(query: dict) -> bool:
    return query.get("question_type") == NULL_TYPE or not query.get("evidence_list")


def rank_queries(
    queries: list[dict], search: Callable[[str], list[str]], k: int, progress: bool = False
) -> list[dict]:
    """Run `search` (question -> ranked chunk texts) on every non-null query: one row per query with
    its 1-based position in the file, its type, its scores and its latency."""
    from tqdm import tqdm

    rows = []
    for position, q in enumerate(tqdm(queries, desc="retrieving", unit="query", disable=not progress), 1):
        if is_null(q):
            continue
        started = time.perf_counter()
        chunks = search(q["query"])
        latency = (time.perf_counter() - started) * 1000
        facts = [e["fact"] for e in q["evidence_list"]]
        scores = score_ranking(chunks, facts, ks=sorted({4, k}), depth=k)
        rows.append({"position": position, "type": q.get("question_type", ""), "latency_ms": latency, "scores": scores})
    return rows


def summarize_rankings(rows: list[dict]) -> dict:
    """Mean scores overall and by question type. The overall mean sums the rows type by type, in the order
    the types first appear, as it always has, so no figure moves in its last digit."""
    typed: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        typed[row["type"]].append(row["scores"])
    everything = [r for scores in typed.values() for r in scores]
    return {
        "queries": len(everything),
        **mean_scores(everything),
        "by_type": {t: {"queries": len(r), **mean_scores(r)} for t, r in sorted(typed.items())},
    }


def score_queries(
    queries: list[dict], search: Callable[[str], list[str]], k: int, progress: bool = False
) -> dict:
    """Run `search` on every non-null query and score it, overall, by type and by half."""
    rows = rank_queries(queries, search, k, progress)
    latencies = [row["latency_ms"] for row in rows]
    summary = summarize_rankings(rows)
    by_type = summary.pop("by_type")
    return {
        **summary,
        "latency_ms_p50": round(percentile(latencies, 0.5), 1) if latencies else 0.0,
        "latency_ms_p90": round(percentile(latencies, 0.9), 1) if latencies else 0.0,
        "by_type": by_type,
        "halves": {half: summarize_rankings(part) for half, part in split_halves(rows).items()},
    }


def score_query_answer(query: dict, answer: str, abstained: bool) -> dict:
    """One MultiHop-RAG answer scored: gold string and length for inference queries, abstention for all."""
    row = {"null": is_null(query), "abstained": abstained}
    if query.get("question_type") == "inference_query" and not row["null"]:
        row.update(gold_in_answer=gold_in_answer(answer, query.get("answer", "")), answer_words=answer_words(answer))
    return row


def summarize_query_answers(rows: list[dict]) -> dict:
    null = [r["abstained"] for r in rows if r["null"]]
    inference = [r for r in rows if "gold_in_answer" in r]
    return {
        "null_queries": len(null),
        "null_abstain_rate": rate(null),
        "false_abstain_rate": rate([r["abstained"] for r in rows if not r["null"]]),
        "inference_queries": len(inference),
        "gold_in_answer": rate([r["gold_in_answer"] for r in inference]),
        "answer_words": mean([r["answer_words"] for r in inference]),
    }


def answer_queries(chain, queries: list[dict], progress: bool = False) -> list[dict]:
    """Ask the chat every query (null ones too) and score each answer; rows carry their 1-based position."""
    from tqdm import tqdm

    rows = []
    for position, q in enumerate(tqdm(queries, desc="answering", unit="query", disable=not progress), 1):
        answer = chain.ask(q["query"])
        rows.append({"position": position, **score_query_answer(q, answer.text, answer.abstained)})
    return rows


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
        started = time.perf_counter()
        rows = answer_queries(eval_chain(settings, settings.k, store=chain.store), queries, progress)
        result.update(summarize_query_answers(rows), answering_seconds=round(time.perf_counter() - started, 1))
        for half, part in split_halves(rows).items():
            result["halves"][half].update(summarize_query_answers(part))
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


def is_answerable(turn: dict) -> bool:
    return turn.get("answer") != ABSTAIN and bool(turn.get("evidence"))


def score_turn_answer(turn: dict, answer: str, cited_passages: list[str]) -> dict:
    """The answer of one answerable turn against its gold evidence and gold answer."""
    evidence = turn["evidence"]
    return {
        "evidence_in_answer": evidence_in_answer(answer, evidence),
        "cited_evidence": cited_evidence(cited_passages, evidence),
        "gold_recall": gold_recall(answer, turn.get("answer", "")),
        "answer_words": answer_words(answer),
    }


def summarize_turns(turns: list[dict]) -> dict:
    """The conversation figures from scored turns (see `play_conversations` for what a turn holds).

    first / follow-up / bare follow-up hit@5 keep their first definitions: every answerable turn after
    the first is a follow-up, topic changes included; `topic_change_hit@5` scores the turns marked
    `new_topic` on their own, and `same_as_fresh` is over those turns too.
    """
    answerable = [t for t in turns if t["answerable"]]
    first = [t["hit"] for t in answerable if t["turn"] == 1]
    followup = [t["hit"] for t in answerable if t["turn"] > 1]
    return {
        "conversations": len({(t["file"], t["conversation"]) for t in turns}),
        "turns": len(turns),
        "hit@5": rate(first + followup),
        "first_hit@5": rate(first),
        "followup_hit@5": rate(followup),
        "followup_bare_hit@5": rate([t["bare_hit"] for t in answerable if "bare_hit" in t]),
        "topic_change_hit@5": rate([t["hit"] for t in answerable if t["new_topic"]]),
        "same_as_fresh": rate([t["same_as_fresh"] for t in turns if "same_as_fresh" in t]),
        "evidence_in_answer": rate([t["evidence_in_answer"] for t in answerable]),
        "cited_evidence": rate([t["cited_evidence"] for t in answerable]),
        "gold_recall": mean([t["gold_recall"] for t in answerable if t["gold_recall"] is not None]),
        "answer_words": mean([t["answer_words"] for t in answerable]),
        "abstain_turns": len(turns) - len(answerable),
        "abstain_rate": rate([t["abstained"] for t in turns if not t["answerable"]]),
        "false_abstain_rate": rate([t["abstained"] for t in answerable]),
    }


def summarize_with_halves(turns: list[dict]) -> dict:
    return {**summarize_turns(turns), "halves": {half: summarize_turns(part) for half, part in split_halves(turns).items()}}


def play_conversations(chain, conversations: list[dict], k: int = CONVERSATION_K, file: str = "") -> list[dict]:
    """Each conversation turn by turn, as the chat plays it: ask with the history, then add the turn to it.
    One scored record per turn; `position` is the conversation's 1-based place in its file."""
    turns = []
    for position, conv in enumerate(conversations, 1):
        history: list[Turn] = []
        for n, turn in enumerate(conv["turns"]):
            answer = chain.ask(turn["question"], history)
            record = {
                "file": file, "conversation": conv.get("id", ""), "position": position, "turn": n + 1,
                "query": answer.query, "abstained": answer.abstained,
                "answerable": is_answerable(turn), "new_topic": bool(turn.get("new_topic")),
            }
            bare = chain.retrieve(turn["question"])[1] if n and (record["answerable"] or record["new_topic"]) else None
            if record["new_topic"]:
                # A question that starts a new topic should get exactly the passages of a fresh conversation.
                record["same_as_fresh"] = _passage_ids(answer.passages) == _passage_ids(bare)
            if record["answerable"]:
                record["hit"] = evidence_hit([d.page_content for d in answer.passages[:k]], turn["evidence"])
                if bare is not None:
                    record["bare_hit"] = evidence_hit([d.page_content for d in bare[:k]], turn["evidence"])
                record.update(score_turn_answer(turn, answer.text, [c.text for c in answer.citations]))
            turns.append(record)
            history.append(Turn.after(turn["question"], answer))
    return turns


def _passage_ids(docs) -> list[str]:
    return [d.id or d.metadata.get("chunk_id", "") for d in docs]


# How people type questions, for `eval conversations --typed`: the same conversations asked otherwise.
TYPED = {
    "as-written": lambda q: q,
    "lowercase": str.lower,
    "no-question-mark": lambda q: q.rstrip(" ?"),
    "wrapped": lambda q: f"Can you tell me {q[:1].lower()}{q[1:]}",
}


def evaluate_conversations(settings: Settings, files: list[Path], corpus_paths: list[Path], progress: bool = False, typed: str = "as-written") -> dict:
    """Every file's conversations through one chain: figures per file and combined, each with its halves; every
    question rewritten as `typed` (a key of TYPED)."""
    if typed not in TYPED:
        raise EvalInputError(f"--typed must be one of {', '.join(TYPED)}, not {typed!r}")
    benches = {str(file): read_conversations(file) for file in files}
    rewrite = TYPED[typed]
    benches = {name: [{**c, "turns": [{**t, "question": rewrite(t["question"])} for t in c["turns"]]} for c in convs] for name, convs in benches.items()}
    chain = eval_chain(settings, max(settings.k, CONVERSATION_K))
    ensure_indexed(chain.store, load_articles(corpus_paths), progress)
    turns = {name: play_conversations(chain, conversations, file=name) for name, conversations in benches.items()}
    everything = [t for played in turns.values() for t in played]
    return {
        **summarize_with_halves(everything),
        "by_file": {name: summarize_with_halves(played) for name, played in turns.items()},
        "misses": [_miss(t) for t in everything if t.get("hit") is False],
        "typed": typed,
    }


def _miss(turn: dict) -> dict:
    keys = ("file", "conversation", "turn", "query", "abstained", "hit", "bare_hit")
    return {key: turn[key] for key in keys if key in turn}


# -- printing -------------------------------------------------------------------------------------
METRIC_ORDER = ("hits@4", "hits@10", "mrr@10", "map@10")


ANSWER_FIGURES = ("null_queries", "null_abstain_rate", "false_abstain_rate", "inference_queries", "gold_in_answer", "answer_words")
CONVERSATION_FIGURES = (
    "conversations", "turns", "hit@5", "first_hit@5", "followup_hit@5", "followup_bare_hit@5", "topic_change_hit@5",
    "same_as_fresh", "evidence_in_answer", "cited_evidence", "gold_recall", "answer_words", "abstain_turns",
    "abstain_rate", "false_abstain_rate",
)


def figure_table(names: tuple[str, ...], columns: list[tuple[str, dict]]) -> list[str]:
    """One row per figure, one column per result (e.g. all / odd half / even half)."""
    def cell(value) -> str:
        return "-" if value is None else (f"{value:.4f}" if isinstance(value, float) else str(value))

    widths = [max(12, len(title)) + 2 for title, _ in columns]
    lines = [f"{'':24}" + "".join(f"{title:>{w}}" for (title, _), w in zip(columns, widths))]
    lines += [f"{name:24}" + "".join(f"{cell(res.get(name)):>{w}}" for (_, res), w in zip(columns, widths)) for name in names]
    return lines


def with_halves(title: str, result: dict) -> list[tuple[str, dict]]:
    return [(title, result), *((f"{title} {half}", part) for half, part in result.get("halves", {}).items())]


def retrieval_table(result: dict) -> str:
    """A plain-text table: overall and per question type, each with its odd and even halves; product (and
    baseline, ratio); then the answer figures."""
    product = result
    metrics = [m for m in product if m.startswith(("hits@", "mrr@", "map@"))]
    columns = [("product", product)] + ([("baseline", result["baseline"])] if "baseline" in result else [])
    lines = []
    header = f"{'':24}{'queries':>8}" + "".join(f"{name + ' ' + m:>20}" for name, _ in columns for m in metrics)
    lines.append(header)
    for t in ["all"] + sorted(product["by_type"]):
        for half in ("", "odd", "even"):
            sources = [res["halves"][half] if half else res for _, res in columns]
            row_source = [res if t == "all" else res["by_type"].get(t, {}) for res in sources]
            n = row_source[0].get("queries", 0)
            label = f"{t} {half}".strip()
            lines.append(f"{label:24}{n:>8}" + "".join(f"{row.get(m, 0):>20.4f}" for row in row_source for m in metrics))
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
    if "null_abstain_rate" in product:
        lines.append(f"answers (the product's answerer, {product['answering_seconds']} s for all queries):")
        lines += figure_table(ANSWER_FIGURES, with_halves("all", product))
    return "\n".join(lines)


def conversation_table(result: dict) -> str:
    """Figures per file (each with its halves) and, for several files, combined."""
    columns = []
    files = result.get("by_file", {})
    for name, part in files.items():
        columns += with_halves(Path(name).stem, part)
    if len(files) != 1:
        columns += with_halves("combined", result)
    lines = figure_table(CONVERSATION_FIGURES, columns)
    for miss in result["misses"]:
        lines.append(f"miss: {Path(miss.get('file', '')).stem} {miss['conversation']} turn {miss['turn']}: searched for {miss['query']!r}")
    return "\n".join(lines)
