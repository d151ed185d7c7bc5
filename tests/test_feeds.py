"""RSS/Atom feeds over real HTTP on 127.0.0.1: follow, sync, sync again, and survive bad feeds and bad entries."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from chatbot.settings import Settings
from index.feeds import FeedRegistry, feeds_status, html_to_text, start_background_sync, sync_feeds
from index.store import ArticleStore
from tests.local_site import STORIES, Route, article_page, newsqa, rss, site  # noqa: F401  (site is a fixture)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def day(n: int) -> datetime:
    return datetime(2026, 11, n, 8, 30, tzinfo=timezone.utc)


def serve_story(site, path: str, key: str, outlet: str = "Coast Courier") -> str:
    title, paragraphs = STORIES[key]
    site.routes[path] = Route(article_page(title, paragraphs, outlet, "2026-11-01", canonical=path))
    return site.url(path)


def item(site, key: str, path: str, published: datetime, description: str = "") -> dict:
    return {"title": STORIES[key][0], "link": site.url(path), "guid": site.url(path), "pubDate": published, "description": description}


@pytest.mark.slow
def test_cli_follow_and_sync_then_only_the_new_entry(site, tmp_path, embeddings):
    for key in ("bridge", "bikes", "solar"):
        serve_story(site, f"/news/{key}", key)
    feed = [item(site, "bridge", "/news/bridge", day(20)), item(site, "bikes", "/news/bikes", day(21))]
    site.routes["/feed.xml"] = Route(rss("Coast Courier", feed), content_type="application/rss+xml", etag='"v1"')
    store = tmp_path / "store"

    added = newsqa("feeds", "add", site.url("/feed.xml"), store=store)
    assert added.returncode == 0 and "following" in added.stdout
    first = newsqa("feeds", "sync", store=store)
    assert first.returncode == 0, first.stderr
    assert f"{site.url('/feed.xml')}: 2 added, 0 updated, 0 skipped, 0 failed" in first.stdout

    # The feed gains an entry: the second sync fetches and adds exactly that one.
    feed.append(item(site, "solar", "/news/solar", day(26)))
    site.routes["/feed.xml"] = Route(rss("Coast Courier", feed), content_type="application/rss+xml", etag='"v2"')
    before = len(site.requests)
    settings = Settings(store=store)
    articles = ArticleStore(settings, embeddings)
    second = sync_feeds(articles, settings, NOW)
    assert second.summary() == "1 feed: 1 added, 0 updated, 2 skipped, 0 failed" and not second.failed
    fetched_now = site.paths()[before:]
    assert "/news/solar" in fetched_now and "/news/bridge" not in fetched_now and "/news/bikes" not in fetched_now
    sent = [h for p, h in site.requests[before:] if p == "/feed.xml"]
    assert sent[0].get("if-none-match") == '"v1"'  # the ETag of the first sync went back

    rows = articles.articles()
    # Outlet from the page, date from the feed entry, title from the feed; newest first.
    assert [(r["title"], r["source"], r["published_at"][:10]) for r in rows] == [
        (STORIES["solar"][0], "Coast Courier", "2026-11-26"),
        (STORIES["bikes"][0], "Coast Courier", "2026-11-21"),
        (STORIES["bridge"][0], "Coast Courier", "2026-11-20"),
    ]


def test_unchanged_feed_is_not_parsed_again(site, store, settings):
    serve_story(site, "/news/bridge", "bridge")
    site.routes["/feed.xml"] = Route(rss("Coast Courier", [item(site, "bridge", "/news/bridge", day(20))]), etag='"same"')
    FeedRegistry(settings.store).add(site.url("/feed.xml"), NOW)
    assert sync_feeds(store, settings, NOW).feeds[0].added == [site.url("/news/bridge")]
    report = sync_feeds(store, settings, NOW)
    assert report.feeds[0].summary() == "0 added, 0 updated, 1 skipped, 0 failed" and not report.failed
    assert site.paths().count("/news/bridge") == 1


@pytest.fixture
def quick(tmp_path) -> Settings:
    return Settings(store=tmp_path / "store", fetch_timeout=0.5, fetch_max_bytes=40_000)


@pytest.mark.slow
def test_bad_feeds_and_bad_entries_each_give_one_line_and_the_rest_goes_on(site, quick, embeddings):
    store = ArticleStore(quick, embeddings)
    good = serve_story(site, "/news/bridge", "bridge")
    storm_title, storm = STORIES["storm"]
    site.routes["/news/gone"] = Route(b"gone", status=404)
    site.routes["/news/slow"] = Route(hang=True)
    site.routes["/news/report.pdf"] = Route(b"%PDF-1.7", content_type="application/pdf")
    site.routes["/news/huge"] = Route(b"<html><body>" + b"<p>word word word</p>" * 5000 + b"</body></html>")
    summary = "<p>" + "</p><p>".join(storm) + "</p>"
    entries = [
        item(site, "bridge", "/news/bridge", day(20)),
        {"title": storm_title, "link": site.url("/news/gone"), "pubDate": day(22), "description": summary},
        {"title": "Gone without a trace", "link": site.url("/news/gone?2"), "pubDate": day(22)},
        {"title": "Slow page", "link": site.url("/news/slow"), "pubDate": day(23), "description": "Ferries were cancelled for a second day while the storm went on."},
        {"title": "A report", "link": site.url("/news/report.pdf"), "pubDate": day(23), "description": "The harbour authority published its yearly report on shipping."},
        {"title": "Huge page", "link": site.url("/news/huge"), "pubDate": day(24), "description": "A very long live blog about the storm and the ferries."},
        {"title": "Notice without a link", "guid": "notice-1", "pubDate": day(24), "description": "Office closed on Friday."},
    ]
    site.routes["/mixed.xml"] = Route(rss("Coast Courier", entries), content_type="application/rss+xml")
    site.routes["/broken.xml"] = Route(b'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><item><title>A</itm>', content_type="application/xml")
    site.routes["/empty.xml"] = Route(rss("Quiet Gazette", []), content_type="application/rss+xml")
    site.routes["/page.html"] = Route(article_page(*STORIES["solar"], "Solar Daily", "2026-11-02"))
    registry = FeedRegistry(quick.store)
    for path in ("/broken.xml", "/missing.xml", "/empty.xml", "/page.html", "/mixed.xml"):
        registry.add(site.url(path), NOW)

    report = sync_feeds(store, quick, NOW)
    assert report.failed
    by_feed = {f.feed.removeprefix(site.url("")): f for f in report.feeds}
    broken = site.url("/broken.xml")
    assert by_feed["/broken.xml"].failed == [
        f"{broken}: is not well-formed XML (mismatched tag at line 1); 1 entry recovered from it",
        f"{broken}: entry '(untitled)' has no link; skipped",  # what the lenient parser recovered is still checked
    ]
    assert by_feed["/missing.xml"].failed == [f"{site.url('/missing.xml')}: answered HTTP 404 Not Found"]
    assert by_feed["/empty.xml"].failed == [f"{site.url('/empty.xml')}: has no entries; check that this is the outlet's current feed"]
    assert by_feed["/page.html"].failed == [f"{site.url('/page.html')}: is an HTML page, not an RSS or Atom feed; use the page's feed link"]

    mixed = by_feed["/mixed.xml"]
    # The page, and four entries whose page failed but whose feed text stands in (404, timeout, PDF, oversize).
    assert len(mixed.added) == 5, mixed
    assert len(mixed.notes) == 4 and all("indexed the feed's own text instead" in n for n in mixed.notes)
    assert any("HTTP 404" in n for n in mixed.notes) and any("did not answer" in n for n in mixed.notes)
    assert any("application/pdf" in n for n in mixed.notes) and any("limit" in n for n in mixed.notes)
    assert len(mixed.failed) == 2
    assert "HTTP 404" in mixed.failed[0] and "no text of its own" in mixed.failed[0]
    assert "'Notice without a link' has no link" in mixed.failed[1]
    assert all("\n" not in line for f in report.feeds for line in f.failed + f.notes)

    rows = {r["title"]: r for r in store.articles()}
    assert rows[STORIES["bridge"][0]]["url"] == good
    assert rows[storm_title]["source"] == "Coast Courier" and rows[storm_title]["published_at"].startswith("2026-11-22")
    assert len(rows) == 5

    # Second sync: nothing indexed is lost; only the entry that failed outright is tried again.
    before = len(site.requests)
    again = {f.feed.removeprefix(site.url("")): f for f in sync_feeds(store, quick, NOW).feeds}["/mixed.xml"]
    assert again.summary() == "0 added, 0 updated, 6 skipped, 1 failed"  # the link-less entry was reported once
    assert [p for p in site.paths()[before:] if p.startswith("/news/")] == ["/news/gone?2"]
    assert len(store.articles()) == 5
    status = {row["url"]: row for row in feeds_status(quick)}
    assert status[site.url("/mixed.xml")]["last_result"] == again.summary()
    assert status[site.url("/mixed.xml")]["entries_seen"] == 6


def test_registry_follows_each_feed_once(tmp_path):
    registry = FeedRegistry(tmp_path)
    assert registry.add("http://127.0.0.1:9/feed.xml", NOW) is True
    assert registry.add("http://127.0.0.1:9/feed.xml", NOW) is False
    assert list(registry.load()) == ["http://127.0.0.1:9/feed.xml"]
    assert registry.remove("http://127.0.0.1:9/other.xml") is False
    assert registry.remove("http://127.0.0.1:9/feed.xml") is True
    assert registry.load() == {}


def test_cli_feed_commands_refuse_bad_input_and_list(tmp_path):
    store = tmp_path / "store"
    not_url = newsqa("feeds", "add", "feed.xml", store=store)
    assert not_url.returncode == 1 and not_url.stderr.strip() == "error: 'feed.xml' is not an http(s) URL; give the feed's address"
    nothing = newsqa("feeds", "sync", store=store)
    assert nothing.returncode == 1 and "no feeds followed" in nothing.stderr and "Traceback" not in nothing.stderr
    FeedRegistry(store).add("http://127.0.0.1:9/feed.xml", NOW)
    listed = newsqa("feeds", "list", store=store)
    assert listed.stdout.strip() == "http://127.0.0.1:9/feed.xml  (untitled)  never synced"
    unknown = newsqa("feeds", "remove", "http://127.0.0.1:9/other.xml", store=store)
    assert unknown.returncode == 1 and "not following" in unknown.stderr
    (store / "feeds.json").write_text("{not json")
    corrupt = newsqa("feeds", "list", store=store)
    assert corrupt.returncode == 1 and corrupt.stderr.startswith(f"error: {store / 'feeds.json'} is not a newsqa feeds file")
    assert "Traceback" not in corrupt.stderr


def test_html_to_text_keeps_paragraphs():
    assert html_to_text("<p>One &amp; two.</p><p>Three<br>four</p>") == "One & two.\nThree\nfour"
    assert html_to_text("") == ""


@pytest.mark.slow
def test_background_sync_indexes_on_a_schedule(site, store, settings):
    serve_story(site, "/news/solar", "solar")
    site.routes["/feed.xml"] = Route(rss("Coast Courier", [item(site, "solar", "/news/solar", day(26))]))
    FeedRegistry(settings.store).add(site.url("/feed.xml"), NOW)
    syncer = start_background_sync(store, settings, every_minutes=0.005)
    try:
        deadline = time.monotonic() + 120
        while syncer.last_report is None and time.monotonic() < deadline:
            time.sleep(0.1)
        status = syncer.status()
    finally:
        syncer.stop()
    assert status["running"] and status["last_error"] == ""
    assert status["last_summary"] == "1 feed: 1 added, 0 updated, 0 skipped, 0 failed"
    assert status["feeds"][0]["last_result"] == "1 added, 0 updated, 0 skipped, 0 failed"
    assert [r["title"] for r in store.articles()] == [STORIES["solar"][0]]
    assert not syncer._thread.is_alive()
