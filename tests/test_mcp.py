"""`newsqa mcp` (issue 19) as a child process, driven over stdio by the official MCP SDK's client:
ask and search with their citations, article records as resources, one-line tool errors, and the
write tools only when the user enables them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from chatbot.chain import build_chain
from chatbot.settings import Settings
from index.loaders import load_path
from index.store import ArticleStore
from tests.conftest import ROOT, SEEDS
from tests.local_site import STORIES, Route, article_page, site  # noqa: F401  (site is a fixture)
from tests.serving import free_port

pytestmark = pytest.mark.slow
QUESTION = "What are rare earth minerals?"


def documented_config() -> dict:
    """The MCP client configuration shown in docs/api.md."""
    block = re.search(r"```json\n(.*?)```", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.DOTALL).group(1)
    return json.loads(block)["mcpServers"]["newsqa"]


def mcp_server(store, **env) -> StdioServerParameters:
    """`newsqa mcp` as the documented configuration starts it, on `store`; the SDK passes the child only a
    few safe variables, plus these."""
    config = documented_config()
    env = {**config["env"], "NEWSQA_STORE": str(store), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "NEWSQA_CONFIG": os.environ["NEWSQA_CONFIG"], **env}
    script = shutil.which(config["command"]) or Path(sys.executable).parent / config["command"]
    # The installed `newsqa` script; PYTHONPATH makes it run this checkout's code.
    command = [str(script)] if Path(script).exists() else [sys.executable, "-m", "chatbot"]
    return StdioServerParameters(command=command[0], args=[*command[1:], *config["args"]], env=env, cwd=str(ROOT))


def session(params, steps):
    """Connect to the server, run `steps(client)` and return what it returns."""
    async def run():
        async with Client(params, read_timeout_seconds=180) as client:
            return await steps(client)

    return asyncio.run(run())


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory, embeddings):
    settings = Settings(store=tmp_path_factory.mktemp("mcp") / "store")
    store = ArticleStore(settings, embeddings)
    assert not store.add(load_path(SEEDS / "putin_rare_earths.txt")).failed
    return settings, store


def test_ask_and_search_over_stdio(seed_store):
    settings, store = seed_store
    expected = build_chain(settings, store=store).ask(QUESTION)

    async def steps(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        asked = await client.call_tool("ask", {"question": QUESTION})
        searched = await client.call_tool("search", {"query": "rare earth minerals Russia", "k": 3})
        listed = await client.call_tool("list_articles", {"query": "putin"})
        templates = (await client.list_resource_templates()).resource_templates
        record = await client.read_resource(listed.structured_content["articles"][0]["uri"])
        empty = await client.call_tool("ask", {"question": "  "})
        unknown = await client.call_tool("search", {"query": "rare earths", "sources": ["Nowhere Times"]})
        bad_day = await client.call_tool("ask", {"question": QUESTION, "since": "last week"})
        return tools, asked, searched, listed, templates, record, empty, unknown, bad_day

    tools, asked, searched, listed, templates, record, empty, unknown, bad_day = session(mcp_server(settings.store), steps)
    # Read-only: no tool that writes.
    assert set(tools) == {"ask", "search", "list_articles"} and all(t.annotations.read_only_hint for t in tools.values())

    answer = asked.structured_content
    assert not asked.is_error and answer["answer"] == expected.text and not answer["abstained"]
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer["answer"])} == {c["n"] for c in answer["citations"]} != set()
    for c, cited in zip(answer["citations"], expected.citations):
        assert (c["title"], c["outlet"], c["sentence"], c["article_id"]) == (cited.title, cited.source, cited.sentence, cited.article_id)

    passages = searched.structured_content["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert all(p["title"].startswith("Putin Signals") and p["outlet"] == "newsqa seed" and p["text"] for p in passages)

    (article,) = listed.structured_content["articles"]
    assert article["uri"] == f"newsqa://articles/{article['id']}" and article["id"] == expected.citations[0].article_id
    assert [t.uri_template for t in templates] == ["newsqa://articles/{article_id}"]
    assert '"title": "Putin Signals Willingness' in record.contents[0].text

    assert empty.is_error and "the question is empty" in empty.content[0].text
    assert unknown.is_error and "unknown outlet 'Nowhere Times'" in unknown.content[0].text
    assert bad_day.is_error and "since" in bad_day.content[0].text


def test_write_tools_only_when_enabled(tmp_path, site):  # noqa: F811  (site is a fixture)
    title, paragraphs = STORIES["bridge"]
    site.routes["/news/bridge"] = Route(article_page(title, paragraphs, "Coast Courier", "2026-11-01", canonical="/news/bridge"))
    store = tmp_path / "store"

    async def steps(client):
        names = {t.name for t in (await client.list_tools()).tools}
        added = await client.call_tool("add_url", {"url": site.url("/news/bridge")})
        not_a_url = await client.call_tool("add_url", {"url": "file:///etc/passwd"})
        found = await client.call_tool("search", {"query": "How much did the bridge repairs cost?", "k": 1})
        return names, added, not_a_url, found

    # The local site is on 127.0.0.1: internal addresses must be allowed for add_url to fetch it (issue 20).
    names, added, not_a_url, found = session(mcp_server(store, NEWSQA_MCP_WRITES="true", NEWSQA_FETCH_TIMEOUT="2",
                                        NEWSQA_ALLOW_PRIVATE_URLS="true"), steps)
    assert {"add_url", "add_feed"} <= names
    assert not added.is_error and added.content[0].text.startswith("1 added, 0 updated")
    assert not_a_url.is_error and "is not an http(s) URL" in not_a_url.content[0].text
    assert "84 million euros" in found.structured_content["passages"][0]["text"]

    # Without the setting, the same store is only read.
    names = session(mcp_server(store), lambda client: _tool_names(client))
    assert names == {"ask", "search", "list_articles"}


async def _tool_names(client) -> set[str]:
    return {t.name for t in (await client.list_tools()).tools}


def test_streamable_http_on_localhost(seed_store):
    settings, _ = seed_store
    port = free_port()
    params = mcp_server(settings.store)
    server = subprocess.Popen([params.command, *params.args, "--http", "--port", str(port)], cwd=ROOT,
                              env={**os.environ, **params.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(240):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.5)

        async def steps(client):
            return await _tool_names(client), await client.call_tool("ask", {"question": QUESTION})

        names, asked = session(f"http://127.0.0.1:{port}/mcp", steps)
        assert names == {"ask", "search", "list_articles"} and asked.structured_content["citations"]
    finally:
        server.terminate()
        server.wait(timeout=30)
