"""The second dev set of conversations (tests/data/conversations.json): its shape, and every evidence
text copied exactly from its article, so a miss in `newsqa eval conversations` is the product's miss."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chatbot.evaluation import ABSTAIN, read_conversations
from index.loaders import load_path
from tests.conftest import MULTIHOP, ROOT, SEEDS

DATA = ROOT / "tests" / "data" / "conversations.json"
KINDS = {"reason", "number", "person", "date", "place", "other"}


@pytest.fixture(scope="module")
def conversations() -> list[dict]:
    return read_conversations(DATA)


def _turns(conversations):
    return [t for c in conversations for t in c["turns"]]


def test_size_and_mix(conversations):
    assert len(conversations) >= 36 and all(len(c["turns"]) == 3 for c in conversations)
    assert len({c["id"] for c in conversations}) == len(conversations)
    turns = _turns(conversations)
    kinds = Counter(t["kind"] for t in turns)
    assert set(kinds) == KINDS, kinds
    assert sum(t["answer"] == ABSTAIN for t in turns) >= 8
    assert sum(bool(t.get("new_topic")) for t in turns) >= 8
    assert any(t.get("returns_to_topic") for t in turns)


def test_turn_shape(conversations):
    for c in conversations:
        first, *later = c["turns"]
        assert not first.get("new_topic") and not first.get("returns_to_topic"), c["id"]
        first_texts = [e["text"] for e in first["evidence"]]
        for turn in c["turns"]:
            assert (turn["answer"] == ABSTAIN) == (not turn["evidence"]), (c["id"], turn["question"])
            for e in turn["evidence"]:
                assert 10 <= len(e["text"]) <= 200, (c["id"], e["text"])
        for turn in later:
            # The README's rule: a follow-up's evidence never overlaps the first turn's.
            for e in turn["evidence"]:
                assert not any(e["text"] in f or f in e["text"] for f in first_texts), (c["id"], e["text"])


def _bodies() -> dict[str, list[str]]:
    bodies: dict[str, list[str]] = {}
    for article in load_path(SEEDS / "putin_rare_earths.txt"):
        bodies.setdefault(article.title, []).append(article.body)
    corpus = MULTIHOP / "corpus.json"
    if corpus.exists():
        for record in json.loads(corpus.read_text(encoding="utf-8")):
            bodies.setdefault(record["title"], []).append(record["body"])
    return bodies


def test_evidence_is_copied_exactly_from_its_article(conversations):
    bodies = _bodies()
    evidence = [e for t in _turns(conversations) for e in t["evidence"]]
    if not (MULTIHOP / "corpus.json").exists():
        evidence = [e for e in evidence if e["title"] in bodies]  # the seed's turns only
        assert evidence, "no evidence from the seed article"
    for e in evidence:
        assert e["title"] in bodies, e["title"]
        assert any(e["text"] in body for body in bodies[e["title"]]), e["text"]
