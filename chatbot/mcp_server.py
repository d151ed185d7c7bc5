"""newsqa as an MCP server (`newsqa mcp`), on the official MCP Python SDK's MCPServer (FastMCP in mcp 1.x).

Tools `ask` (an answer with structured citations), `search` (passages with their metadata) and
`list_articles`; each article record is a resource (newsqa://articles/{id}). The server only reads,
unless the user enables writes (NEWSQA_MCP_WRITES=true): then `add_url` and `add_feed` are offered too.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Annotated, Callable, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from chatbot.api import citations_json
from chatbot.chain import Filters, NewsQA
from chatbot.rendering import day, safe_url
from chatbot.settings import Settings
from index.errors import UserError

ARTICLE_URI = "newsqa://articles/{article_id}"
MAX_LISTED = 200
READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=True)
T = TypeVar("T")

Since = Annotated[date | None, Field(description="Only articles published on or after this day (YYYY-MM-DD).")]
Until = Annotated[date | None, Field(description="Only articles published on or before this day (YYYY-MM-DD).")]
Sources = Annotated[list[str] | None, Field(description="Only these outlets (as list_articles names them).")]


class CitationOut(BaseModel):
    n: int = Field(description="The number of the [n] markers in the answer that cite this passage.")
    title: str
    outlet: str
    also_published_by: list[str]
    date: str = Field(description="Publication day (YYYY-MM-DD), empty when unknown.")
    url: str
    sentence: str = Field(description="The sentence of the article the answer relies on.")
    article_id: str


class AskResult(BaseModel):
    answer: str = Field(description="The answer, with [n] markers pointing to the citations.")
    citations: list[CitationOut]
    query: str = Field(description="The retrieval query actually used.")
    abstained: bool = Field(description="True when no indexed article supports an answer.")
    notice: str = ""


class Passage(BaseModel):
    rank: int
    text: str
    title: str
    outlet: str
    date: str
    url: str
    article_id: str
    chunk_id: str


class SearchResult(BaseModel):
    passages: list[Passage]


class ArticleOut(BaseModel):
    id: str
    title: str
    outlet: str
    date: str
    url: str
    chunks: int
    uri: str = Field(description="The article's record as an MCP resource.")


class ArticleList(BaseModel):
    articles: list[ArticleOut]
    total: int = Field(description=f"Articles that match; at most {MAX_LISTED} are listed.")


def user_errors(fn: Callable[..., T], *args, **kwargs) -> T:
    """Run `fn`; a product error reaches the client as the tool's one-line error message."""
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        raise ToolError(str(exc)) from None


def article_out(record: dict) -> ArticleOut:
    return ArticleOut(
        id=record["id"], title=record.get("title", ""), outlet=record.get("source", ""), date=day(record.get("published_at", "")),
        url=safe_url(record.get("url", "")), chunks=int(record.get("chunks") or 0), uri=ARTICLE_URI.format(article_id=record["id"]),
    )


def matching_articles(records: list[dict], query: str | None, since: date | None, until: date | None) -> list[dict]:
    """Records whose title, outlet or author holds `query` (any case), published within since..until."""
    needle = (query or "").strip().lower()
    out = []
    for r in records:
        published = day(r.get("published_at", ""))
        if needle and needle not in f"{r.get('title', '')} {r.get('source', '')} {r.get('author', '')}".lower():
            continue
        if (since or until) and not published:
            continue
        if (since and published < since.isoformat()) or (until and published > until.isoformat()):
            continue
        out.append(r)
    return out


def build_server(chain: NewsQA, settings: Settings) -> MCPServer:
    server = MCPServer(
        "newsqa",
        instructions="Answers questions from the indexed news articles. Every claim in an answer carries an [n] marker;"
        " cite the matching entry of `citations` (title, outlet, date, url) when you use it.",
    )

    def question_checked(question: str) -> str:
        if len(question) > settings.max_question_chars:
            raise ToolError(f"the question is {len(question)} characters long; at most {settings.max_question_chars} are accepted")
        return question.strip()

    @server.tool(annotations=READS)
    def ask(question: str, sources: Sources = None, since: Since = None, until: Until = None) -> AskResult:
        """Answer a question from the indexed news articles, with numbered citations ([n] in the answer)."""
        answer = user_errors(chain.ask, question_checked(question), None, Filters(sources or None, since, until))
        return AskResult(answer=answer.text, citations=[CitationOut(**c) for c in citations_json(answer.citations)],
                         query=answer.query, abstained=answer.abstained, notice=answer.notice)

    @server.tool(annotations=READS)
    def search(
        query: str, k: Annotated[int, Field(ge=1, le=50, description="How many passages.")] = 5,
        sources: Sources = None, since: Since = None, until: Until = None,
    ) -> SearchResult:
        """The indexed passages that best match `query`, best first, with their article's metadata."""
        query = question_checked(query)
        user_errors(chain.check, query, Filters(sources or None, since, until))
        docs = user_errors(chain.retriever.search, query, k=k, sources=sources or None, since=since, until=until)
        return SearchResult(passages=[
            Passage(rank=rank, text=d.page_content, title=d.metadata.get("title", ""), outlet=d.metadata.get("source", ""),
                    date=day(d.metadata.get("published_at", "")), url=safe_url(d.metadata.get("url", "")),
                    article_id=d.metadata.get("article_id", ""), chunk_id=str(d.metadata.get("chunk_id", d.id or "")))
            for rank, d in enumerate(docs, 1)
        ])

    @server.tool(annotations=READS)
    def list_articles(
        query: Annotated[str | None, Field(description="Words of the title, outlet or author.")] = None,
        since: Since = None, until: Until = None,
    ) -> ArticleList:
        """The indexed articles, newest first, optionally only those matching `query` or a date range."""
        found = matching_articles(user_errors(chain.store.articles), query, since, until)
        return ArticleList(articles=[article_out(r) for r in found[:MAX_LISTED]], total=len(found))

    @server.resource(ARTICLE_URI, mime_type="application/json", description="An indexed article's record.")
    def article(article_id: str) -> str:
        try:
            record = chain.store.article(article_id)
        except UserError as exc:
            raise ResourceError(str(exc)) from None
        if record is None:
            raise ResourceNotFoundError(f"no article with id {article_id!r}; list_articles gives the ids")
        return json.dumps(record, ensure_ascii=False)

    if settings.mcp_writes:
        add_writes(server, chain, settings)
    return server


def add_writes(server: MCPServer, chain: NewsQA, settings: Settings) -> None:
    """The tools that add to the store (only with NEWSQA_MCP_WRITES=true)."""
    from index.feeds import FeedRegistry, FeedStateError, check_feed_url, sync_feeds
    from index.web import fetch_articles, is_url

    @server.tool(annotations=WRITES)
    def add_url(url: str) -> str:
        """Fetch one web page (http/https) and index its article; re-adding an unchanged page adds nothing."""
        if not is_url(url.strip()):
            raise ToolError(f"{url!r} is not an http(s) URL; give the page's address")
        report = user_errors(chain.store.add, fetch_articles([url.strip()], settings))
        return "\n".join([report.summary(), *report.failed])

    @server.tool(annotations=WRITES)
    def add_feed(url: str) -> str:
        """Follow an RSS or Atom feed and index its articles now; `newsqa feeds sync` or the app syncs it later."""
        problem = check_feed_url(url.strip())
        if problem:
            raise ToolError(problem)
        now = datetime.now(timezone.utc)
        try:
            FeedRegistry(settings.store).add(url.strip(), now)
            report = sync_feeds(chain.store, settings, now, urls=[url.strip()])
        except FeedStateError as exc:
            raise ToolError(str(exc)) from None
        return "\n".join([report.summary(), *(line for feed in report.feeds for line in feed.failed)])
