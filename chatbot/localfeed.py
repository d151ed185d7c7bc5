"""A news site on 127.0.0.1 made of given article records: an RSS feed listing them and one HTML page
per article, served by a thread of this process. The load bench follows it, so the app's own feed sync
(fetching the feed, robots.txt and every page, as for a real outlet) runs while people chat."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def rss(title: str, base: str, records: list[dict]) -> str:
    """An RSS 2.0 feed of the records, each entry linking to its page on this site."""
    items = []
    for n, record in enumerate(records):
        published = datetime.fromisoformat(record["published_at"]) if record.get("published_at") else datetime.now(timezone.utc)
        if published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
        items.append(
            f"<item><title>{escape(record['title'])}</title><link>{base}/article/{n}</link>"
            f"<guid>{base}/article/{n}</guid><pubDate>{format_datetime(published)}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><description>{escape(title)}</description>"
        f"{''.join(items)}</channel></rss>"
    )


def page(record: dict) -> str:
    """The article's own page: its outlet, title, author and paragraphs, as a news site marks them up."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in record["body"].split("\n") if p.strip())
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(record["title"])}</title>'
        f'<meta property="og:site_name" content="{escape(record.get("source", ""))}">'
        f'<meta name="author" content="{escape(record.get("author") or "")}">'
        f'<meta property="article:published_time" content="{escape(record.get("published_at") or "")}"></head>'
        f'<body><article><h1>{escape(record["title"])}</h1>{paragraphs}</article></body></html>'
    )


class FeedSite:
    """Serves `records` as /feed.xml and /article/<n> on 127.0.0.1 while in its `with` block."""

    def __init__(self, records: list[dict], title: str = "Load bench wire"):
        self.records, self.title = records, title
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body, kind = site.route(self.path)
                self.send_response(200 if body is not None else 404)
                data = (body or "not found").encode("utf-8")
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # the bench prints its own report, not a line per request
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.feed_url = f"{self.base}/feed.xml"

    def route(self, path: str) -> tuple[str | None, str]:
        if path == "/robots.txt":
            return "User-agent: *\nAllow: /\n", "text/plain; charset=utf-8"
        if path == "/feed.xml":
            return rss(self.title, self.base, self.records), "application/rss+xml; charset=utf-8"
        number = path.removeprefix("/article/")
        if path.startswith("/article/") and number.isdigit() and int(number) < len(self.records):
            return page(self.records[int(number)]), "text/html; charset=utf-8"
        return None, "text/plain; charset=utf-8"

    def __enter__(self) -> "FeedSite":
        threading.Thread(target=self.server.serve_forever, name="newsqa-feed-site", daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
