"""The served app through gradio_client: per-session histories, the `chat` API, access control."""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gradio_client import Client

from chatbot.followup import Turn
from chatbot.rendering import api_markdown

from tests.conftest import ROOT
from tests.serving import free_port, served, wait_until_served

CONVERSATIONS = {
    "minerals": ["What are rare earth minerals?", "How important are they to Russia’s economy?"],
    "food": ["What share of adults showed signs of addiction to ultra-processed foods?", "Where was the study published?"],
}


@pytest.fixture(scope="module")
def url(seeded_chain, seeded_settings):
    with served(seeded_chain, seeded_settings) as url:
        yield url


def converse(url: str, questions: list[str]) -> tuple[list[str], list[dict]]:
    client = Client(url, verbose=False)
    answers = [client.predict(q, api_name="/chat") for q in questions]
    return answers, client.predict(api_name="/history")


def test_concurrent_sessions_keep_their_own_history_and_match_the_chain(url, seeded_chain):
    with ThreadPoolExecutor(len(CONVERSATIONS)) as pool:
        results = dict(zip(CONVERSATIONS, pool.map(lambda qs: converse(url, qs), CONVERSATIONS.values())))
    for name, questions in CONVERSATIONS.items():
        answers, turns = results[name]
        assert [t["question"] for t in turns] == questions
        # The chain, given the same history, gives the same answer: no session saw the other's turns.
        history: list[Turn] = []
        for question, got, turn in zip(questions, answers, turns):
            expected = seeded_chain.ask(question, history)
            assert got == api_markdown(expected) and got.startswith(expected.text)
            assert turn["query"] == expected.query
            history.append(Turn(question, expected.query, expected.text, [c.article_id for c in expected.citations]))
    minerals, food = results["minerals"][0], results["food"][0]
    assert "17 elements" in minerals[0] and "[1] Putin Signals Willingness" in minerals[0]
    assert "journal BMJ" in food[1] and "[1] Ultraprocessed foods" in food[1]


def test_api_reports_a_bad_question_in_one_line(url):
    with pytest.raises(Exception, match="the question is empty"):
        Client(url, verbose=False).predict("   ", api_name="/chat")


def test_nothing_is_served_without_the_password(seeded_chain, seeded_settings):
    with served(seeded_chain, seeded_settings, auth_user="reader", auth_password="s3cret") as url:
        assert httpx.get(url + "config").status_code == 401
        assert httpx.post(url + "gradio_api/queue/join", json={}).status_code in (401, 403)
        with pytest.raises(Exception):
            Client(url, verbose=False)
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        assert "17 elements" in client.predict("What are rare earth minerals?", api_name="/chat")


@pytest.mark.slow
def test_serve_command_serves_the_store(seeded_settings, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(seeded_settings.store, store)
    port = free_port()
    cmd = [sys.executable, "-m", "chatbot", "--store", str(store), "serve", "--port", str(port)]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_served(server, port)
        answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict("What are rare earth minerals?", api_name="/chat")
        assert "17 elements" in answer
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_serve_refuses_an_empty_store_in_one_line(tmp_path):
    cmd = [sys.executable, "-m", "chatbot", "--store", str(tmp_path / "empty"), "serve", "--port", str(free_port())]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: the store is empty: index articles with `newsqa index add PATH`, or pass --seeds to index seeds/"
    )
