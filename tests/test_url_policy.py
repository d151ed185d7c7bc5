"""Fetching only what the user meant (issue 20), over real HTTP on 127.0.0.1 with NEWSQA_ALLOW_PRIVATE_URLS off.

An internal service listens on 127.0.0.1. Its address in any spelling, a public-looking name or a redirect that
leads to it, and schemes other than http(s) are each refused in one line: through `fetch_articles` (what
`newsqa index add` and the app's "Add a web page" both call), through the CLI, and as a feed entry; the
internal service never receives a request. A public outlet is played by a server on 127.0.0.2 that a test
policy lets through (the hook `index.url_policy.public_policy`), under the name news.example (a test resolver).
With the setting on, the same fixtures load.
"""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from ipaddress import ip_network

import pytest
from ssrfguard import Policy
from typer.testing import CliRunner

from chatbot.cli import app as cli
from chatbot.settings import Settings
from index import url_policy
from index.articles import Article
from index.feeds import check_feed_url, sync_feeds
from index.loaders import LoadError
from index.store import ArticleStore
from index.web import WebClient, fetch_articles
from tests.local_site import STORIES, LocalSite, Route, article_page, newsqa, rss

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
INTERNAL = "127.0.0.1, an internal address"


def serve_story(server: LocalSite, path: str, key: str) -> str:
    title, paragraphs = STORIES[key]
    server.routes[path] = Route(article_page(title, paragraphs, "Coast Courier", "2026-11-01"))
    return server.url(path)


@pytest.fixture
def internal():
    """The internal service (think of a Chroma server or an admin page) that no user may make the app read."""
    server = LocalSite().start()
    serve_story(server, "/admin", "rates")
    yield server
    server.stop()


@pytest.fixture
def names(monkeypatch):
    """Public-looking names: news.example is the outlet on 127.0.0.2, intranet.example leads to 127.0.0.1."""
    table = {"news.example": "127.0.0.2", "intranet.example": "127.0.0.1"}
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *args, **kw: real(table.get(host, host), *args, **kw))
    return table


@pytest.fixture
def outlet(monkeypatch, names, internal):
    """A public outlet: 127.0.0.2 on its port is let through the address checks, and nothing else internal is."""
    server = LocalSite(host="127.0.0.2").start()
    allowed = Policy(allowed_networks=(ip_network("127.0.0.2/32"),), allowed_ports=frozenset({80, 443, server.port}))
    monkeypatch.setattr(url_policy, "public_policy", lambda: allowed)
    serve_story(server, "/news/bridge", "bridge")
    server.routes["/go"] = Route(status=302, headers={"Location": internal.url("/admin")})
    server.routes["/go-by-name"] = Route(status=302, headers={"Location": f"http://intranet.example:{internal.port}/admin"})
    yield server
    server.stop()


@pytest.fixture
def closed(tmp_path) -> Settings:
    """The default: internal addresses refused."""
    return Settings(store=tmp_path / "store", fetch_timeout=2, allow_private_urls=False)


def refused_cases(internal: LocalSite, outlet: LocalSite) -> dict[str, str]:
    """URL -> what its one line must say. Each would reach the internal service if it were fetched."""
    port = internal.port
    return {
        internal.url("/admin"): f"is the address {INTERNAL}",
        f"http://intranet.example:{port}/admin": f"resolves to {INTERNAL}",
        outlet.url("/go"): f"redirects to {internal.url('/admin')}, which is the address {INTERNAL}",
        outlet.url("/go-by-name"): f"redirects to http://intranet.example:{port}/admin, which resolves to {INTERNAL}",
        f"http://2130706433:{port}/admin": "'2130706433' is made only of digits and dots but is not a valid address",
        f"http://0x7f.0.0.1:{port}/admin": f"resolves to {INTERNAL}",
        f"http://[::ffff:127.0.0.1]:{port}/admin": "is the address ::ffff:127.0.0.1, an internal address",
        f"http://[::]:{port}/admin": "is the address ::, an internal address",
        "file:///etc/passwd": "is not an http(s) URL",
        f"ftp://127.0.0.1:{port}/admin": "is not an http(s) URL",
    }


def assert_one_line_each(lines: list[str], cases: dict[str, str]) -> None:
    for url, why in cases.items():
        mine = [line for line in lines if line.startswith(f"{url}: ")]
        assert len(mine) == 1 and "\n" not in mine[0], (url, lines)
        assert why in mine[0], mine[0]
        assert "Traceback" not in mine[0]


def test_every_refused_url_is_one_line_and_the_good_page_beside_them_loads(internal, outlet, closed):
    cases = refused_cases(internal, outlet)
    results = list(fetch_articles([*cases, outlet.url("/news/bridge")], closed))
    *refused, good = results
    assert all(isinstance(r, LoadError) for r in refused)
    assert_one_line_each([str(r) for r in refused], cases)
    assert [line for line in map(str, refused) if "NEWSQA_ALLOW_PRIVATE_URLS=true" in line]
    assert isinstance(good, Article) and good.title == STORIES["bridge"][0]
    assert internal.requests == []  # never a single request, robots.txt included


def test_the_library_tab_path_reports_each_refusal_and_indexes_nothing_internal(internal, outlet, closed, embeddings):
    # The app's "Add a web page" is store.add(fetch_articles([url], settings)), one URL at a time.
    store = ArticleStore(closed, embeddings)
    cases = refused_cases(internal, outlet)
    lines = []
    for url in cases:
        report = store.add(fetch_articles([url], closed))
        assert not report.added and len(report.failed) == 1
        lines += report.failed
    assert_one_line_each(lines, cases)
    assert store.articles() == [] and internal.requests == []


def test_a_name_that_resolves_again_to_an_internal_address_is_not_connected_to(outlet, names, closed):
    """The name is checked, then answers 127.0.0.1 when the connection resolves it: the connection is refused,
    and the internal service listening there on the outlet's very port gets nothing."""
    internal_same_port = LocalSite(host="127.0.0.1", port=outlet.port).start()
    serve_story(internal_same_port, "/news/bridge", "rates")
    answers = iter(["127.0.0.2"])
    real = socket.getaddrinfo

    def rebinding(host, *args, **kw):
        return real(next(answers, "127.0.0.1") if host == "news.example" else host, *args, **kw)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket, "getaddrinfo", rebinding)
            with WebClient(closed) as web:
                result = web.fetch(f"http://news.example:{outlet.port}/news/bridge")
    finally:
        internal_same_port.stop()
    assert isinstance(result, LoadError) and INTERNAL in str(result) and "\n" not in str(result)
    assert internal_same_port.requests == []


@pytest.mark.slow
def test_cli_index_add_refuses_each_in_one_line(internal, tmp_path):
    """The real command in a child process: no test hooks there, so the name is localhost."""
    port = internal.port
    cases = {
        internal.url("/admin"): f"is the address {INTERNAL}",
        f"http://localhost:{port}/admin": f"resolves to {INTERNAL}",
        f"http://2130706433:{port}/admin": "is made only of digits and dots",
        f"http://0x7f.0.0.1:{port}/admin": f"resolves to {INTERNAL}",
        f"http://[::ffff:127.0.0.1]:{port}/admin": "is the address ::ffff:127.0.0.1, an internal address",
        "file:///etc/passwd": "is not an http(s) URL",
        f"ftp://127.0.0.1:{port}/admin": "is not an http(s) URL",
    }
    result = newsqa("index", "add", *cases, store=tmp_path / "store", env={"NEWSQA_ALLOW_PRIVATE_URLS": "false"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"0 added, 0 updated, 0 unchanged, {len(cases)} failed")
    assert_one_line_each([line.removeprefix("error: ") for line in result.stderr.splitlines()], cases)
    assert internal.requests == []


@pytest.mark.slow
def test_cli_index_add_refuses_names_and_redirects_that_lead_inside(internal, outlet, tmp_path, monkeypatch):
    """The same command in this process, so that the outlet and the names of the test apply."""
    monkeypatch.setenv("NEWSQA_ALLOW_PRIVATE_URLS", "false")
    cases = {k: v for k, v in refused_cases(internal, outlet).items() if "example" in k or k.startswith(outlet.url(""))}
    result = CliRunner().invoke(cli, ["--store", str(tmp_path / "store"), "index", "add", *cases, outlet.url("/news/bridge")])
    assert result.exit_code == 1, result.output
    assert f"1 added, 0 updated, 0 unchanged, {len(cases)} failed" in result.output
    assert_one_line_each([line.removeprefix("error: ") for line in result.output.splitlines()], cases)
    assert internal.requests == []


def test_a_feed_entry_linking_inside_is_refused_and_the_feed_goes_on(internal, outlet, closed, embeddings):
    bad = [internal.url("/admin"), f"http://intranet.example:{internal.port}/admin"]
    entries = [{"title": f"Entry {n}", "link": link, "guid": link} for n, link in enumerate(bad)]
    entries.append({"title": STORIES["bridge"][0], "link": outlet.url("/news/bridge"), "guid": "bridge"})
    outlet.routes["/feed.xml"] = Route(rss("Coast Courier", entries), content_type="application/rss+xml")
    feed = outlet.url("/feed.xml")
    assert check_feed_url(feed, closed) is None
    report = sync_feeds(ArticleStore(closed, embeddings), closed, NOW, urls=[feed]).feeds[0]
    assert report.added == [outlet.url("/news/bridge")]
    assert len(report.failed) == 2
    for link, line in zip(bad, report.failed):
        assert line.startswith(f"{link}: ") and INTERNAL in line and "\n" not in line
    assert internal.requests == []


def test_an_internal_feed_is_not_followed(internal, closed, embeddings):
    internal.routes["/feed.xml"] = Route(rss("Intranet", []), content_type="application/rss+xml")
    feed = internal.url("/feed.xml")
    assert check_feed_url(feed, closed) == f"{feed}: is the address {INTERNAL} (127.0.0.0/8 is Loopback (RFC1122)): " \
        "not fetched; set NEWSQA_ALLOW_PRIVATE_URLS=true to allow internal addresses"
    report = sync_feeds(ArticleStore(closed, embeddings), closed, NOW, urls=[feed]).feeds[0]  # a followed feed that has become internal
    assert len(report.failed) == 1 and INTERNAL in report.failed[0]
    assert internal.requests == []


def test_credentials_and_other_ports_are_refused_before_anything_is_resolved(closed):
    with WebClient(closed) as web:
        assert "carries a user name or password" in str(web.fetch("http://user:secret@news.example/"))
        assert "only the default ports" in str(web.fetch("http://news.example:8080/"))


def test_with_the_setting_on_the_same_fixtures_load(internal, tmp_path, embeddings):
    """An operator's intranet: NEWSQA_ALLOW_PRIVATE_URLS=true lets every address and port through, never other schemes."""
    open_ = Settings(store=tmp_path / "store", fetch_timeout=2, allow_private_urls=True)
    redirecting = LocalSite(host="127.0.0.2").start()
    try:
        redirecting.routes["/go"] = Route(status=302, headers={"Location": internal.url("/admin")})
        port = internal.port
        urls = [internal.url("/admin"), redirecting.url("/go"), f"http://localhost:{port}/admin",
                f"http://2130706433:{port}/admin", f"http://0x7f.0.0.1:{port}/admin", f"http://[::ffff:127.0.0.1]:{port}/admin"]
        results = list(fetch_articles([*urls, "file:///etc/passwd", f"ftp://127.0.0.1:{port}/admin"], open_))
        assert [r.title if isinstance(r, Article) else str(r) for r in results[: len(urls)]] == [STORIES["rates"][0]] * len(urls)
        assert all(isinstance(r, LoadError) and "is not an http(s) URL" in r.reason for r in results[len(urls):])
        # A feed entry that links to 127.0.0.1 is indexed.
        internal.routes["/feed.xml"] = Route(rss("Intranet", [{"title": "Rates", "link": internal.url("/admin"), "guid": "r"}]),
                                             content_type="application/rss+xml")
        assert check_feed_url(internal.url("/feed.xml"), open_) is None
        report = sync_feeds(ArticleStore(open_, embeddings), open_, NOW, urls=[internal.url("/feed.xml")]).feeds[0]
        assert report.added == [internal.url("/admin")] and not report.failed
    finally:
        redirecting.stop()


def test_internal_addresses_are_refused_unless_the_setting_says_otherwise(monkeypatch):
    monkeypatch.delenv("NEWSQA_ALLOW_PRIVATE_URLS")
    assert Settings().allow_private_urls is False
    monkeypatch.setenv("NEWSQA_ALLOW_PRIVATE_URLS", "true")
    assert Settings().allow_private_urls is True


def test_a_proxy_the_checks_cannot_see_through_stops_every_fetch_in_one_line(monkeypatch, closed):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    (result,) = fetch_articles(["https://news.example/a"], closed)
    assert isinstance(result, LoadError) and "\n" not in str(result)
    assert str(result).startswith("https://news.example/a: a proxy is configured (http://127.0.0.1:9)")
