"""RSS/Atom feeds: the feeds a user follows, what each sync has already seen, and the sync itself.

The feed list and its sync state live in `feeds.json` in the store folder (Settings.store), beside the
embedded Chroma folder; with a Chroma server store (Settings.chroma_host) they still live in that local
folder, so every machine that syncs into one server keeps its own list. A sync sends the ETag and
Last-Modified it was last given, and fetches only entries it has not seen (or whose updated stamp changed).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import xml.sax
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import feedparser
import lxml.etree
import lxml.html
from filelock import FileLock, Timeout
from pydantic import ValidationError

from index import priority
from index.articles import Article, parse_date
from index.loaders import LoadError
from index.url_policy import is_url, refused
from index.web import Fetched, WebClient, host_name

log = logging.getLogger(__name__)

STATE_FILE = "feeds.json"
_BLOCK_END = re.compile(r"(?i)</(p|div|li|h[1-6]|blockquote)>|<br\s*/?>")


@dataclass
class FeedState:
    url: str
    title: str = ""
    etag: str = ""
    modified: str = ""
    seen: dict[str, str] = field(default_factory=dict)  # entry key -> its updated/published stamp when indexed
    added_at: str = ""
    last_sync: str = ""
    last_result: str = ""
    last_errors: list[str] = field(default_factory=list)


class FeedStateError(Exception):
    """The feeds file cannot be read; the message says which file and what to do."""


class FeedRegistry:
    """The followed feeds and their sync state, kept in a JSON file; safe across threads and processes."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / STATE_FILE
        self._lock = FileLock(str(self.path) + ".lock")

    def load(self) -> dict[str, FeedState]:
        if not self.path.exists():
            return {}
        with self._lock:
            text = self.path.read_text("utf-8")
        try:
            return {url: FeedState(**row) for url, row in (json.loads(text or "{}").get("feeds") or {}).items()}
        except (ValueError, TypeError, AttributeError) as exc:
            raise FeedStateError(
                f"{self.path} is not a newsqa feeds file ({type(exc).__name__}); fix it, or delete it to follow no feeds"
            ) from exc

    def _save(self, feeds: dict[str, FeedState]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"feeds": {u: asdict(s) for u, s in feeds.items()}}, ensure_ascii=False, indent=1), "utf-8")
        tmp.replace(self.path)  # atomic: a crash never leaves half a file

    def change(self, edit: Callable[[dict[str, FeedState]], object]) -> object:
        """Load, edit in place, save, under the lock; returns what `edit` returns."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            feeds = self.load()
            result = edit(feeds)
            self._save(feeds)
        return result

    def add(self, url: str, now: datetime) -> bool:
        """Follow a feed; False when it is already followed."""
        def edit(feeds: dict[str, FeedState]) -> bool:
            if url in feeds:
                return False
            feeds[url] = FeedState(url=url, added_at=now.isoformat(timespec="seconds"))
            return True

        return bool(self.change(edit))

    def remove(self, url: str) -> bool:
        """Stop following a feed (its indexed articles stay); False when it was not followed."""
        return bool(self.change(lambda feeds: feeds.pop(url, None) is not None))


@dataclass
class FeedReport:
    feed: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # copies of stories already indexed under another outlet
    skipped: int = 0  # entries seen by an earlier sync, or an unchanged feed
    failed: list[str] = field(default_factory=list)  # one line each
    notes: list[str] = field(default_factory=list)  # worked, but with a fallback

    def summary(self) -> str:
        merged = f", {len(self.merged)} merged as copies" if self.merged else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated{merged}, {self.skipped} skipped, {len(self.failed)} failed"
        )


@dataclass
class SyncReport:
    feeds: list[FeedReport] = field(default_factory=list)
    busy: bool = False  # another sync was running; nothing was done

    @property
    def failed(self) -> bool:
        return any(f.failed for f in self.feeds)

    def summary(self) -> str:
        if self.busy:
            return "another feed sync is running; nothing done"
        total = FeedReport("all")
        for f in self.feeds:
            total.added += f.added
            total.updated += f.updated
            total.merged += f.merged
            total.skipped += f.skipped
            total.failed += f.failed
        return f"{len(self.feeds)} feed{'' if len(self.feeds) == 1 else 's'}: {total.summary()}"


def entry_key(entry) -> str:
    return str(entry.get("id") or entry.get("link") or entry.get("title") or "")


def _updated(entry) -> str:
    # dict.get: feedparser's own .get("updated") falls back to "published" with a DeprecationWarning.
    return dict.get(entry, "updated") or ""


def entry_stamp(entry) -> str:
    return str(_updated(entry) or entry.get("published") or "")


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment (a feed's summary or content), one line per block."""
    if not html or not html.strip():
        return ""
    try:
        root = lxml.html.fromstring(f"<div>{_BLOCK_END.sub(lambda m: m.group(0) + chr(10), html)}</div>")
    except (lxml.etree.ParserError, ValueError):
        return html.strip()
    lines = (line.strip() for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def entry_article(entry, outlet: str) -> Article | LoadError:
    """An article from the entry's own text (content, else summary): the fallback when its page fails."""
    link = entry.get("link", "")
    contents = [c.get("value", "") for c in entry.get("content", []) or []]
    body = max((html_to_text(c) for c in contents + [entry.get("summary", "")]), key=len, default="")
    title = html_to_text(entry.get("title", "")) or body.split("\n")[0][:200]
    if not body:
        return LoadError(link or title, "the feed entry has no text of its own")
    try:
        return Article(
            title=title, body=body, source=outlet, author=entry.get("author", ""),
            published_at=entry.get("published") or _updated(entry) or None, url=link, origin=link,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        return LoadError(link or title, f"the feed entry's {'.'.join(map(str, first['loc']))}: {first['msg'].lower()}")


def with_feed_metadata(article: Article, entry, outlet: str) -> Article:
    """The page's article, completed by the feed: its clean title, its date, its outlet when the page names none."""
    update: dict = {}
    title = html_to_text(entry.get("title", ""))
    if title:
        update["title"] = title
    try:
        published = parse_date(entry.get("published") or _updated(entry))
    except ValueError:
        published = None  # an unreadable feed date: keep the page's
    if published:
        update["published_at"] = published
    if not article.source or article.source == host_name(article.url):
        update["source"] = outlet or article.source
    return article.model_copy(update=update)


def parse_feed(fetched: Fetched, report: FeedReport):
    """feedparser's result, or None (with a failure line) when the document is no feed at all."""
    parsed = feedparser.parse(
        fetched.body, response_headers={"content-location": fetched.url, "content-type": fetched.content_type or "application/xml"}
    )
    error = parsed.get("bozo_exception")
    if not parsed.get("version") and not parsed.entries:
        if fetched.content_type in ("text/html", "application/xhtml+xml"):
            report.failed.append(f"{report.feed}: is an HTML page, not an RSS or Atom feed; use the page's feed link")
        elif isinstance(error, xml.sax.SAXException):
            report.failed.append(f"{report.feed}: is not well-formed XML ({_sax_reason(error)}); check the feed URL")
        else:
            report.failed.append(f"{report.feed}: is not an RSS or Atom feed")
        return None
    if isinstance(error, xml.sax.SAXException):
        # feedparser's lenient parser recovers what it can: index that, but say the feed is broken.
        report.failed.append(
            f"{report.feed}: is not well-formed XML ({_sax_reason(error)}); "
            f"{len(parsed.entries)} {'entry' if len(parsed.entries) == 1 else 'entries'} recovered from it"
        )
    if not parsed.entries:
        report.failed.append(f"{report.feed}: has no entries; check that this is the outlet's current feed")
    return parsed


def _sax_reason(error: xml.sax.SAXException) -> str:
    line = error.getLineNumber() if isinstance(error, xml.sax.SAXParseException) else None
    return f"{error.getMessage()} at line {line}" if line else error.getMessage()


def sync_feed(store, web: WebClient, state: FeedState, background: bool = False) -> FeedReport:
    """Fetch one feed and index its new entries; `state` is updated in place (etag, seen entries). In the
    `background`, each article waits a bounded while for the questions being answered (index/priority.py)."""
    report = FeedReport(state.url)
    headers = {k: v for k, v in (("If-None-Match", state.etag), ("If-Modified-Since", state.modified)) if v}
    fetched = web.fetch(state.url, headers=headers)
    if isinstance(fetched, LoadError):
        report.failed.append(str(fetched))
        return report
    if fetched.status == 304:
        report.skipped = len(state.seen)
        return report
    parsed = parse_feed(fetched, report)
    if parsed is None:
        return report
    state.title = html_to_text(parsed.feed.get("title", "")) or state.title
    log.info("feed %s: %d entries, %d seen before", state.url, len(parsed.entries), len(state.seen))
    outlet = state.title or host_name(fetched.url)
    items: list[Article] = []
    new_stamps: dict[str, str] = {}
    by_origin: dict[str, str] = {}
    retry = False
    for entry in parsed.entries:
        key, stamp = entry_key(entry), entry_stamp(entry)
        if key in state.seen and state.seen[key] == stamp:
            report.skipped += 1
            continue
        link = entry.get("link", "")
        title = html_to_text(entry.get("title", "")) or "(untitled)"
        if not link:
            report.failed.append(f"{state.url}: entry {title!r} has no link; skipped")
            new_stamps[key] = stamp  # reported once, not at every sync
            continue
        if background:
            priority.yield_to_questions()  # the people waiting for an answer first
        page = web.article(link)
        if isinstance(page, LoadError):
            fallback = entry_article(entry, outlet)
            if isinstance(fallback, LoadError):
                report.failed.append(f"{page}; {fallback.reason}")
                retry = True  # not marked seen: the next sync tries again
                continue
            report.notes.append(f"{page}; indexed the feed's own text instead")
            article = fallback
        else:
            article = with_feed_metadata(page, entry, outlet)
        items.append(article)
        by_origin[article.id] = link
        new_stamps[key] = stamp
    if items:
        indexed = store.add(items)
        report.added += [by_origin.get(i, i) for i in indexed.added]
        report.updated += [by_origin.get(i, i) for i in indexed.updated]
        report.skipped += len(indexed.unchanged)
        report.merged += [url for url, _ in indexed.merged]
        report.failed += indexed.failed
    # Only entries still in the feed are remembered, so the state file stays as small as the feed.
    current = {entry_key(e) for e in parsed.entries}
    state.seen = {k: v for k, v in {**state.seen, **new_stamps}.items() if k in current}
    # With an entry left to retry, the feed must be fetched in full next time, not answered "304 Not Modified".
    state.etag = "" if retry else fetched.headers.get("etag", "")
    state.modified = "" if retry else fetched.headers.get("last-modified", "")
    return report


def sync_feeds(store, settings, now: datetime, urls: list[str] | None = None, background: bool = False) -> SyncReport:
    """Sync the followed feeds (or only `urls`); one sync at a time per store folder. The app's scheduled sync
    runs in the `background`: it gives way to the questions being answered."""
    registry = FeedRegistry(settings.store)
    busy = FileLock(str(registry.folder / "feeds.sync.lock"))
    registry.folder.mkdir(parents=True, exist_ok=True)
    try:
        busy.acquire(timeout=0)
    except Timeout:
        return SyncReport(busy=True)
    try:
        result = SyncReport()
        feeds = registry.load()
        with WebClient(settings) as web:
            for url in urls or list(feeds):
                state = feeds.get(url) or FeedState(url=url)
                feed_report = sync_feed(store, web, state, background)
                result.feeds.append(feed_report)
                state.last_sync = now.isoformat(timespec="seconds")
                state.last_result = feed_report.summary()
                state.last_errors = feed_report.failed[:20]
                registry.change(lambda current, s=state: _keep_if_followed(current, s))
        return result
    finally:
        busy.release()


def _keep_if_followed(feeds: dict[str, FeedState], state: FeedState) -> None:
    # A feed removed while it was syncing stays removed.
    if state.url in feeds:
        feeds[state.url] = state


class BackgroundSync:
    """Syncs the followed feeds every `every_minutes` in a daemon thread, for the chat app."""

    def __init__(self, store, settings, every_minutes: float, clock: Callable[[], datetime] | None = None):
        if every_minutes <= 0:
            raise ValueError("every_minutes must be positive")
        self.store = store
        self.settings = settings
        self.every_seconds = every_minutes * 60
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.last_report: SyncReport | None = None
        self.last_run: datetime | None = None
        self.last_error = ""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newsqa-feed-sync", daemon=True)

    def start(self) -> "BackgroundSync":
        self._thread.start()
        return self

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(wait)

    def sync_now(self) -> None:
        """Run a sync as soon as the thread is free (e.g. after the user added a feed)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.last_report = sync_feeds(self.store, self.settings, self.clock(), background=True)
                self.last_error = ""
            except Exception as exc:  # a bug must not kill the schedule: log it and try at the next tick
                log.exception("background feed sync failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.last_run = self.clock()
            self._wake.wait(self.every_seconds)
            self._wake.clear()

    def status(self) -> dict:
        """What the library tab shows: schedule, last run, and each feed's last result."""
        return {
            "running": self._thread.is_alive(),
            "every_minutes": self.every_seconds / 60,
            "last_run": self.last_run.isoformat(timespec="seconds") if self.last_run else "",
            "last_summary": self.last_report.summary() if self.last_report else "",
            "last_error": self.last_error,
            "feeds": feeds_status(self.settings),
        }


def start_background_sync(chain_or_store, settings, every_minutes: float | None = None) -> BackgroundSync:
    """Start syncing feeds in the background (every `every_minutes`, default Settings.feeds_sync_minutes)."""
    store = getattr(chain_or_store, "store", chain_or_store)
    return BackgroundSync(store, settings, every_minutes or settings.feeds_sync_minutes).start()


def feeds_status(settings) -> list[dict]:
    """One row per followed feed: url, title, added_at, last_sync, last_result, last_errors, entries seen."""
    rows = []
    for state in FeedRegistry(settings.store).load().values():
        row = asdict(state)
        row["entries_seen"] = len(row.pop("seen"))
        row.pop("etag"), row.pop("modified")
        rows.append(row)
    return rows


def check_feed_url(url: str, settings) -> str | None:
    """Why a URL cannot be followed as a feed, or None (settings.allow_private_urls decides on internal addresses)."""
    if not is_url(url):
        return f"{url!r} is not an http(s) URL; give the feed's address"
    why = refused(url, settings.allow_private_urls)
    return f"{url}: {why}" if why else None
