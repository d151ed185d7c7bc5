"""The MultiHop-RAG scorer on hand-made cases, and the two eval commands end to end on a small corpus."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chatbot.evaluation import (
    evidence_hit,
    mean_scores,
    score_queries,
    score_ranking,
    squash,
)
from tests.conftest import CONVERSATIONS, ROOT, SEEDS

FACT = "The central bank raised rates by half a point."


# -- the scorer ------------------------------------------------------------------------------------
def test_hit_at_rank_three_gives_mrr_one_third():
    chunks = ["nothing here", "still nothing", f"Markets fell. {FACT} Stocks slid.", "more"]
    scores = score_ranking(chunks, [FACT])
    assert scores["mrr@10"] == pytest.approx(1 / 3)
    assert scores["hits@4"] == 1.0 and scores["hits@10"] == 1.0
    assert scores["map@10"] == pytest.approx(1 / 3)


def test_hit_below_four_counts_for_hits_at_ten_only():
    chunks = ["x"] * 6 + [FACT] + ["y"] * 3
    scores = score_ranking(chunks, [FACT])
    assert scores["hits@4"] == 0.0
    assert scores["hits@10"] == 1.0
    assert scores["mrr@10"] == pytest.approx(1 / 7)


def test_no_hit_within_depth_scores_zero():
    chunks = ["x"] * 10 + [FACT]
    assert score_ranking(chunks, [FACT]) == {"hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}


def test_spaces_and_newlines_are_ignored_on_both_sides():
    chunk = "The central bank\nraised rates by   half a\n\npoint."
    assert score_ranking([chunk], [FACT])["hits@4"] == 1.0
    assert squash(" a b\nc ") == "abc"
    # Other characters still count: a changed word is no match.
    assert score_ranking(["The central bank raised rates by a full point."], [FACT])["hits@4"] == 0.0


def test_map_counts_each_fact_once_at_the_rank_it_is_first_found():
    facts = ["Alpha rose sharply.", "Beta fell slightly.", "Gamma was unchanged."]
    chunks = ["Alpha rose sharply.", "noise", "Alpha rose sharply. Beta fell slightly.", "noise"]
    scores = score_ranking(chunks, facts)
    # Alpha at rank 1 (1/1), Beta at rank 3 (1/3), Gamma never: (1 + 1/3) / min(3, 10).
    assert scores["map@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert scores["mrr@10"] == 1.0


def test_map_with_two_facts_in_one_chunk():
    facts = ["Alpha rose sharply.", "Beta fell slightly."]
    scores = score_ranking(["noise", "Alpha rose sharply. Beta fell slightly."], facts)
    assert scores["map@10"] == pytest.approx((2 / 2) / 2)


def test_null_queries_are_skipped_and_types_are_reported():
    queries = [
        {"query": "q1", "question_type": "inference_query", "evidence_list": [{"fact": FACT}]},
        {"query": "q2", "question_type": "comparison_query", "evidence_list": [{"fact": "Nowhere to be found."}]},
        {"query": "q3", "question_type": "null_query", "evidence_list": []},
    ]
    asked = []

    def search(query):
        asked.append(query)
        return ["filler", FACT]

    result = score_queries(queries, search, k=10)
    assert asked == ["q1", "q2"]
    assert result["queries"] == 2
    assert result["hits@10"] == 0.5
    assert result["mrr@10"] == 0.25
    assert result["by_type"]["inference_query"]["mrr@10"] == 0.5
    assert result["by_type"]["comparison_query"]["hits@10"] == 0.0
    assert "null_query" not in result["by_type"]


def test_helpers():
    assert mean_scores([{"a": 1.0}, {"a": 0.0}]) == {"a": 0.5}
    assert evidence_hit(["a b c", "The central bank raised\nrates"], [{"text": "bank raised rates"}])
    assert not evidence_hit(["a b c"], [{"text": "bank raised rates"}])


# -- the commands, end to end ------------------------------------------------------------------------
def _seed_articles() -> list[dict]:
    return [json.loads(line) for line in (SEEDS / "multihop_sample.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def _first_sentence(body: str) -> str:
    return body.strip().split("\n")[0].split(". ")[0].strip()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatbot", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    """Four seed articles as a MultiHop-RAG corpus, with a query per article (its opening fact) and a null query."""
    folder = tmp_path_factory.mktemp("bench")
    articles = _seed_articles()[:4]
    (folder / "corpus.json").write_text(json.dumps(articles), encoding="utf-8")
    queries = [
        {
            "query": f"What did {a['source']} report in '{a['title']}'?",
            "question_type": "inference_query",
            "evidence_list": [{"title": a["title"], "source": a["source"], "fact": _first_sentence(a["body"])}],
        }
        for a in articles
    ]
    queries.append({"query": "Which letter ends the name of the CEO of Sygic?", "question_type": "null_query", "evidence_list": []})
    (folder / "queries.json").write_text(json.dumps(queries), encoding="utf-8")
    return folder


@pytest.mark.slow
def test_eval_retrieval_command_scores_the_product_and_the_baseline(small_bench):
    store = small_bench / "store"
    done = _run("eval", "retrieval", "--corpus", str(small_bench / "corpus.json"), "--queries", str(small_bench / "queries.json"),
                "--store", str(store), "--baseline", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["queries"] == 4 and result["null_queries"] == 1
    for key in ("hits@4", "hits@10", "mrr@10", "map@10", "mean_chunk_chars", "latency_ms_p50", "abstain_rate", "false_abstain_rate"):
        assert key in result
    # Each query names its article's title and outlet: the product finds every opening fact.
    assert result["hits@10"] == 1.0
    assert 0 < result["mean_chunk_chars"] <= 1100
    assert set(result["by_type"]) == {"inference_query"}
    assert result["baseline"]["queries"] == 4
    assert result["baseline"]["mean_chunk_chars"] <= 1000
    assert set(result["ratio"]) == {"hits@4", "hits@10", "mrr@10", "map@10"}
    assert (store.parent / "store-tutorial-baseline" / "corpus.sha1").exists()

    # A second run re-uses both stores and prints the table.
    again = _run("eval", "retrieval", "--corpus", str(small_bench / "corpus.json"), "--queries", str(small_bench / "queries.json"),
                 "--store", str(store), "--k", "4")
    assert again.returncode == 0, again.stderr
    assert "inference_query" in again.stdout and "mrr@4" in again.stdout


@pytest.mark.slow
def test_eval_conversations_command_plays_follow_ups(small_bench, tmp_path):
    conversations = json.loads(CONVERSATIONS.read_text(encoding="utf-8"))
    picked = [c for c in conversations if any(t["answer"] == "ABSTAIN" for t in c["turns"])][:1] + conversations[:1]
    file = tmp_path / "conversations.json"
    file.write_text(json.dumps(picked), encoding="utf-8")
    done = _run("eval", "conversations", "--file", str(file), "--corpus", str(small_bench / "corpus.json"),
                "--store", str(small_bench / "store"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["turns"] == 6
    assert result["abstain_turns"] == 1
    for key in ("first_hit@5", "followup_hit@5", "followup_bare_hit@5", "abstain_rate", "false_abstain_rate"):
        assert result[key] is not None and 0.0 <= result[key] <= 1.0
    # The conversations' articles are among the seeds, which the command indexes too.
    assert result["first_hit@5"] > 0


def test_eval_commands_name_a_bad_file(tmp_path):
    bad = tmp_path / "queries.json"
    bad.write_text("{not json", encoding="utf-8")
    done = _run("eval", "retrieval", "--corpus", str(tmp_path / "missing.json"), "--queries", str(bad), "--store", str(tmp_path / "s"))
    assert done.returncode == 1
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    done = _run("eval", "conversations", "--file", str(tmp_path / "nope.json"), "--store", str(tmp_path / "s"))
    assert done.returncode == 1
    assert "nope.json" in done.stderr and "Traceback" not in done.stderr
