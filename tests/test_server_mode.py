"""The same store against a real Chroma server (`chroma run`) on 127.0.0.1."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from chatbot.chain import build_chain
from chatbot.settings import Settings
from index.loaders import load_path
from index.store import ArticleStore
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma-server")), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
