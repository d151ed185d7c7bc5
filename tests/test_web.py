"""Web pages over real HTTP on 127.0.0.1: fetching politely, failing clearly, indexing under the canonical URL."""

from __future__ import annotations


import pytest

from chatbot.settings import Settings
from index.loaders import LoadError
from index.store import ArticleStore
from index.web import WebClient, fetch_articles
from tests.local_site import STORIES, Route, article_page, newsqa, site  # noqa: F401  (site is a fixture)


@pytest.fixture
def web_settings(tmp_path) -> Settings:
    # A short timeout keeps the never-answering page quick; a small size limit makes "oversize" cheap.
    return Settings(store=tmp_path / "store", fetch_timeout=0.5, fetch_max_bytes=20_000)


def serve_story(site, path: str, key: str, outlet: str, published: str, canonical: str = "") -> None:
    title, paragraphs = STORIES[key]
    site.routes[path] = Route(article_page(title, paragraphs, outlet, published, canonical=canonical))


def test_page_becomes_article_with_metadata_and_user_agent(site, web_settings):
    serve_story(site, "/news/bridge", "bridge", "Harbour Times", "2026-11-20T09:00:00+00:00", canonical="/news/bridge")
    with WebClient(web_settings) as web:
        article = web.article(site.url("/news/bridge"))
    assert not isinstance(article, LoadError), article
    assert article.title == STORIES["bridge"][0]
    assert article.source == "Harbour Times"
    assert article.published_at.date().isoformat() == "2026-11-20"
    assert "suspension cables" in article.body
    assert "Copyright" not in article.body  # the page's furniture is not the article
    assert article.url == site.url("/news/bridge")
    agents = {headers.get("user-agent") for _, headers in site.requests}
    assert agents == {web_settings.user_agent}
    assert site.paths()[0] == "/robots.txt"


def test_redirect_lands_on_the_canonical_url(site, web_settings):
    serve_story(site, "/news/bridge", "bridge", "Harbour Times", "2026-11-20", canonical="/news/bridge")
    site.routes["/b?id=7"] = Route(status=301, headers={"Location": "/news/bridge"})
    # The same page reached under a tracking URL names its canonical address in <link rel=canonical>.
    serve_story(site, "/news/bridge?utm_source=rss", "bridge", "Harbour Times", "2026-11-20", canonical="/news/bridge")
    with WebClient(web_settings) as web:
        urls = {web.article(site.url(p)).url for p in ("/b?id=7", "/news/bridge?utm_source=rss", "/news/bridge")}
    assert urls == {site.url("/news/bridge")}


@pytest.mark.parametrize(
    "route, expected",
    [
        (Route(b"gone", status=404), "answered HTTP 404 Not Found"),
        (Route(hang=True), "did not answer within 0.5 s"),
        (Route(b"%PDF-1.7 not html", content_type="application/pdf"), "is application/pdf, not an HTML page"),
        (Route(b"<rss/>", content_type="application/rss+xml"), "not an HTML page; to follow a feed use `newsqa feeds add URL`"),
        (Route(b"<html><body>" + b"<p>word</p>" * 3000 + b"</body></html>"), "over the 20.0 kB limit"),
        (Route(b"<html><body>" + b"<p>word</p>" * 3000 + b"</body></html>", declare_length=False), "over the 20.0 kB limit"),
        (Route(b"<html><body><nav>menu</nav></body></html>"), "not an article"),
        (Route(status=302, headers={"Location": "/loop"}), "redirects more than 5 times"),
    ],
    ids=["404", "timeout", "not-html", "feed", "oversize", "oversize-streamed", "no-text", "redirect-loop"],
)
def test_bad_pages_give_one_clear_line(site, web_settings, route, expected):
    site.routes["/loop"] = route if route.status == 302 else Route(status=302, headers={"Location": "/loop"})
    site.routes["/page"] = route
    with WebClient(web_settings) as web:
        result = web.article(site.url("/page"))
    assert isinstance(result, LoadError)
    assert str(result).startswith(site.url("/page") + ": ")
    assert expected in str(result)
    assert "\n" not in str(result)


def test_robots_txt_is_respected_at_every_hop(site, web_settings):
    site.routes["/private/memo"] = Route(article_page("Memo", STORIES["solar"][1], "Internal", "2026-11-01"))
    site.routes["/go"] = Route(status=302, headers={"Location": "/private/memo"})
    with WebClient(web_settings) as web:
        direct = web.article(site.url("/private/memo"))
        redirected = web.article(site.url("/go"))
    assert "robots.txt" in str(direct) and "disallows" in str(direct)
    assert "redirects to" in str(redirected) and "disallows" in str(redirected)
    assert "/private/memo" not in site.paths()
    assert site.paths().count("/robots.txt") == 1  # read once per site


def test_not_a_url_is_refused():
    with WebClient(Settings(fetch_timeout=0.5)) as web:
        result = web.fetch("ftp://127.0.0.1/x")
    assert isinstance(result, LoadError) and "not an http(s) URL" in result.reason


@pytest.mark.slow
def test_index_add_urls_updates_never_duplicates(site, tmp_path, embeddings):
    serve_story(site, "/news/bridge", "bridge", "Harbour Times", "2026-11-20T09:00:00+00:00", canonical="/news/bridge")
    site.routes["/short/1"] = Route(status=301, headers={"Location": "/news/bridge"})
    site.routes["/hang"] = Route(hang=True)
    store = tmp_path / "store"
    first = newsqa("index", "add", site.url("/news/bridge"), site.url("/missing"), site.url("/hang"), store=store)
    assert first.returncode == 1  # something failed ...
    assert first.stdout.startswith("1 added")  # ... and the good URL beside the bad ones still went in
    errors = [line for line in first.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2 and "HTTP 404" in errors[0] and "did not answer" in errors[1]
    assert "Traceback" not in first.stderr

    # The page changes; it is added again under its URL and under a short link that redirects to it:
    # the one article is updated once, then found unchanged, never duplicated.
    title, paragraphs = STORIES["bridge"]
    extra = "Update: the weight limit was lifted on Friday after the load tests ended early."
    site.routes["/news/bridge"] = Route(article_page(title, paragraphs + [extra], "Harbour Times", "2026-11-20", "/news/bridge"))
    settings = Settings(store=store)
    again = ArticleStore(settings, embeddings).add(fetch_articles([site.url("/news/bridge"), site.url("/short/1")], settings))
    assert (len(again.added), len(again.updated), len(again.unchanged)) == (0, 1, 1)

    articles = ArticleStore(settings, embeddings)
    rows = articles.articles()
    assert [(r["url"], r["source"], r["published_at"][:10]) for r in rows] == [(site.url("/news/bridge"), "Harbour Times", "2026-11-20")]
    assert any(extra in text for text in articles.all_chunks()["documents"])
