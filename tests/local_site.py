"""A real HTTP server on 127.0.0.1, in a thread, serving pages and feeds that a test writes.

Nothing in the live-news tests touches any other address: robots.txt too is served here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import ROOT


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""  # when set, a request with If-None-Match equal to it gets 304
    hang: bool = False  # accept the request, never answer (until the server stops)
    declare_length: bool = True  # False: no Content-Length header (the body just streams)


class LocalSite:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.routes: dict[str, Route] = {"/robots.txt": Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's name)
                site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = site.routes.get(self.path)
                if route is None:
                    route = Route(b"<html><body>not found</body></html>", status=404)
                if route.hang:
                    site._release.wait(60)
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.etag:
                    self.send_header("ETag", route.etag)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.declare_length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (e.g. over the size limit)

            def handle(self):
                try:
                    super().handle()
                except ConnectionError:
                    pass  # the client hung up first (a timeout or the size limit): that is what those tests do

            def log_message(self, *args):
                pass

        self.host = host
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def start(self) -> "LocalSite":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    server = LocalSite().start()
    yield server
    server.stop()


def newsqa(*args: str, store, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real CLI in a child process, with a short fetch timeout (the autouse fixture cleared NEWSQA_* already)."""
    return subprocess.run(
        [sys.executable, "-m", "chatbot", "--store", str(store), *args], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "NEWSQA_FETCH_TIMEOUT": "0.5", **(env or {})},
    )


def article_page(title: str, paragraphs: list[str], outlet: str, published: str, canonical: str = "", author: str = "") -> bytes:
    """An outlet's article page with the metadata trafilatura reads (og:site_name, published time, canonical link)."""
    head = [
        f"<title>{escape(title)} | {escape(outlet)}</title>",
        f'<meta property="og:title" content="{escape(title)}">',
        f'<meta property="og:site_name" content="{escape(outlet)}">',
        f'<meta property="article:published_time" content="{published}">',
    ]
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    if author:
        head.append(f'<meta name="author" content="{escape(author)}">')
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'>{''.join(head)}</head><body>"
        f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{escape(title)}</h1>{body}</article>"
        f"<footer>Copyright {escape(outlet)}</footer></body></html>"
    )
    return html.encode("utf-8")


def rss(title: str, items: list[dict]) -> bytes:
    """An RSS 2.0 feed; each item may have title, link, guid, description, pubDate (a datetime)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>']
    for item in items:
        parts.append("<item>")
        for key in ("title", "link", "description"):
            if item.get(key):
                parts.append(f"<{key}>{escape(item[key])}</{key}>")
        if item.get("guid"):  # not a permalink: feedparser would take a permalink guid as the entry's link
            parts.append(f'<guid isPermaLink="false">{escape(item["guid"])}</guid>')
        if isinstance(item.get("pubDate"), datetime):
            parts.append(f"<pubDate>{format_datetime(item['pubDate'])}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


# Invented stories (no real outlet's text): each a list of paragraphs.
STORIES = {
    "bridge": (
        "Harbour bridge reopens after two years of repairs",
        [
            "The Kelvin Harbour bridge reopened to traffic on Monday morning after a two-year repair programme that replaced all of its suspension cables.",
            "City engineers said the work cost 84 million euros, eleven million more than planned, because corrosion inside the main towers was worse than the first surveys showed.",
            "Commuters who had used a ferry detour since the closure welcomed the reopening, although cyclists complained that the new bike lane is narrower than the old one.",
            "The transport department said a weight limit of 30 tonnes will stay in place until load tests finish in the spring.",
        ],
    ),
    "rates": (
        "Central bank holds interest rate at 4.5 percent",
        [
            "The Northland central bank held its main interest rate at 4.5 percent on Thursday, its third pause in a row, saying inflation was falling more slowly than it had hoped.",
            "Governor Ilse Marten told reporters that services prices were still rising at an annual pace above five percent and that the bank was ready to raise rates again if wage growth did not cool.",
            "Markets had expected the decision, and the currency barely moved after the announcement, trading at 1.08 against the dollar in the afternoon.",
            "Economists surveyed before the meeting now expect the first cut in the autumn, two months later than they predicted in January.",
            "The bank will publish new forecasts for growth and unemployment at its next meeting in six weeks.",
        ],
    ),
    "bikes": (
        "Council votes to close Market Street to cars",
        [
            "Riverton city council voted nine to four on Tuesday night to close Market Street to private cars from next summer, turning it into a street for buses, bicycles and pedestrians.",
            "Shop owners on the street were divided: some said delivery vans would struggle to reach them, while others expected more customers on foot.",
            "The plan includes forty new bicycle parking spaces and wider pavements, paid for by a regional grant of 2.3 million.",
        ],
    ),
    "solar": (
        "Largest solar farm in the region starts producing power",
        [
            "A 200-megawatt solar farm on former farmland near Ostberg began feeding power into the grid this week, the largest such plant in the region.",
            "Its operator said the panels will supply about 60,000 homes and that sheep will graze between the rows to keep the grass short.",
            "Local residents had opposed the project for years over its size, and a court challenge delayed construction by eighteen months.",
        ],
    ),
    "storm": (
        "Storm cuts power to thousands along the coast",
        [
            "A winter storm with gusts of up to 130 kilometres an hour cut power to about 45,000 households along the northern coast overnight.",
            "Utility crews restored electricity to most homes by the afternoon, but several villages on the islands were expected to stay dark until Sunday.",
            "Ferries were cancelled for a second day and the coastguard rescued two fishermen whose boat lost its engine near the harbour mouth.",
        ],
    ),
}
