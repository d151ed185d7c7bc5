"""Serve the chat app on 127.0.0.1 for a test: a free port, closed afterwards."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from chatbot.app import create_app, launch
from chatbot.loadtest import free_port

__all__ = ["free_port", "served"]


@contextmanager
def served(chain, settings, **overrides) -> Iterator[str]:
    """The app over `chain`, served with `settings` (plus overrides) on a free port; yields its URL."""
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": free_port(), **overrides})
    app = launch(create_app(chain), settings, block=False)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        app.close()
