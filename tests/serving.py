"""Serve the chat app (and its OpenAI-compatible API at /v1) on 127.0.0.1 for a test: a free port, closed afterwards.
Tests take `free_port` from here."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

import httpx

from chatbot.api import openai_api
from chatbot.app import create_app, launch
from chatbot.loadtest import free_port

__all__ = ["free_port", "served", "wait_until_served"]


@contextmanager
def served(chain, settings, **overrides) -> Iterator[str]:
    """The app over `chain`, served with `settings` (plus overrides) on a free port; yields its URL."""
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": free_port(), **overrides})
    app = launch(create_app(chain), settings, block=False, api=openai_api(chain, settings))
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        app.close()


def wait_until_served(server: subprocess.Popen, port: int, tries: int = 240) -> None:
    """Wait for a `newsqa serve` child process to answer on 127.0.0.1:port; fail with its stderr if it exits."""
    for _ in range(tries):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/config").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read()
        time.sleep(0.5)
    raise AssertionError(f"nothing served on 127.0.0.1:{port}")
