"""The `newsqa` command as a user runs it: real subprocesses, a real store in a temp folder."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, SEEDS

pytestmark = pytest.mark.slow


def newsqa(store, *args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "--store", str(store), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "store"
    first = newsqa(store, "index", "add", str(SEEDS))
    assert "21 added" in first.stdout
    return store


def test_second_index_add_adds_nothing(cli_store):
    again = newsqa(cli_store, "index", "add", str(SEEDS))
    assert "0 added, 0 updated, 21 unchanged, 0 failed" in again.stdout
    assert json.loads(newsqa(cli_store, "index", "stats", "--json").stdout)["articles"] == 21


def test_ask_json_answers_from_the_seed_article(cli_store):
    out = json.loads(newsqa(cli_store, "ask", "What are rare earth minerals?", "--json").stdout)
    assert out["abstained"] is False and "17 elements" in out["answer"]
    cite = out["citations"][0]
    assert set(cite) >= {"n", "title", "source", "published_at", "url", "text"}
    assert cite["n"] == 1 and "Rare Earth" in cite["title"] and "17 elements" in cite["text"]


def test_list_and_remove(cli_store, tmp_path):
    rows = json.loads(newsqa(cli_store, "index", "list", "--json").stdout)
    assert len(rows) == 21 and {"id", "title", "source", "published_at", "chunks"} <= set(rows[0])
    missing = newsqa(cli_store, "index", "remove", "nope", check=False)
    assert missing.returncode == 1 and missing.stderr.strip() == "error: no article with id 'nope'; see `newsqa index list`"


def test_bad_files_fail_clearly_and_good_ones_still_go_in(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("Harbour expands\nThe harbour authority approved a new container terminal on Monday.")
    (tmp_path / "in" / "bad.json").write_text("{not json")
    (tmp_path / "in" / "bin.txt").write_bytes(b"\x00\xff\x00")
    result = newsqa(tmp_path / "store", "index", "add", str(tmp_path / "in"), str(tmp_path / "nowhere.txt"), check=False)
    assert result.returncode == 1
    errors = [l for l in result.stderr.splitlines() if l.startswith("error:")]
    assert len(errors) == 3 and "Traceback" not in result.stderr
    assert "1 added" in result.stdout and "3 failed" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["ask", ""], "the question is empty"),
        (["ask", "x", "--since", "yesterday-ish"], "is not a date; use YYYY-MM-DD"),
        (["ask", "x", "--source", "Nowhere Times"], "unknown outlet 'Nowhere Times'"),
    ],
)
def test_bad_questions_get_one_line(cli_store, args, message):
    result = newsqa(cli_store, *args, check=False)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr


def test_empty_store_says_what_to_do_or_indexes_seeds(tmp_path):
    empty = newsqa(tmp_path / "s", "ask", "What are rare earth minerals?", check=False)
    assert empty.returncode == 1 and "the store is empty" in empty.stderr
    seeded = newsqa(tmp_path / "s", "ask", "What are rare earth minerals?", "--seeds")
    assert "17 elements" in seeded.stdout


def test_chat_uses_history_for_followups(cli_store):
    talk = "What share of adults and children showed signs of addiction to ultra-processed foods?\nWho led the research?\nexit\n"
    result = subprocess.run(
        [sys.executable, "-m", "chatbot", "--store", str(cli_store), "chat"],
        cwd=ROOT, input=talk, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0
    assert "14%" in result.stdout and "(searched for: Who led the research?" in result.stdout
    assert "Gearhardt" in result.stdout.split("(searched for:")[1]
