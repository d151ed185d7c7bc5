"""The MultiHop-RAG scorer on hand-made cases, and the two eval commands end to end on a small corpus."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chatbot.evaluation import (
    answer_words,
    cited_evidence,
    evidence_hit,
    evidence_in_answer,
    gold_in_answer,
    gold_recall,
    mean_scores,
    score_queries,
    score_query_answer,
    score_ranking,
    split_halves,
    squash,
    summarize_query_answers,
    summarize_turns,
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


def test_halves_split_by_one_based_position():
    items = [{"position": n} for n in (1, 2, 3, 4, 5)]
    halves = split_halves(items)
    assert [i["position"] for i in halves["odd"]] == [1, 3, 5]
    assert [i["position"] for i in halves["even"]] == [2, 4]


def test_score_queries_reports_halves_by_position_in_the_file():
    queries = [
        {"query": "q1", "question_type": "inference_query", "evidence_list": [{"fact": FACT}]},
        {"query": "q2", "question_type": "null_query", "evidence_list": []},
        {"query": "q3", "question_type": "inference_query", "evidence_list": [{"fact": "Nowhere to be found."}]},
        {"query": "q4", "question_type": "comparison_query", "evidence_list": [{"fact": FACT}]},
    ]
    result = score_queries(queries, lambda q: [FACT], k=10)
    # Odd positions: q1 (found) and q3 (not); even: q2 is null, q4 (found).
    assert result["halves"]["odd"]["queries"] == 2 and result["halves"]["odd"]["hits@10"] == 0.5
    assert result["halves"]["even"]["queries"] == 1 and result["halves"]["even"]["hits@10"] == 1.0
    assert result["halves"]["even"]["by_type"] == {"comparison_query": {"queries": 1, "hits@4": 1.0, "hits@10": 1.0, "mrr@10": 1.0, "map@10": 1.0}}


# -- answer scoring ----------------------------------------------------------------------------------
GOLD = [{"title": "t", "text": "raised rates by half a point"}]


def test_evidence_in_answer_ignores_markers_and_spacing():
    assert evidence_in_answer("The bank raised rates by half [1] a\npoint, it said [2].", GOLD)
    assert not evidence_in_answer("The bank raised rates by a full point [1].", GOLD)
    assert not evidence_in_answer("The indexed articles don't say.", GOLD)


def test_cited_evidence_looks_in_the_cited_passages_only():
    assert cited_evidence(["Other news.", f"Markets fell. {FACT}"], GOLD)
    assert not cited_evidence(["Other news."], GOLD)
    assert not cited_evidence([], GOLD)


def test_gold_recall_is_the_share_of_gold_content_words_in_the_answer():
    gold = "Richard Teng becomes the new CEO."  # content words: richard, teng, becomes, new, ceo
    assert gold_recall("Richard Teng [1] is the new CEO.", gold) == pytest.approx(4 / 5)
    assert gold_recall("Nobody knows.", gold) == 0.0
    assert gold_recall("anything", "The of a.") is None


def test_answer_words_leave_markers_out():
    assert answer_words("Teng is CEO [1]. He ran FSRA [2][3].") == 6
    assert answer_words("") == 0


def test_gold_in_answer_is_case_and_punctuation_insensitive_on_word_boundaries():
    assert gold_in_answer("It was Sam Bankman-Fried [1].", "sam bankman fried")
    assert gold_in_answer("The answer is YES, according to [2].", "Yes")
    assert not gold_in_answer("That is not what happened.", "No")
    assert not gold_in_answer("Samuel spoke.", "Sam")
    assert not gold_in_answer("Anything at all.", "")


def test_query_answers_summarised_by_kind_of_query():
    inference = {"query": "q", "question_type": "inference_query", "answer": "OpenAI", "evidence_list": [{"fact": "f"}]}
    comparison = {"query": "q", "question_type": "comparison_query", "answer": "Yes", "evidence_list": [{"fact": "f"}]}
    null = {"query": "q", "question_type": "null_query", "answer": "Insufficient information.", "evidence_list": []}
    rows = [
        score_query_answer(inference, "OpenAI's board fired him [1].", abstained=False),
        score_query_answer(inference, "The indexed articles don't say.", abstained=True),
        score_query_answer(comparison, "Yes [1].", abstained=False),
        score_query_answer(null, "The indexed articles don't say.", abstained=True),
        score_query_answer(null, "Something unrelated [1].", abstained=False),
    ]
    summary = summarize_query_answers(rows)
    assert summary["null_queries"] == 2 and summary["null_abstain_rate"] == 0.5
    assert summary["false_abstain_rate"] == pytest.approx(round(1 / 3, 4))
    assert summary["inference_queries"] == 2 and summary["gold_in_answer"] == 0.5
    assert summary["answer_words"] == pytest.approx((4 + 5) / 2)


def _turn(turn, answerable=True, **fields):
    record = {"file": "f", "conversation": "c", "position": 1, "turn": turn, "abstained": False,
              "answerable": answerable, "new_topic": False}
    return {**record, **fields}


def _answered(turn, hit, **fields):
    scored = {"evidence_in_answer": False, "cited_evidence": hit, "gold_recall": 0.5, "answer_words": 10}
    return _turn(turn, hit=hit, **{**scored, **fields})


def test_conversation_summary_keeps_follow_up_figures_and_adds_topic_changes():
    turns = [
        _answered(1, True, evidence_in_answer=True, gold_recall=1.0, answer_words=20),
        _answered(2, False, bare_hit=True),
        _answered(3, True, bare_hit=True, new_topic=True, same_as_fresh=False),
        _answered(2, False, bare_hit=False, new_topic=True, same_as_fresh=True),
        _turn(3, answerable=False, abstained=True),
        _turn(3, answerable=False, abstained=False),
    ]
    summary = summarize_turns(turns)
    assert summary["first_hit@5"] == 1.0
    # Topic changes still count as follow-ups, so the first definition is unchanged.
    assert summary["followup_hit@5"] == pytest.approx(round(1 / 3, 4))
    assert summary["followup_bare_hit@5"] == pytest.approx(round(2 / 3, 4))
    assert summary["topic_change_hit@5"] == 0.5
    assert summary["same_as_fresh"] == 0.5
    assert summary["evidence_in_answer"] == 0.25 and summary["cited_evidence"] == 0.5
    assert summary["gold_recall"] == pytest.approx(0.625) and summary["answer_words"] == pytest.approx(12.5)
    assert summary["abstain_turns"] == 2 and summary["abstain_rate"] == 0.5 and summary["false_abstain_rate"] == 0.0


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
    for key in ("hits@4", "hits@10", "mrr@10", "map@10", "mean_chunk_chars", "latency_ms_p50", "null_abstain_rate",
                "false_abstain_rate", "gold_in_answer", "answer_words"):
        assert key in result
    assert result["inference_queries"] == 4 and 0 < result["answer_words"]
    # Five queries: positions 1, 3, 5 (the null one) are odd; 2, 4 even.
    assert result["halves"]["odd"]["queries"] == 2 and result["halves"]["odd"]["null_queries"] == 1
    assert result["halves"]["even"]["queries"] == 2 and result["halves"]["even"]["null_queries"] == 0
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
    assert "all odd" in again.stdout and "gold_in_answer" in again.stdout


@pytest.mark.slow
def test_eval_conversations_command_plays_follow_ups(small_bench, tmp_path):
    conversations = json.loads(CONVERSATIONS.read_text(encoding="utf-8"))
    picked = [c for c in conversations if any(t["answer"] == "ABSTAIN" for t in c["turns"])][:1] + conversations[:1]
    file = tmp_path / "conversations.json"
    file.write_text(json.dumps(picked), encoding="utf-8")
    second = tmp_path / "second.json"
    changed = json.loads(json.dumps(conversations[1:2]))
    changed[0]["turns"][1] = {**conversations[2]["turns"][0], "new_topic": True}
    second.write_text(json.dumps(changed), encoding="utf-8")
    done = _run("eval", "conversations", "--file", str(file), "--file", str(second), "--corpus", str(small_bench / "corpus.json"),
                "--store", str(small_bench / "store"), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["turns"] == 6 + len(changed[0]["turns"])
    assert result["abstain_turns"] == 1
    for key in ("first_hit@5", "followup_hit@5", "followup_bare_hit@5", "abstain_rate", "false_abstain_rate",
                "evidence_in_answer", "cited_evidence", "gold_recall", "topic_change_hit@5", "same_as_fresh"):
        assert result[key] is not None and 0.0 <= result[key] <= 1.0, key
    assert result["answer_words"] > 0
    # The conversations' articles are among the seeds, which the command indexes too.
    assert result["first_hit@5"] > 0
    by_file = result["by_file"]
    assert by_file[str(file)]["turns"] == 6 and by_file[str(second)]["turns"] == len(changed[0]["turns"])
    assert by_file[str(second)]["topic_change_hit@5"] is not None and by_file[str(file)]["topic_change_hit@5"] is None
    # Halves by conversation: the first file's two conversations split one and one.
    assert by_file[str(file)]["halves"]["odd"]["conversations"] == 1 == by_file[str(file)]["halves"]["even"]["conversations"]
    table = _run("eval", "conversations", "--file", str(file), "--file", str(second), "--corpus", str(small_bench / "corpus.json"),
                 "--store", str(small_bench / "store"))
    assert table.returncode == 0, table.stderr
    assert "combined odd" in table.stdout and "same_as_fresh" in table.stdout
    lower = _run("eval", "conversations", "--file", str(file), "--corpus", str(small_bench / "corpus.json"),
                 "--store", str(small_bench / "store"), "--json", "--typed", "lowercase")
    assert lower.returncode == 0, lower.stderr
    lowered = json.loads(lower.stdout)
    assert lowered["typed"] == "lowercase" and result["typed"] == "as-written" and lowered["turns"] == 6 and lowered["first_hit@5"] > 0


def test_eval_commands_name_a_bad_file(tmp_path):
    bad = tmp_path / "queries.json"
    bad.write_text("{not json", encoding="utf-8")
    done = _run("eval", "retrieval", "--corpus", str(tmp_path / "missing.json"), "--queries", str(bad), "--store", str(tmp_path / "s"))
    assert done.returncode == 1
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    done = _run("eval", "conversations", "--file", str(tmp_path / "nope.json"), "--store", str(tmp_path / "s"))
    assert done.returncode == 1
    assert "nope.json" in done.stderr and "Traceback" not in done.stderr
    done = _run("eval", "conversations", "--file", str(tmp_path / "nope.json"), "--store", str(tmp_path / "s"), "--typed", "shouting")
    assert done.returncode == 1 and "--typed must be one of" in done.stderr and "Traceback" not in done.stderr
