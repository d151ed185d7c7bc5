"""The library tab's live news (issue 6) through the app's handlers, over real HTTP on 127.0.0.1:
add a web page, follow a feed and see its sync status, and the scheduled sync of `newsqa serve`."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from chatbot.app import ChatApp
from chatbot.chain import build_chain
from index.feeds import start_background_sync
from tests.local_site import STORIES, Route, article_page, rss, site  # noqa: F401  (site is a fixture)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def ui(store, settings):
    # The default fetch timeout: no page here is slow on purpose, and a loaded CI machine may take over a second
    # to answer a page it serves itself (0.5 s once lost the first page of a test).
    return ChatApp(build_chain(settings, store=store), now=lambda: NOW)


def serve_story(site, path: str, key: str, outlet: str = "Coast Courier") -> str:
    title, paragraphs = STORIES[key]
    site.routes[path] = Route(article_page(title, paragraphs, outlet, "2026-11-01", canonical=path))
    return site.url(path)


def feed_of(site, keys: list[str]) -> bytes:
    items = [{"title": STORIES[k][0], "link": site.url(f"/news/{k}"), "guid": site.url(f"/news/{k}"),
              "pubDate": datetime(2026, 11, 20 + n, 8, tzinfo=timezone.utc)} for n, k in enumerate(keys)]
    return rss("Coast Courier", items)


def test_add_a_web_page_from_the_library(ui, site):
    url = serve_story(site, "/news/bridge", "bridge")
    status, rows, choices, *_ = ui.add_url(url, "")
    assert status.startswith("1 added, 0 updated") and "Harbour bridge reopens" in status
    assert [r[:2] for r in rows] == [["Harbour bridge reopens after two years of repairs", "Coast Courier"]]
    # Again: nothing new.
    assert ui.add_url(url, "")[0].startswith("0 added, 0 updated, 1 unchanged")


def test_a_bad_url_is_one_line_and_the_library_stays(ui, site):
    ui.add_url(serve_story(site, "/news/bridge", "bridge"), "")
    status, rows, *_ = ui.add_url(site.url("/gone"), "")
    assert "1 failed" in status and "404" in status and len(rows) == 1
    status, rows, *_ = ui.add_url("file:///etc/passwd", "")
    assert status == r"file:///etc/passwd is not an http\(s\) URL; paste the page's address." and len(rows) == 1


def test_follow_a_feed_syncs_it_and_shows_its_status(ui, site):
    for key in ("bikes", "solar"):
        serve_story(site, f"/news/{key}", key)
    site.routes["/feed.xml"] = Route(feed_of(site, ["bikes", "solar"]), content_type="application/rss+xml")
    feed = site.url("/feed.xml")
    status, feeds, rows, *_ = ui.add_feed(feed, "")
    assert status.startswith(f"Following {feed}: 1 feed: 2 added, 0 updated, 0 skipped, 0 failed")
    assert {r[0] for r in rows} == {STORIES["bikes"][0], STORIES["solar"][0]}
    assert feeds == [[feed, "Coast Courier", NOW.isoformat(timespec="seconds"), "2 added, 0 updated, 0 skipped, 0 failed", ""]]

    # Following it again syncs again: nothing new, and the table still shows one feed.
    status, feeds, *_ = ui.add_feed(feed, "")
    assert status.startswith(f"Already following {feed}: 1 feed: 0 added") and len(feeds) == 1


def test_a_broken_feed_shows_its_error_in_the_table(ui, site):
    site.routes["/bad.xml"] = Route(b"<rss><channel><title>x</title><item>", content_type="application/rss+xml")
    status, feeds, rows, *_ = ui.add_feed(site.url("/bad.xml"), "")
    assert "0 added, 0 updated, 0 skipped, 2 failed" in status and "not well-formed XML" in status
    assert feeds[0][0] == site.url("/bad.xml") and "not well-formed XML" in feeds[0][4]
    assert rows == []
    status, feeds, *_ = ui.add_feed("not a url", "")
    assert status == "⚠️ 'not a url' is not an http\\(s\\) URL; give the feed's address" and len(feeds) == 1


def test_scheduled_sync_is_reported_in_the_library(store, settings, site):
    serve_story(site, "/news/storm", "storm")
    site.routes["/feed.xml"] = Route(feed_of(site, ["storm"]), content_type="application/rss+xml")
    chain = build_chain(settings, store=store)
    from index.feeds import FeedRegistry

    FeedRegistry(settings.store).add(site.url("/feed.xml"), NOW)
    sync = start_background_sync(chain, settings, every_minutes=60)
    try:
        ui = ChatApp(chain, sync)
        for _ in range(600):
            if sync.last_run:
                break
            time.sleep(0.05)
        schedule, feeds = ui.feeds_view()
        assert schedule.startswith("Feeds sync every 60 minutes; last sync ")
        assert schedule.endswith(": 1 feed: 1 added, 0 updated, 0 skipped, 0 failed.")
        assert feeds[0][3] == "1 added, 0 updated, 0 skipped, 0 failed"
        assert [r[0] for r in ui.library_rows()] == [STORIES["storm"][0]]
    finally:
        sync.stop()
    assert "NEWSQA_FEEDS_SYNC_MINUTES" in ChatApp(chain).feed_schedule()
