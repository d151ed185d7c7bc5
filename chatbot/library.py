"""The library service: what the CLI and the chat app do to the store's contents.

Adding files, folders and web pages, uploading files, removing an article, following and syncing
feeds, and the rows that list them. `newsqa index ...`, `newsqa feeds ...` and the app's Library tab
call these methods, so both say and do the same; neither reaches into index/ on its own.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable

from index.errors import UserError
from index.feeds import FeedRegistry, FeedStateError, SyncReport, check_feed_url, feeds_status, sync_feeds
from index.loaders import SUFFIXES, LoadError, load_path, load_paths
from index.store import ArticleStore, IndexReport
from index.url_policy import looks_like_url
from index.web import fetch_articles, is_url

__all__ = ["Added", "Library", "SUFFIXES"]


@contextmanager
def feed_state():
    """A damaged feeds file is the user's to fix: one line naming it."""
    try:
        yield
    except FeedStateError as exc:
        raise UserError(str(exc)) from None


@dataclass
class Added:
    """What an add did: the store's report and the titles of the articles added or updated."""

    report: IndexReport
    titles: list[str] = field(default_factory=list)


class Library:
    """The store's contents as a person manages them; `now` is the clock feed syncs are stamped with.

    Following and listing feeds needs no store (`store=None`), so those commands do not open Chroma."""

    def __init__(self, settings, store: ArticleStore | None = None, now: Callable[[], datetime] | None = None):
        self.settings = settings
        self.store = store
        self.now = now or (lambda: datetime.now(timezone.utc))

    # -- articles --------------------------------------------------------------
    def repair(self) -> tuple[int, int]:
        """(chunks swept, vectors re-embedded) that an interrupted run left behind."""
        return self.store.sweep_orphans(), self.store.repair_vectors()

    def add(self, inputs: Iterable[str | Path], progress: bool = False, on_error=None) -> IndexReport:
        """Index files, folders and http(s) web pages (`newsqa index add`)."""
        inputs = [str(x) for x in inputs]
        # file:// and ftp:// look like URLs too: they are refused as URLs, not read as file paths.
        urls = [x for x in inputs if looks_like_url(str(x))]
        items = chain(load_paths([Path(x) for x in inputs if not looks_like_url(str(x))]), fetch_articles(urls, self.settings))
        return self.store.add(items, progress=progress, on_error=on_error)

    def upload(self, paths: Iterable[str | Path], on_progress: Callable[[int, int], None] | None = None) -> Added:
        """Index uploaded files one article at a time (so progress moves), each named by its file name
        rather than its temporary upload path."""
        items: list = []
        for path in map(Path, paths):
            items += [
                LoadError(path.name, item.reason) if isinstance(item, LoadError) else item.model_copy(update={"origin": path.name})
                for item in load_path(path, max_bytes=int(self.settings.max_upload_mb * 2**20))
            ]
        report = IndexReport()
        titles = []
        for n, item in enumerate(items):
            if on_progress:
                on_progress(n, len(items))
            one = self.store.add([item])
            for name in ("added", "updated", "unchanged", "failed", "merged"):
                getattr(report, name).extend(getattr(one, name))
            report.chunks += one.chunks
            if not isinstance(item, LoadError) and (one.added or one.updated):
                titles.append(item.title)
        return Added(report, titles)

    def add_url(self, url: str) -> Added:
        """Fetch one web page and index its article."""
        url = (url or "").strip()
        if not is_url(url):
            raise UserError(f"{url or 'Nothing'} is not an http(s) URL; paste the page's address")
        report = self.store.add(fetch_articles([url], self.settings))
        return Added(report, self.titles(report.added + report.updated))

    def titles(self, article_ids: list[str]) -> list[str]:
        return [r["title"] for r in (self.store.article(i) for i in article_ids) if r]

    def remove(self, article_id: str) -> dict:
        """Remove an article and its chunks; its record as it was. UserError when there is no such article."""
        record = self.store.article(article_id) if article_id else None
        if not record or not self.store.remove(article_id):
            raise UserError(f"no article with id {article_id!r}; see `newsqa index list`")
        return record

    def articles(self, search: str = "") -> list[dict]:
        """Article records, newest first, whose title, outlet or author hold every word of `search`."""
        words = (search or "").lower().split()
        return [
            r for r in self.store.articles()
            if all(w in f"{r.get('title', '')} {r.get('source', '')} {r.get('author', '')}".lower() for w in words)
        ]

    # -- feeds -----------------------------------------------------------------
    def follow(self, url: str) -> bool:
        """Follow a feed; False when it was followed already."""
        problem = check_feed_url(url, self.settings)
        if problem:
            raise UserError(problem)
        with feed_state():
            return FeedRegistry(self.settings.store).add(url, self.now())

    def unfollow(self, url: str) -> None:
        with feed_state():
            removed = FeedRegistry(self.settings.store).remove(url)
        if not removed:
            raise UserError(f"not following {url!r}; see `newsqa feeds list`")

    def feeds(self) -> list[dict]:
        """One row per followed feed (see index.feeds.feeds_status)."""
        with feed_state():
            return feeds_status(self.settings)

    def following(self) -> bool:
        with feed_state():
            return bool(FeedRegistry(self.settings.store).load())

    def sync(self, urls: list[str] | None = None) -> SyncReport:
        """Index the new entries of the followed feeds (or of `urls`)."""
        with feed_state():
            return sync_feeds(self.store, self.settings, self.now(), urls=urls)
