"""Shared fixtures: the real bundled embedding model, real Chroma stores in temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chatbot.chain import build_chain
from chatbot.settings import Settings
from index.embeddings import SentenceTransformerEmbeddings
from index.loaders import load_path
from index.store import ArticleStore

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
MULTIHOP = SHARED / "bench" / "multihop"
CONVERSATIONS = SHARED / "bench" / "conversations" / "dev_conversations.json"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """No test touches the user's real data folder or reads their NEWSQA_* settings."""
    for key in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSQA_STORE", str(tmp_path_factory.mktemp("default-store")))
    monkeypatch.setenv("NEWSQA_CONFIG", str(tmp_path_factory.mktemp("config") / "absent.toml"))
    # The live-news tests serve their pages and feeds on 127.0.0.1 (tests/local_site.py), an internal address;
    # the tests of the address checks (tests/test_url_policy.py) turn this off again.
    monkeypatch.setenv("NEWSQA_ALLOW_PRIVATE_URLS", "true")


@pytest.fixture(scope="session")
def embeddings() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(store=tmp_path / "store")


@pytest.fixture
def store(settings, embeddings) -> ArticleStore:
    """An empty store of its own for one test."""
    return ArticleStore(settings, embeddings)


@pytest.fixture(scope="session")
def seeded_settings(tmp_path_factory) -> Settings:
    return Settings(store=tmp_path_factory.mktemp("seeded") / "store")


@pytest.fixture(scope="session")
def seeded_store(seeded_settings, embeddings) -> ArticleStore:
    """The seed articles, indexed once per session. Tests must not write to it."""
    store = ArticleStore(seeded_settings, embeddings)
    report = store.add(load_path(SEEDS))
    assert not report.failed, report.failed
    return store


@pytest.fixture(scope="session")
def seeded_chain(seeded_settings, seeded_store):
    return build_chain(seeded_settings, store=seeded_store)
