"""The OpenAI-compatible endpoint (issue 19) over real HTTP on 127.0.0.1: the official `openai` client,
streaming or not, follow-ups through `messages`, citations that match the [n] markers, filters, the
password, and every kind of bad input answered in OpenAI's error shape."""

from __future__ import annotations

from dataclasses import replace

import json
import re

import httpx
import openai
import pytest

from chatbot.api import SOURCES_HEADING, history_from_messages, sources_block
from chatbot.chain import Filters, build_chain
from chatbot.followup import Turn
from chatbot.settings import Settings
from index.loaders import load_path
from index.store import ArticleStore
from tests.conftest import ROOT, SEEDS
from tests.serving import served

QUESTION = "What are rare earth minerals?"
FOLLOWUP = "How important are they to Russia's economy?"
USER, PASSWORD = "reader", "s3cret"
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def url(seeded_chain, seeded_settings):
    with served(seeded_chain, seeded_settings) as url:
        yield url


@pytest.fixture(scope="module")
def client(url) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}v1", api_key="unused without a password", max_retries=0, timeout=120)


def answer_part(content: str) -> str:
    return content.partition(f"\n\n{SOURCES_HEADING}")[0]


def test_models_lists_newsqa(client):
    assert [m.id for m in client.models.list()] == ["newsqa"]


def test_answer_keeps_its_markers_and_lists_its_citations(client, seeded_chain):
    response = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": QUESTION}])
    content = response.choices[0].message.content
    citations = response.model_extra["citations"]
    expected = seeded_chain.ask(QUESTION)  # the chat's own answer to the same question
    assert answer_part(content) == expected.text and expected.citations
    assert citations and {int(n) for n in MARKER.findall(answer_part(content))} == {c["n"] for c in citations}
    assert content.endswith(sources_block(expected.citations))
    for c, cited in zip(citations, expected.citations):
        assert (c["title"], c["outlet"], c["sentence"], c["article_id"]) == (cited.title, cited.source, cited.sentence, cited.article_id)
        assert c["sentence"] and c["sentence"] in cited.text
    assert response.object == "chat.completion" and response.model == "newsqa" and response.choices[0].finish_reason == "stop"


def test_streamed_answer_is_the_same_with_citations_on_the_last_chunk(client):
    whole = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": QUESTION}])
    chunks = list(client.chat.completions.create(model="newsqa", stream=True, messages=[{"role": "user", "content": QUESTION}]))
    assert all(c.object == "chat.completion.chunk" for c in chunks) and len(chunks) > 3
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert {int(n) for n in MARKER.findall(answer_part(streamed))} == {c["n"] for c in last.model_extra["citations"]}


def test_the_stream_is_server_sent_events_ending_with_done(url):
    body = {"model": "newsqa", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    with httpx.stream("POST", f"{url}v1/chat/completions", json=body, timeout=120) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]" and events.count("data: [DONE]") == 1
    assert "citations" in json.loads(events[-2][6:])


def test_a_follow_up_through_messages_is_answered_as_in_the_chat(client, seeded_chain):
    first = client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": QUESTION}])
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": FOLLOWUP},
    ]
    followup = client.chat.completions.create(model="newsqa", messages=messages)
    # The chat's history after the first answer gives the same follow-up answer and the same search.
    asked = seeded_chain.ask(QUESTION)
    expected = seeded_chain.ask(FOLLOWUP, [Turn.after(QUESTION, asked)])
    assert answer_part(followup.choices[0].message.content) == expected.text
    assert followup.model_extra["newsqa"]["query"] == expected.query != FOLLOWUP
    assert [c["article_id"] for c in followup.model_extra["citations"]] == [c.article_id for c in expected.citations]


def test_history_from_messages_pairs_turns_and_reads_the_cited_articles(seeded_chain):
    answer = seeded_chain.ask(QUESTION)
    content = f"{answer.text}\n\n{sources_block(answer.citations)}"
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Hello! Ask me about the news."},  # no question before it: not a turn
        {"role": "user", "content": f"  {QUESTION} "},
        {"role": "assistant", "content": content},
        {"role": "user", "content": "And the second?"},
        {"role": "user", "content": "  "},
    ]
    turns = history_from_messages(messages, max_turns=20, max_chars=2000)
    # The Sources block carries article ids, not a parseable title list: the turn keeps no cited titles.
    assert turns == [replace(Turn.after(QUESTION, answer), cited_titles=[]), Turn("And the second?", "And the second?")]
    assert turns[0].cited_article_ids == [c.article_id for c in answer.citations]
    many = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"message {n}"} for n in range(1000)]
    turns = history_from_messages(many, max_turns=20, max_chars=5)
    assert len(turns) == 20 and turns[-1] == Turn("messa", "messa", "message 999") and turns[0].answer == "message 961"


def test_filters_in_the_newsqa_field(client, seeded_chain):
    outlet = "newsqa seed"
    response = client.chat.completions.create(
        model="newsqa", messages=[{"role": "user", "content": QUESTION}], extra_body={"newsqa": {"sources": [outlet]}}
    )
    citations = response.model_extra["citations"]
    assert citations and {c["outlet"] for c in citations} == {outlet}
    assert answer_part(response.choices[0].message.content) == seeded_chain.ask(QUESTION, filters=Filters(sources=[outlet])).text
    with pytest.raises(openai.BadRequestError, match="unknown outlet 'Nowhere Times'"):
        client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"newsqa": {"sources": ["Nowhere Times"]}})
    with pytest.raises(openai.BadRequestError, match="since is after --until|is after"):
        client.chat.completions.create(model="newsqa", messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"newsqa": {"since": "2024-02-01", "until": "2024-01-01"}})


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and "\n" not in error["message"] and "Traceback" not in error["message"]
    return error


def post(url: str, body, **kwargs) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}v1/chat/completions", content=content, headers={"content-type": "application/json"}, timeout=120, **kwargs)


def ask_body(*messages, **extra) -> dict:
    return {"model": "newsqa", "messages": list(messages), **extra}


def user(text) -> dict:
    return {"role": "user", "content": text}


@pytest.mark.parametrize(
    "body, status, says, param",
    [
        (b'{"model": "newsqa", "messages": [', 400, "not valid JSON", None),
        (b"", 400, "not valid JSON", None),
        (b'["newsqa"]', 400, "must be a JSON object", None),
        ({"model": "newsqa"}, 400, "messages: is required", "messages"),
        (ask_body(), 400, "messages: List should have at least 1 item", "messages"),
        ({"messages": [user(QUESTION)]}, 400, "model: is required", "model"),
        (ask_body(user(QUESTION), model="gpt-4o"), 404, "the model 'gpt-4o' does not exist", "model"),
        (ask_body({"role": "tool", "content": "42"}, user(QUESTION)), 400, "messages[0].role: Input should be 'system', 'user' or 'assistant'", "messages[0].role"),
        (ask_body({"role": "user"}, {"role": "assistant", "content": 3}), 400, "messages[1].content must be a string or a list of text parts", "messages[1].content"),
        (ask_body({"role": "user", "content": ["hi"]}), 400, "messages[0].content[0] is a 'str' part", "messages[0].content[0]"),
        (ask_body({"role": "user", "content": [{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}),
         400, "messages[0].content[1] is a 'image_url' part; newsqa reads only text parts", "messages[0].content[1]"),
        (ask_body(user(QUESTION), {"role": "assistant", "content": "An answer."}), 400, "the last message must be the user's question", "messages[1].role"),
        (ask_body(user("   ")), 400, "the question (the last message) is empty", "messages[0].content"),
        (ask_body(user("x" * 2**20)), 400, "the question is 1048576 characters long; at most 1000", "messages[0].content"),
        (ask_body(user(QUESTION), newsqa={"since": "last week"}), 400, "newsqa.since: Input should be a valid date", "newsqa.since"),
        (ask_body(user(QUESTION), newsqa={"outlets": ["AP"]}), 400, "newsqa.outlets: Extra inputs are not permitted", "newsqa.outlets"),
        (ask_body(user("word " * 1_000_000)), 413, "the request body is", None),
    ],
)
def test_bad_requests_get_an_openai_error(url, body, status, says, param):
    error = error_of(post(url, body), status)
    assert says in error["message"]
    if param:
        assert error["param"] == param


def test_a_message_of_a_megabyte_early_in_the_conversation_is_clipped_not_refused(url):
    body = ask_body(user("x" * 2**20), {"role": "assistant", "content": "No idea."}, user(QUESTION))
    response = post(url, body)
    assert response.status_code == 200 and response.json()["citations"]


def test_a_thousand_messages_are_answered_from_the_last_turns(url, client):
    messages = [user(QUESTION) if n % 2 == 0 else {"role": "assistant", "content": f"Answer {n}."} for n in range(999)]
    response = client.chat.completions.create(model="newsqa", messages=messages)
    assert response.model_extra["citations"] and MARKER.search(response.choices[0].message.content)
    assert error_of(post(url, ask_body(*messages[:-1])), 400)["param"] == "messages[997].role"


def test_the_chat_app_is_still_served_beside_the_api(url):
    assert httpx.get(f"{url}config", timeout=30).status_code == 200
    error = error_of(httpx.get(f"{url}v1/embeddings", timeout=30), 404)
    assert "/v1/embeddings" in error["message"]


# -- the password ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def locked_url(seeded_chain, seeded_settings):
    with served(seeded_chain, seeded_settings, auth_user=USER, auth_password=PASSWORD) as url:
        yield url


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {USER}"}, {"Authorization": PASSWORD},
     {"Authorization": "Basic " + "cmVhZGVyOndyb25n"}, {"Authorization": "Basic not-base64!"}, {"Authorization": "Token " + PASSWORD}],
)
def test_nothing_answers_without_the_password(locked_url, headers):
    for method, path, body in (("GET", "v1/models", None), ("POST", "v1/chat/completions", ask_body(user(QUESTION)))):
        response = httpx.request(method, f"{locked_url}{path}", json=body, headers=headers, timeout=60)
        error = error_of(response, 401)
        assert error["code"] == "invalid_api_key" and "Bearer" in response.headers["www-authenticate"]
        assert "Putin" not in response.text
    # Bad input is refused for want of the password before anything else is said about it.
    assert httpx.post(f"{locked_url}v1/chat/completions", content=b"{bad", headers=headers).status_code == 401


def test_the_password_as_api_key_or_http_basic(locked_url):
    locked = openai.OpenAI(base_url=f"{locked_url}v1", api_key=PASSWORD, max_retries=0, timeout=120)
    response = locked.chat.completions.create(model="newsqa", messages=[user(QUESTION)])
    assert response.model_extra["citations"]
    models = httpx.get(f"{locked_url}v1/models", auth=(USER, PASSWORD), timeout=30)
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "newsqa"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{locked_url}v1", api_key="wrong", max_retries=0).models.list()


# -- the Chroma server goes away ---------------------------------------------------------------------
@pytest.mark.slow
def test_a_chroma_server_that_is_down_is_a_503(tmp_path, embeddings):
    from tests.test_server_mode import ChromaServer

    chroma = ChromaServer(tmp_path / "chroma")
    chroma.start()
    try:
        settings = Settings(store=tmp_path / "local-bits", chroma_host="127.0.0.1", chroma_port=chroma.port)
        store = ArticleStore(settings, embeddings)
        store.add(load_path(SEEDS / "putin_rare_earths.txt"))
        with served(build_chain(settings, store=store), settings) as url:
            assert post(url, ask_body(user(QUESTION))).status_code == 200
            chroma.kill()
            for stream in (False, True):
                error = error_of(post(url, ask_body(user(QUESTION), stream=stream)), 503)
                assert f"127.0.0.1:{chroma.port} is not reachable" in error["message"] and error["code"] == "store_unreachable"
    finally:
        if chroma.proc.poll() is None:
            chroma.kill()


def test_the_documented_openai_snippet_runs(url, capsys):
    """The `openai` example of docs/api.md, as written but for the port."""
    snippet = re.search(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.DOTALL).group(1)
    assert "http://127.0.0.1:7860/v1" in snippet
    exec(snippet.replace("http://127.0.0.1:7860/", url), {})
    printed = capsys.readouterr().out
    assert "[1]" in printed and "\nSources:\n" in printed and "\n1 Putin Signals Willingness" in printed
