"""Wire copies: one story under several outlets is one source with several outlets, not several sources."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.chain import build_chain
from chatbot.settings import Settings
from index.articles import Article
from chatbot.rendering import outlet_line
from index.duplicates import CopyFinder, decode_signature, encode_signature, more_outlets, shingles, signature, similarity
from index.store import ArticleStore
from index.web import WebClient
from tests.local_site import STORIES, Route, article_page, site  # noqa: F401  (site is a fixture)

WIRE_TITLE, WIRE = STORIES["rates"]


def estimated(a: str, b: str) -> float:
    return float(similarity(signature(a), signature(b)[None, :])[0])


def exact(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def test_signature_estimates_jaccard_and_separates_copies_from_other_stories():
    wire = "\n".join(WIRE)
    # A reprint: the outlet adds a dateline, trims the last paragraph and rewords one sentence.
    reprint = "FRANKFURT (Wire) - " + "\n".join(WIRE[:-1]).replace("barely moved", "hardly moved")
    other = "\n".join(STORIES["bikes"][1])
    assert estimated(wire, wire) == 1.0
    assert estimated(wire, reprint) >= 0.7
    assert abs(estimated(wire, reprint) - exact(wire, reprint)) < 0.15
    assert estimated(wire, other) < 0.1
    assert signature("") is not None and estimated("", wire) == 0.0


def test_signatures_survive_storage():
    sig = signature("\n".join(WIRE))
    assert np.array_equal(decode_signature(encode_signature(sig)), sig)
    assert decode_signature("not base64!") is None
    assert decode_signature("") is None


def test_copy_finder_knows_stored_stories_and_those_of_the_same_run():
    wire = "\n".join(WIRE)
    finder = CopyFinder({"orig": {"minhash": encode_signature(signature(wire))}, "old": {}}, threshold=0.7)
    assert finder.original_of("copy", wire, known=False) == "orig"
    assert finder.original_of("orig", wire, known=True) is None  # re-indexed under its own id
    other = "\n".join(STORIES["bikes"][1])
    assert finder.original_of("bikes", other, known=False) is None
    assert finder.original_of("bikes-reprint", other, known=False) == "bikes"  # kept earlier in the same run
    assert decode_signature(finder.stored_signature("bikes")) is not None


def test_more_outlets_adds_each_other_outlet_once():
    record = {"source": "AP", "also_published_by": ["Reuters"], "also_published_urls": ["https://r.test/1"]}
    assert more_outlets(record, [("AP", "https://a.test/2"), ("Reuters", "https://r.test/2"), ("", "x")]) is None
    assert more_outlets(record, [("BBC", "https://b.test/1"), ("BBC", "https://b.test/2")]) == {
        "Reuters": "https://r.test/1", "BBC": "https://b.test/1",
    }


@pytest.mark.parametrize(
    "source, also, line",
    [
        ("AP", [], "AP"),
        ("AP", ["Daily Post"], "AP, also published by Daily Post"),
        ("AP", ["X", "Y", "AP"], "AP, also published by X and Y"),
        ("AP", ["X", "Y", "Z"], "AP, also published by X, Y and Z"),
    ],
)
def test_outlet_line(source, also, line):
    assert outlet_line(source, also) == line


def wire_page(outlet: str, lead: str = "") -> bytes:
    return article_page(f"{WIRE_TITLE} | {outlet}", ([lead] if lead else []) + WIRE, outlet, "2026-11-26T14:00:00+00:00")


@pytest.mark.slow
def test_same_wire_story_under_two_outlets_is_one_source_with_two_outlets(site, store, settings):
    site.routes["/wire/rates"] = Route(wire_page("Wire Service"))
    site.routes["/daily/economy/rates"] = Route(wire_page("Daily Post", "Reporting by the Wire Service."))
    site.routes["/bikes"] = Route(article_page(*STORIES["bikes"], "Riverton Herald", "2026-11-25"))
    with WebClient(settings) as web:
        pages = [web.article(site.url(p)) for p in ("/wire/rates", "/daily/economy/rates", "/bikes")]
    assert all(isinstance(p, Article) for p in pages), pages

    report = store.add(pages)
    assert len(report.added) == 2 and report.merged == [(site.url("/daily/economy/rates"), pages[0].id)]
    rows = {r["source"]: r for r in store.articles()}
    assert set(rows) == {"Wire Service", "Riverton Herald"}  # the copy is no source of its own
    assert rows["Wire Service"]["also_published_by"] == ["Daily Post"]
    assert rows["Wire Service"]["also_published_urls"] == [site.url("/daily/economy/rates")]
    assert "minhash" not in rows["Wire Service"]

    chain = build_chain(settings, store=store)
    answer = chain.ask("What interest rate did the Northland central bank hold?")
    cited = [c for c in answer.citations if c.article_id == pages[0].id]
    assert cited, answer.as_json()
    assert outlet_line(cited[0].source, cited[0].also_published_by) == "Wire Service, also published by Daily Post"
    assert all(c.source != "Daily Post" for c in answer.citations)

    # Re-adding the copy changes nothing; re-indexing the original (it changed) keeps its other outlets.
    assert store.add([pages[1]]).merged and store.articles()[0]["also_published_by"] == ["Daily Post"]
    changed = pages[0].model_copy(update={"body": pages[0].body + "\nCorrection: the meeting was on Thursday."})
    assert store.add([changed]).updated == [pages[0].id]
    chunks = store.chunks.get(where={"article_id": pages[0].id}, include=["metadatas"])["metadatas"]
    assert chunks and all(m["also_published_by"] == ["Daily Post"] for m in chunks)


def test_independent_reports_of_one_event_stay_separate_sources(store):
    a = Article(title="Storm hits coast", body="\n".join(STORIES["storm"][1]), source="Coast News", url="http://127.0.0.1/a")
    retold = (
        "Tens of thousands of homes on the northern coast lost electricity when a violent winter storm swept in overnight. "
        "Power companies said most customers were reconnected by the afternoon. Island villages may wait until Sunday. "
        "Ferry services were suspended again and two fishermen were rescued by the coastguard."
    )
    b = Article(title="Coast storm", body=retold, source="Island Radio", url="http://127.0.0.1/b")
    report = store.add([a, b])
    assert len(report.added) == 2 and not report.merged


def test_threshold_is_a_setting(tmp_path, embeddings):
    strict = ArticleStore(Settings(store=tmp_path / "s", duplicate_threshold=1.01), embeddings)
    body = "\n".join(WIRE)
    report = strict.add([
        Article(title="Rates", body=body, source="Wire Service", url="http://127.0.0.1/1"),
        Article(title="Rates", body=body, source="Daily Post", url="http://127.0.0.1/2"),
    ])
    assert len(report.added) == 2 and not report.merged
