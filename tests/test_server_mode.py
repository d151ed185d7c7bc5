"""The same store against a real Chroma server (`chroma run`) on 127.0.0.1."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatbot.answering import Answer
from chatbot.app import ChatApp
from chatbot.chain import build_chain
from chatbot.followup import Turn
from chatbot.settings import Settings
from index.loaders import load_path
from index.store import ArticleStore, StoreUnreachable
from tests.conftest import ROOT, SEEDS
from tests.serving import free_port

pytestmark = pytest.mark.slow


class ChromaServer:
    """A `chroma run` child process on 127.0.0.1 that a test can kill and start again on the same port and folder."""

    def __init__(self, path: Path):
        self.path, self.port, self.proc = path, free_port(), None

    def start(self) -> None:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail("chroma server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.proc.terminate()
            server.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def chroma_server(chroma):
    return chroma.port


def test_index_and_ask_through_a_chroma_server(chroma_server, embeddings, tmp_path):
    settings = Settings(store=tmp_path / "local-bits", chroma_host="127.0.0.1", chroma_port=chroma_server)
    store = ArticleStore(settings, embeddings)
    report = store.add(load_path(SEEDS / "putin_rare_earths.txt"))
    assert len(report.added) == 1
    # A second client (another process, another machine) sees the same store and adds nothing.
    again = ArticleStore(settings, embeddings).add(load_path(SEEDS / "putin_rare_earths.txt"))
    assert again.unchanged == report.added
    answer = build_chain(settings, store=store).ask("What are rare earth minerals?")
    assert "17 elements" in answer.text and answer.citations[0].title.startswith("Putin")
    assert not (tmp_path / "local-bits" / "chroma").exists()


class Calls:
    """What the process asks the Chroma server for (a spy on the real HTTP collection)."""

    def __init__(self, collection):
        self.seen: list[tuple[str, dict]] = []
        for name in ("get", "query"):
            real = getattr(collection, name)
            setattr(collection, name, self.recording(name, real))

    def recording(self, name, real):
        def call(*args, **kwargs):
            self.seen.append((name, kwargs))
            return real(*args, **kwargs)
        return call


def test_server_mode_searches_on_the_server_and_holds_no_vectors(chroma_server, embeddings, tmp_path):
    settings = Settings(store=tmp_path / "local-bits", chroma_host="127.0.0.1", chroma_port=chroma_server, collection="novectors")
    store = ArticleStore(settings, embeddings)
    store.add(load_path(SEEDS / "multihop_sample.jsonl"))
    calls = Calls(store.chunks)
    chain = build_chain(settings, store=store)
    answer = chain.ask("What did TechCrunch report about the Steam Deck OLED?")
    assert answer.citations and "Steam Deck" in answer.text
    queries = [kw for name, kw in calls.seen if name == "query"]
    assert all("embeddings" not in (kw.get("include") or []) for _, kw in calls.seen)  # no vector ever read back
    # The outlet's sub-search ran on the server, restricted to the outlet's chunks (given by id, or by `where`).
    restricted = [kw["ids"] for kw in queries if kw.get("ids")]
    assert restricted or any("TechCrunch" in str(kw.get("where")) for kw in queries)
    for ids in restricted:
        assert {m["source"] for m in store.chunks.get(ids=ids, include=["metadatas"])["metadatas"]} == {"TechCrunch"}
    # The lexical side is this machine's own index, synced from the server's records.
    assert chain.retriever.lexical().folder.is_relative_to(store.lexical_path()) and len(chain.retriever.lexical()) == store.stats()["chunks"]


def test_chat_survives_a_server_restart(chroma, embeddings, tmp_path):
    settings = Settings(store=tmp_path / "local-bits", chroma_host="127.0.0.1", chroma_port=chroma.port, collection="restart")
    store = ArticleStore(settings, embeddings)
    store.add(load_path(SEEDS / "multihop_sample.jsonl"))
    chain = build_chain(settings, store=store)

    # A chat: the streamed answer, then a follow-up that uses the history.
    *pieces, answer = chain.stream("When does the Steam Deck OLED go on sale?")
    assert isinstance(answer, Answer) and pieces and "Steam Deck" in answer.citations[0].title
    history = [Turn("When does the Steam Deck OLED go on sale?", answer.query, answer.text, [c.article_id for c in answer.citations])]
    followup = chain.ask("How long does its battery last?", history)
    assert followup.citations

    chroma.kill()
    with pytest.raises(StoreUnreachable) as lost:
        chain.ask("What happened at the FTX trial of Sam Bankman-Fried?")
    message = str(lost.value)
    assert f"127.0.0.1:{chroma.port} is not reachable" in message and "chroma run" in message and "\n" not in message
    # The chat app shows that line as the assistant's reply (no traceback, no endless "Searching").
    *_, shown = ChatApp(chain).respond("Who runs OpenAI?", [], list(history), [], None, None, None)
    assert "is not reachable" in shown[0][-1]["content"] and shown[0][-1]["content"].startswith("⚠️")

    chroma.start()  # same folder, same port: the same client reconnects by itself
    again = chain.ask("What happened at the FTX trial of Sam Bankman-Fried?")
    assert again.citations and any("Bankman" in c.title or "FTX" in c.title for c in again.citations)


def test_a_server_that_is_down_at_start_is_one_clear_error(embeddings, tmp_path):
    port = free_port()
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{port} is not reachable"):
        ArticleStore(Settings(store=tmp_path, chroma_host="127.0.0.1", chroma_port=port), embeddings)


def test_the_cli_says_the_server_is_down_in_one_line(tmp_path):
    port = free_port()
    env = {**os.environ, "NEWSQA_CHROMA_HOST": "127.0.0.1", "NEWSQA_CHROMA_PORT": str(port), "NEWSQA_STORE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "chatbot", "ask", "Who runs OpenAI?"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        f"error: the Chroma server at 127.0.0.1:{port} is not reachable; start it with "
        f"`chroma run --path <folder> --host 127.0.0.1 --port {port}` and ask again"
    ]
