"""newsqa as an OpenAI-compatible chat endpoint: `/v1/models` and `/v1/chat/completions`, served by
`newsqa serve` beside the chat app (same process, same store, same password).

Pure functions turn a request into a question, a history and filters, and an Answer into OpenAI's JSON;
`openai_api(chain, settings)` is the thin FastAPI edge. Clients resend the whole conversation with every
request, so the history is rebuilt from `messages` each time (`history_from_messages`). The answer keeps
its [n] markers; its sources come twice: a readable "Sources:" block at the end of the content, and a
structured `citations` list in the response (on the last chunk when streaming).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import time
import uuid
from datetime import date
from typing import Any, Iterator, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from chatbot.answering import Answer, Citation, Notice
from chatbot.chain import Filters, NewsQA
from chatbot.citations import MarkerRenumberer, normalize_markers
from chatbot.followup import Turn
from chatbot.rendering import day, outlet_line, safe_url
from chatbot.settings import Settings
from index.errors import UserError
from index.store import StoreUnreachable

log = logging.getLogger(__name__)

# Clients resend the whole conversation, so a long one is big; a bigger body is a mistake or an attack.
MAX_BODY_BYTES = 4 * 2**20
SOURCES_HEADING = "Sources:"
_ARTICLE_REF = re.compile(r"\(article ([0-9A-Za-z_-]+)\)$", re.MULTILINE)


class ApiError(Exception):
    """An error for the client, in OpenAI's shape: {"error": {"message", "type", "param", "code"}}."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": 'Bearer realm="newsqa"'} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def error_of(exc: UserError) -> ApiError:
    """A product error as an API error: 503 when the Chroma server is down, else the request's fault (400)."""
    if isinstance(exc, StoreUnreachable):
        return ApiError(503, str(exc), code="store_unreachable", kind="server_error")
    return ApiError(400, str(exc))


# -- the request ------------------------------------------------------------------------------------
class NewsqaOptions(BaseModel):
    """The extra body field `newsqa`: filters applied to retrieval."""

    model_config = ConfigDict(extra="forbid")
    sources: list[str] | None = None
    since: date | None = None
    until: date | None = None
    article_ids: list[str] | None = None

    def filters(self) -> Filters:
        return Filters(sources=self.sources or None, since=self.since, until=self.until, article_ids=self.article_ids or None)


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")  # e.g. `name`, which newsqa does not use
    role: Literal["system", "user", "assistant"]
    content: Any = None  # a string or a list of parts; message_text says what is wrong with anything else


class ChatRequest(BaseModel):
    """The fields of OpenAI's chat request newsqa reads; the others (temperature, max_tokens...) are ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    newsqa: NewsqaOptions = Field(default_factory=NewsqaOptions)


def parse_request(body: bytes) -> ChatRequest:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object with `model` and `messages`", code="invalid_json")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        what = "is required" if first["type"] == "missing" else first["msg"]
        raise ApiError(400, f"{param}: {what}", param=param) from None


def message_text(message: Message, position: int) -> str:
    """The text of a message: its string content, or its text parts joined (other parts are refused)."""
    if message.content is None or isinstance(message.content, str):
        return message.content or ""
    if not isinstance(message.content, list):
        raise ApiError(400, f"messages[{position}].content must be a string or a list of text parts",
                       param=f"messages[{position}].content")
    texts = []
    for n, part in enumerate(message.content):
        kind = part.get("type") if isinstance(part, dict) else type(part).__name__
        if kind != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                400, f"messages[{position}].content[{n}] is a {kind!r} part; newsqa reads only text parts",
                param=f"messages[{position}].content[{n}]", code="unsupported_content",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def history_from_messages(messages: list[dict], max_turns: int, max_chars: int) -> list[Turn]:
    """The chat history, oldest turn first, from a conversation's earlier messages ({"role", "content"}):
    each user message with the assistant reply after it (its Sources block stripped, the articles it cited
    read from that block); system messages are skipped; only the last `max_turns` turns are kept."""
    turns: list[Turn] = []
    for m in messages:
        if m["role"] == "user" and m["content"].strip():
            question = m["content"].strip()[:max_chars]
            turns.append(Turn(question, question))
        elif m["role"] == "assistant" and turns and not turns[-1].answer:
            answer, _, sources = m["content"].partition(f"\n\n{SOURCES_HEADING}\n")
            turns[-1].answer, turns[-1].cited_article_ids = answer.strip(), _ARTICLE_REF.findall(sources)
    return turns[-max_turns:]


def conversation(request: ChatRequest, settings: Settings) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the history before it."""
    texts = [{"role": m.role, "content": message_text(m, i)} for i, m in enumerate(request.messages)]
    last = len(texts) - 1
    if texts[last]["role"] != "user":
        raise ApiError(400, f"the last message must be the user's question, not a {texts[last]['role']} message",
                       param=f"messages[{last}].role")
    question = texts[last]["content"].strip()
    if not question:
        raise ApiError(400, "the question (the last message) is empty: ask something about the indexed articles",
                       param=f"messages[{last}].content", code="empty_question")
    if len(question) > settings.max_question_chars:
        raise ApiError(400, f"the question is {len(question)} characters long; at most {settings.max_question_chars} are accepted",
                       param=f"messages[{last}].content", code="question_too_long")
    return question, history_from_messages(texts[:last], settings.api_history_turns, settings.max_question_chars)


def model_names(settings: Settings) -> list[str]:
    return ["newsqa"] + ([f"newsqa-{settings.llm}"] if settings.llm != "extractive" else [])


# -- the answer -------------------------------------------------------------------------------------
def source_line(c: Citation) -> str:
    """'[1] Title, Outlet, 2024-05-01, https://... (article <id>)': the id lets a follow-up find the article again."""
    parts = [c.title or "(untitled)", outlet_line(c.source, c.also_published_by), day(c.published_at), safe_url(c.url)]
    return f"[{c.n}] " + ", ".join(p for p in parts if p) + f" (article {c.article_id})"


def sources_block(citations: list[Citation]) -> str:
    # Blank lines between sources: markdown renderers (Open WebUI) would join single lines into one paragraph.
    return "\n\n".join([SOURCES_HEADING, *map(source_line, citations)]) if citations else ""


def citations_json(citations: list[Citation]) -> list[dict]:
    return [
        {"n": c.n, "title": c.title, "outlet": c.source, "also_published_by": c.also_published_by,
         "date": day(c.published_at), "url": safe_url(c.url), "sentence": c.sentence, "article_id": c.article_id}
        for c in citations
    ]


def answer_facts(answer: Answer) -> dict:
    """What the response carries besides the content: the structured citations and how the answer was made."""
    return {"citations": citations_json(answer.citations),
            "newsqa": {"query": answer.query, "abstained": answer.abstained, "notice": answer.notice}}


def answer_content(answer: Answer) -> str:
    parts = [f"Note: {answer.notice}" if answer.notice else "", answer.text, sources_block(answer.citations)]
    return "\n\n".join(p for p in parts if p)


def completion_json(answer: Answer, model: str) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer_content(answer)},
                     "finish_reason": "stop", "logprobs": None}],
        **answer_facts(answer),
    }


def streamed_content(pieces: Iterator[str | Answer]) -> Iterator[str | Answer]:
    """Content deltas of a streamed answer, then the Answer. Markers are renumbered as they stream (as the
    final answer numbers them); a notice is a line of its own; when checking changed the answer, the
    checked text follows what streamed (a stream cannot take text back); then the Sources block."""
    renumber, shown = MarkerRenumberer(), ""
    for piece in pieces:
        if isinstance(piece, Answer):
            tail = renumber.flush()
            shown += tail
            yield tail
            if not shown.strip():
                yield piece.text
            elif " ".join(normalize_markers(shown).split()) != " ".join(piece.text.split()):
                yield f"\n\nChecked answer: {piece.text}"
            if piece.citations:
                yield f"\n\n{sources_block(piece.citations)}"
            yield piece
            return
        if isinstance(piece, Notice):
            yield ("\n\n" if shown else "") + f"Note: {piece}\n\n"
            renumber, shown = MarkerRenumberer(), ""
        else:
            text = renumber.feed(piece)
            shown += text
            yield text


def sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def stream_events(pieces: Iterator[str | Answer], model: str) -> Iterator[str]:
    """The answer as OpenAI's server-sent events: chat.completion.chunk objects, the citations on the last, then [DONE]."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        return sse({**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    try:
        for item in streamed_content(pieces):
            if isinstance(item, Answer):
                yield chunk({}, "stop", **answer_facts(item))
            elif item:
                yield chunk({"content": item})
    except UserError as exc:  # e.g. the Chroma server went away mid-answer: the status line is already sent
        yield sse(error_of(exc).body())
    yield sse("[DONE]")


# -- the HTTP edge ----------------------------------------------------------------------------------
def authorized(header: str, settings: Settings) -> bool:
    """With auth_user and auth_password set, the request must carry them: HTTP Basic, or a Bearer token
    that is the password (what OpenAI clients send as their API key)."""
    if not (settings.auth_user and settings.auth_password):
        return True
    scheme, _, value = header.strip().partition(" ")
    password = settings.auth_password.encode()
    if scheme.lower() == "bearer":
        return secrets.compare_digest(value.strip().encode(), password)
    if scheme.lower() == "basic":
        try:
            user, _, given = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = secrets.compare_digest(user.encode(), settings.auth_user.encode())
        return secrets.compare_digest(given.encode(), password) and same_user
    return False


async def read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request body is {int(declared)} bytes; at most {MAX_BODY_BYTES} are accepted",
                       code="request_too_large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"the request body is over {MAX_BODY_BYTES} bytes", code="request_too_large")
    return bytes(body)


def openai_api(chain: NewsQA, settings: Settings) -> FastAPI:
    """The OpenAI-compatible API over `chain`, to mount at /v1 beside the chat app (chatbot.app.launch)."""
    models = model_names(settings)
    started = int(time.time())

    def check_auth(request: Request) -> None:
        if not authorized(request.headers.get("authorization", ""), settings):
            raise ApiError(401, "missing or wrong credentials: send the app's password as the API key "
                                "(Authorization: Bearer <password>) or HTTP Basic user and password", code="invalid_api_key")

    api = FastAPI(dependencies=[Depends(check_auth)], openapi_url=None, docs_url=None, redoc_url=None)
    api.add_exception_handler(ApiError, lambda request, exc: exc.response())
    api.add_exception_handler(Exception, _internal_error)
    api.add_exception_handler(
        HTTPException, lambda request, exc: ApiError(exc.status_code, f"{request.url.path}: {exc.detail}").response()
    )

    @api.get("/models")
    def list_models() -> dict:
        return {"object": "list", "data": [{"id": m, "object": "model", "created": started, "owned_by": "newsqa"} for m in models]}

    @api.post("/chat/completions")
    async def chat_completions(request: Request):
        body = parse_request(await read_body(request))
        if body.model not in models:
            raise ApiError(404, f"the model {body.model!r} does not exist; this server has {', '.join(models)}",
                           param="model", code="model_not_found")
        question, history = conversation(body, settings)
        pieces = chain.stream(question, history, body.newsqa.filters())
        try:
            # The first step checks the question and retrieves: its errors still get their own status.
            first = await run_in_threadpool(next, pieces)
            if not body.stream:
                answer = first if isinstance(first, Answer) else await run_in_threadpool(lambda: [first, *pieces][-1])
                return JSONResponse(completion_json(answer, body.model))
        except UserError as exc:
            raise error_of(exc) from None
        return StreamingResponse(stream_events(_prepend(first, pieces), body.model), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return api


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return ApiError(500, "newsqa failed to answer; the server log has the details", kind="server_error").response()


def _prepend(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest
