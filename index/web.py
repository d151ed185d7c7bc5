"""Fetching from the web, politely: a clear user agent, timeouts, robots.txt, a size limit, content-type checks.

Every failure becomes a `LoadError` naming the URL and what went wrong, never an exception, so one bad
URL never stops the others. Redirects are followed by hand so that robots.txt and the address rules
(index/url_policy.py) are checked at every hop.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
import lxml.etree
import lxml.html
from ssrfguard import ProxyUnsupportedError, SSRFGuardError

from index.articles import Article
from index.loaders import LoadError, decode, parse_html
from index.url_policy import is_url, open_client, refusal_reason, refused

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
# The whole download may take this many timeouts: a server that drips bytes forever still ends.
TOTAL_TIME_FACTOR = 3


def host_name(url: str) -> str:
    """'www.example.com' -> 'example.com': an outlet name when a page names none."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


@dataclass
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str  # without parameters, lower case; "" when the server sent none
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    charset: str | None = None

    def text(self) -> str | LoadError:
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:  # an unknown charset name: detect instead
                pass
        decoded = decode(self.body)
        return LoadError(self.url, decoded.reason) if isinstance(decoded, LoadError) else decoded


class WebClient:
    """One HTTP client for a batch of fetches (it caches robots.txt per site). Use as a context manager.

    `settings` gives fetch_timeout, fetch_max_bytes, user_agent and allow_private_urls."""

    def __init__(self, settings):
        self.timeout = float(settings.fetch_timeout)
        self.max_bytes = int(settings.fetch_max_bytes)
        self.user_agent = settings.user_agent
        self.allow_private = bool(settings.allow_private_urls)
        self.unusable = ""  # why nothing can be fetched at all (a proxy that the address checks cannot see through)
        options = dict(timeout=httpx.Timeout(self.timeout), follow_redirects=False, headers={"User-Agent": self.user_agent})
        try:
            self.client = open_client(self.allow_private, **options)
        except ProxyUnsupportedError as exc:
            self.unusable = refusal_reason("", exc)
            self.client = httpx.Client(trust_env=False, **options)  # never used to fetch: only closed
        self._robots: dict[str, RobotFileParser | LoadError] = {}

    def __enter__(self) -> "WebClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- robots.txt -------------------------------------------------------------
    def _robots_for(self, url: str) -> RobotFileParser | LoadError:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._robots:
            self._robots[site] = self._read_robots(site)
        return self._robots[site]

    def _read_robots(self, site: str) -> RobotFileParser | LoadError:
        """RFC 9309: a missing robots.txt allows everything; an unreachable one allows nothing."""
        parser = RobotFileParser(f"{site}/robots.txt")
        try:
            response = self.client.get(f"{site}/robots.txt", follow_redirects=True)
        except httpx.HTTPError as exc:
            return LoadError(site, f"its robots.txt cannot be read ({_http_reason(exc, self.timeout)}), so nothing there is fetched")
        except SSRFGuardError as exc:  # it redirects somewhere refused
            return LoadError(site, f"its robots.txt cannot be read ({refusal_reason(site, exc)}), so nothing there is fetched")
        if response.status_code >= 500:
            return LoadError(site, f"its robots.txt answers HTTP {response.status_code}, so nothing there is fetched; try later")
        if response.status_code in (401, 403):
            parser.disallow_all = True
        elif response.status_code >= 400:
            parser.allow_all = True
        else:
            parser.parse(response.text[: self.max_bytes].splitlines())
        return parser

    def allowed(self, url: str) -> LoadError | None:
        robots = self._robots_for(url)
        if isinstance(robots, LoadError):
            return LoadError(url, robots.reason)
        if not robots.can_fetch(self.user_agent, url):
            return LoadError(url, f"robots.txt of {urlsplit(url).netloc} disallows fetching it; not fetched")
        return None

    # -- fetching ---------------------------------------------------------------
    def fetch(self, url: str, headers: dict[str, str] | None = None, html_only: bool = False) -> Fetched | LoadError:
        """GET a URL (redirects followed; the address rules and robots.txt checked at each hop). A 304 is
        returned as is.

        With `html_only`, a response that says it is not HTML is refused before its body is downloaded.
        """
        url = url.strip()
        if self.unusable:
            return LoadError(url, self.unusable)
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            why = refused(current, self.allow_private)
            if why:
                return LoadError(url, why if current == url else f"redirects to {current}, which {why}")
            robots = self.allowed(current)
            if robots:
                return LoadError(url, robots.reason if current == url else f"redirects to {current}, but {robots.reason}")
            log.info("fetching %s", current)
            try:
                result = self._get(current, headers or {}, html_only)
            except httpx.HTTPError as exc:
                return LoadError(url, _http_reason(exc, self.timeout))
            except SSRFGuardError as exc:  # the name now resolves somewhere else, and that is refused
                return LoadError(url, refusal_reason(current, exc))
            if isinstance(result, LoadError):
                return LoadError(url, result.reason)
            if result.status in (301, 302, 303, 307, 308) and "location" in result.headers:
                current = urljoin(current, result.headers["location"])
                continue
            if result.status >= 400:
                phrase = httpx.codes.get_reason_phrase(result.status)
                return LoadError(url, f"answered HTTP {result.status} {phrase}".rstrip())
            return result
        return LoadError(url, f"redirects more than {MAX_REDIRECTS} times")

    def _get(self, url: str, headers: dict[str, str], html_only: bool) -> Fetched | LoadError:
        deadline = time.monotonic() + TOTAL_TIME_FACTOR * self.timeout
        with self.client.stream("GET", url, headers=headers) as response:
            kept = {k.lower(): v for k, v in response.headers.items() if k.lower() in ("location", "etag", "last-modified")}
            if response.status_code >= 300:
                return Fetched(str(response.url), response.status_code, "", b"", kept)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if html_only and content_type and content_type not in HTML_TYPES:
                hint = "; to follow a feed use `newsqa feeds add URL`" if "xml" in content_type else ""
                return LoadError(url, f"is {content_type}, not an HTML page{hint}")
            limit = f"the {_size(self.max_bytes)} limit (NEWSQA_FETCH_MAX_BYTES)"
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                return LoadError(url, f"is {_size(int(declared))}, over {limit}")
            body = bytearray()
            for piece in response.iter_bytes():
                body += piece
                if len(body) > self.max_bytes:
                    return LoadError(url, f"is over {limit}")
                if time.monotonic() > deadline:
                    return LoadError(url, f"took over {TOTAL_TIME_FACTOR * self.timeout:g} s to download; try again later")
            return Fetched(str(response.url), response.status_code, content_type, bytes(body), kept, response.charset_encoding)

    def article(self, url: str) -> Article | LoadError:
        """The article on a web page; its url is the page's canonical URL, so re-adding it updates it."""
        fetched = self.fetch(url, html_only=True)
        if isinstance(fetched, LoadError):
            return fetched
        return article_from_page(fetched, origin=url)


def article_from_page(fetched: Fetched, origin: str) -> Article | LoadError:
    """Extract the article from a fetched HTML page (trafilatura), with the canonical URL as its url."""
    if fetched.content_type and fetched.content_type not in HTML_TYPES:
        return LoadError(origin, f"is {fetched.content_type}, not an HTML page")
    text = fetched.text()
    if isinstance(text, LoadError):
        return LoadError(origin, text.reason)
    article = parse_html(text, origin, url=fetched.url)
    if isinstance(article, LoadError):
        return article
    canonical = canonical_url(text, fetched.url) or article.url
    if not (is_url(canonical) and host_name(canonical) == host_name(fetched.url)):
        # A copy that names another site's page as canonical (syndication) stays a page of its own site:
        # taking that URL would make it overwrite the original; the duplicate check links the two instead.
        canonical = fetched.url
    return article.model_copy(update={"url": canonical, "source": article.source or host_name(canonical)})


def canonical_url(html: str, base: str) -> str:
    """The absolute URL of the page's <link rel="canonical">, or ""."""
    try:
        root = lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return ""
    for link in root.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return urljoin(base, link.get("href").strip())
    return ""


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _http_reason(exc: httpx.HTTPError, timeout: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"did not answer within {timeout:g} s; try again later (or raise NEWSQA_FETCH_TIMEOUT)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc}); check the address"
    return f"failed ({type(exc).__name__}: {exc})"


def fetch_articles(urls: list[str], settings) -> Iterator[Article | LoadError]:
    """Articles from web pages, one LoadError for each URL that fails."""
    with WebClient(settings) as web:
        for url in urls:
            yield web.article(url)

