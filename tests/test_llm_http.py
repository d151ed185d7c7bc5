"""The openai backend over real HTTP: a scripted OpenAI-compatible server on 127.0.0.1 that
langchain-openai's ChatOpenAI talks to, for answers, streaming (SSE), follow-up rewriting, errors
(timeout, 500, refused connection) and the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chatbot.answering import Notice
from chatbot.chain import build_chain
from chatbot.settings import Settings
from tests.serving import free_port

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "When does the Steam Deck OLED go on sale?"
PASSAGE = re.compile(r'<passage n="(\d+)">(.*?)</passage>', re.DOTALL)


def cite_the_release_date(request: dict) -> str:
    """Like a model that read the passages: cites the one with the date, and one that does not exist."""
    user = request["messages"][-1]["content"]
    n = next(n for n, text in PASSAGE.findall(user) if "November 16" in text)
    return f"The Steam Deck OLED will be available to order on November 16 [{n}]. Valve also sells a toaster [9]."


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.reset()

    def reset(self):
        self.reply, self.status, self.delay, self.requests = cite_the_release_date, 200, 0.0, []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request["authorization"] = self.headers.get("Authorization")
        self.server.requests.append((self.path, request))
        time.sleep(self.server.delay)
        try:
            if self.server.status != 200:
                return self._json(self.server.status, {"error": {"message": "scripted failure", "type": "server_error"}})
            text = self.server.reply(request)
            if self.path == "/api/chat":  # Ollama's API: newline-delimited JSON
                return self._ollama(text, request)
            if not request.get("stream"):
                message = {"role": "assistant", "content": text}
                return self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": request["model"],
                                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for token in re.findall(r"\S+\s*", text):
                self._event({"content": token}, None, request["model"])
            self._event({}, "stop", request["model"])
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _ollama(self, text: str, request: dict):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        tokens = re.findall(r"\S+\s*", text) if request.get("stream", True) else [text]
        for token in tokens + [""]:
            line = {"model": request["model"], "created_at": "2023-11-16T00:00:00Z",
                    "message": {"role": "assistant", "content": token}, "done": not token}
            if not token:
                line["done_reason"] = "stop"
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()

    def _event(self, delta: dict, finish: str | None, model: str):
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    srv = ScriptedServer()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def openai_server(server):
    server.reset()
    return server


def openai_settings(seeded_settings, base_url: str, **overrides) -> Settings:
    fields = dict(llm="openai", llm_base_url=base_url, llm_model="scripted-model", llm_timeout=5.0, llm_max_retries=0)
    return seeded_settings.model_copy(update=fields | overrides)


def test_openai_backend_streams_an_answer_with_verified_citations(openai_server, seeded_settings, seeded_store):
    chain = build_chain(openai_settings(seeded_settings, openai_server.base_url), store=seeded_store)
    *pieces, answer = list(chain.stream(QUESTION))
    assert len(pieces) > 5 and not any(isinstance(p, Notice) for p in pieces)
    assert answer.text.startswith("The Steam Deck OLED will be available to order on November 16 [1].")
    assert [c.n for c in answer.citations] == [1] and "November 16" in answer.citations[0].text
    assert answer.unverified == ["Valve also sells a toaster."] and not answer.notice
    path, request = openai_server.requests[0]
    assert path == "/v1/chat/completions" and request["model"] == "scripted-model" and request["stream"] is True
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert request["authorization"] == "Bearer unused"  # a local server needs no key; the client sends a placeholder


def test_openai_backend_rewrites_follow_ups(openai_server, seeded_settings, seeded_store):
    from chatbot.followup import Turn

    openai_server.reply = lambda request: "How much does the Steam Deck OLED cost?"
    chain = build_chain(openai_settings(seeded_settings, openai_server.base_url), store=seeded_store)
    query, _ = chain.retrieve("How much does it cost?", [Turn(QUESTION, QUESTION, "On November 16 [1].")])
    assert query == "How much does the Steam Deck OLED cost?"
    assert openai_server.requests[0][1].get("stream") in (None, False)  # a plain completion


def test_ollama_backend_streams_an_answer_over_http(openai_server, seeded_settings, seeded_store):
    settings = seeded_settings.model_copy(update=dict(llm="ollama", llm_base_url=openai_server.ollama_url, llm_model="llama3.2"))
    *pieces, answer = list(build_chain(settings, store=seeded_store).stream(QUESTION))
    assert len(pieces) > 5 and not answer.notice
    assert answer.text.startswith("The Steam Deck OLED will be available to order on November 16 [1].")
    path, request = openai_server.requests[0]
    assert path == "/api/chat" and request["model"] == "llama3.2"


@pytest.fixture(scope="module")
def extractive_text(seeded_chain) -> str:
    return seeded_chain.ask(QUESTION).text


@pytest.mark.parametrize("failure", ["timeout", "http 500", "refused"])
def test_openai_failures_fall_back_to_the_extractive_answer_with_one_notice(failure, openai_server, seeded_settings, seeded_store, extractive_text):
    base_url, timeout = openai_server.base_url, 10.0  # generous: a loaded machine must not turn a 500 into a timeout
    if failure == "timeout":
        openai_server.delay, timeout = 2.0, 0.5
    elif failure == "http 500":
        openai_server.status = 500
    else:
        base_url = f"http://127.0.0.1:{free_port()}/v1"
    chain = build_chain(openai_settings(seeded_settings, base_url, llm_timeout=timeout), store=seeded_store)
    pieces = list(chain.stream(QUESTION))
    notices, answer = [p for p in pieces if isinstance(p, Notice)], pieces[-1]
    assert len(notices) == 1 and answer.notice == notices[0]
    expected = {"timeout": "Request timed out", "http 500": "Error code: 500", "refused": "Connection refused"}[failure]
    assert expected in answer.notice and "showing the extractive answer" in answer.notice
    assert answer.text == extractive_text and answer.citations


def cli_env(seeded_settings, base_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSQA_", "OPENAI_"))}
    return env | {
        "NEWSQA_STORE": str(seeded_settings.store),
        "NEWSQA_LLM": "openai",
        "NEWSQA_LLM_BASE_URL": base_url,
        "NEWSQA_LLM_MODEL": "scripted-model",
    }


@pytest.mark.slow
def test_cli_ask_json_returns_the_models_answer_with_verified_citations(openai_server, seeded_settings, seeded_store):
    run = subprocess.run(
        [sys.executable, "-m", "chatbot", "ask", "--json", QUESTION],
        cwd=ROOT, env=cli_env(seeded_settings, openai_server.base_url), capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["answer"] == "The Steam Deck OLED will be available to order on November 16 [1]. Valve also sells a toaster (unverified)."
    assert [c["n"] for c in out["citations"]] == [1] and "November 16" in out["citations"][0]["text"]
    assert out["unverified"] == ["Valve also sells a toaster."] and out["notice"] == ""


@pytest.mark.slow
def test_cli_chat_streams_the_answer(openai_server, seeded_settings, seeded_store):
    run = subprocess.run(
        [sys.executable, "-m", "chatbot", "chat"],
        input=f"{QUESTION}\nexit\n",
        cwd=ROOT, env=cli_env(seeded_settings, openai_server.base_url), capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "available to order on November 16 [1]" in run.stdout
    assert "Checked answer: The Steam Deck OLED will be available to order on November 16 [1]. Valve also sells a toaster (unverified)." in run.stdout
    assert "\nSources:\n[1] " in run.stdout
