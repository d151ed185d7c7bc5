"""Generative answers from an LLM the user already runs, behind the `Answerer` interface.

`make_chat_model(settings)` gives a LangChain chat model for the configured backend (openai: any
OpenAI-compatible server; ollama; llamacpp: a local GGUF file), importing its package only then.
`LLMAnswerer` streams the model's answer, keeps only citations the passages support
(chatbot.citations) and answers extractively, with one notice, when the model fails.
`LLMCondenser` rewrites follow-up questions.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

import prompts
from chatbot.answering import ABSTAIN_TEXT, Answer, Answerer, ExtractiveAnswerer, Notice, finalize
from chatbot.citations import check_citations
from index.errors import UserError
from chatbot.followup import Topic, Turn, condense, topic_of
from chatbot.plan import QueryPlan
from chatbot.settings import Settings

log = logging.getLogger(__name__)

# backend -> (module to import, package providing it, pyproject extra)
EXTRAS = {
    "openai": ("langchain_openai", "langchain-openai", "openai"),
    "ollama": ("langchain_ollama", "langchain-ollama", "ollama"),
    "llamacpp": ("llama_cpp", "llama-cpp-python", "llamacpp"),
}


class BackendUnavailable(UserError):
    """The configured LLM backend cannot be built: a package is missing or a setting is unset."""


def _require(backend: str):
    module, package, extra = EXTRAS[backend]
    try:
        return __import__(module)
    except ImportError:
        raise BackendUnavailable(
            f"NEWSQA_LLM={backend} needs {package}: pip install 'newsqa[{extra}]' (or set NEWSQA_LLM=extractive)"
        ) from None


def describe(settings: Settings) -> str:
    """The configured backend in a few words, for messages."""
    match settings.llm:
        case "openai":
            return f"the openai backend (model {settings.llm_model!r} at {settings.llm_base_url or 'api.openai.com'})"
        case "ollama":
            return f"the ollama backend (model {settings.llm_model!r} at {settings.llm_base_url or 'localhost:11434'})"
        case "llamacpp":
            return f"the llamacpp backend ({settings.llamacpp_model_path})"
    return "the extractive answerer"


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured LangChain chat model; None for the extractive default. Raises BackendUnavailable."""
    match settings.llm:
        case "extractive":
            return None
        case "openai":
            _require("openai")
            from langchain_openai import ChatOpenAI

            if not settings.llm_model:
                raise BackendUnavailable("NEWSQA_LLM=openai needs NEWSQA_LLM_MODEL: the model name on the server")
            if not settings.llm_api_key and not settings.llm_base_url:
                raise BackendUnavailable("NEWSQA_LLM=openai needs NEWSQA_LLM_API_KEY (or OPENAI_API_KEY), or NEWSQA_LLM_BASE_URL for a local server")
            return ChatOpenAI(
                model=settings.llm_model,
                base_url=settings.llm_base_url,
                # Local OpenAI-compatible servers (llama.cpp, vLLM, LM Studio) ignore the key, the client requires one.
                api_key=settings.llm_api_key or "unused",
                timeout=settings.llm_timeout,
                max_retries=settings.llm_max_retries,
                max_completion_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
            )
        case "ollama":
            _require("ollama")
            from langchain_ollama import ChatOllama

            if not settings.llm_model:
                raise BackendUnavailable("NEWSQA_LLM=ollama needs NEWSQA_LLM_MODEL: a model you have pulled (`ollama list`)")
            return ChatOllama(
                model=settings.llm_model,
                base_url=settings.llm_base_url,
                client_kwargs={"timeout": settings.llm_timeout},
                num_predict=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
            )
        case "llamacpp":
            _require("llamacpp")
            path = settings.llamacpp_model_path
            if not path or not path.is_file():
                raise BackendUnavailable(f"NEWSQA_LLAMACPP_MODEL_PATH={path or ''!s} is not a GGUF file: point it at a downloaded model")
            return LlamaCppChatModel(
                model_path=str(path),
                n_ctx=settings.llamacpp_context,
                max_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
            )
    raise BackendUnavailable(f"NEWSQA_LLM={settings.llm!r} is not a backend: use extractive, openai, ollama or llamacpp")


class LlamaCppChatModel(BaseChatModel):
    """A local GGUF model through llama-cpp-python, as a LangChain chat model (loaded on first use)."""

    model_path: str
    n_ctx: int = 4096
    max_tokens: int = 512
    temperature: float = 0.1
    _llama: Any = PrivateAttr(default=None)
    # One llama.cpp context serves one generation at a time (the chat app may ask concurrently).
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx}

    def _client(self):
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(model_path=self.model_path, n_ctx=self.n_ctx, verbose=False)
        return self._llama

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict:
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        return dict(
            messages=[{"role": roles.get(m.type, "user"), "content": m.text} for m in messages],
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=stop or [],
        )

    def _generate(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs) -> ChatResult:
        with self._lock:
            reply = self._client().create_chat_completion(**self._request(messages, stop))
        text = reply["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages, stop=None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs) -> Iterator[ChatGenerationChunk]:
        with self._lock:
            for part in self._client().create_chat_completion(stream=True, **self._request(messages, stop)):
                token = part["choices"][0]["delta"].get("content") or ""
                if token:
                    if run_manager:
                        run_manager.on_llm_new_token(token)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def to_messages(rendered: list[tuple[str, str]]) -> list[BaseMessage]:
    return [SystemMessage(text) if role == "system" else HumanMessage(text) for role, text in rendered]


_TAG = re.compile(r"<\s*/?\s*passage", re.IGNORECASE)


def format_passages(passages: list[Document]) -> str:
    """The passages as numbered, quoted data blocks. Text that imitates the block tags is defused so an
    article cannot close its block and speak outside it."""
    blocks = []
    for n, doc in enumerate(passages, 1):
        m = doc.metadata
        about = " | ".join(x for x in (m.get("title", ""), m.get("source", ""), str(m.get("published_at", ""))[:10]) if x)
        text = _TAG.sub("(passage", doc.page_content).replace('"""', '"')
        blocks.append(f'<passage n="{n}">\n{_TAG.sub("(passage", about)}\n"""\n{text}\n"""\n</passage>')
    return "\n".join(blocks)


def answer_messages(question: str, passages: list[Document]) -> list[BaseMessage]:
    return to_messages(prompts.render("answer", passages=format_passages(passages), question=question, abstain=ABSTAIN_TEXT))


def failure_reason(exc: BaseException) -> str:
    """One line about what went wrong, with the root cause (e.g. 'Connection error. (Connection refused)')."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and (cause.__cause__ or cause.__context__) is not None:
        cause = cause.__cause__ or cause.__context__
    detail = str(cause).strip().splitlines()[0][:100] if cause is not None and str(cause).strip() else ""
    extra = f" ({detail})" if detail and detail not in first else ""
    return f"{type(exc).__name__}: {first[:160]}{extra}"


class LLMAnswerer(Answerer):
    """Answers with a chat model from the passages, quoted as data; checks the citations it writes.

    When the model fails (server unreachable, timeout, HTTP error), the answer is the fallback's,
    preceded by one Notice naming the model and the cause.
    """

    name = "llm"

    def __init__(self, chat_model: BaseChatModel, fallback: Answerer, encode: Callable | None = None, label: str = ""):
        self.chat_model = chat_model
        self.fallback = fallback
        self.encode = encode
        self.label = label or f"the chat model {type(chat_model).__name__}"

    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        # A follow-up only makes sense with the conversation, which the model does not see: add its standalone form.
        question, query = plan.question, plan.query
        asked = f"{question}\n(A follow-up question; in full: {query})" if query and query != question else question
        try:
            for chunk in self.chat_model.stream(answer_messages(asked, passages)):
                if chunk.text:
                    yield chunk.text
        except Exception as exc:  # any failure of the model or its server: the user still gets an answer
            notice = f"{self.label} failed ({failure_reason(exc)}); showing the extractive answer. Check that the server runs, or set NEWSQA_LLM=extractive."
            log.info("%s", notice)  # shown to the user as the Notice: logged quietly to say it once
            yield Notice(notice)
            yield from self.fallback.stream(plan, passages)

    def finish(self, text: str, passages: list[Document], query: str = "") -> Answer:
        checked = check_citations(text, [d.page_content for d in passages], self.encode)
        for sentence, cited, now in checked.corrected:
            log.info("citation [%s] -> [%s] for %r", cited or "none", now, sentence[:80])
        for sentence, cited in checked.removed:
            log.info("citation [%s] removed from %r", cited, sentence[:80])
        answer = finalize(checked.text, passages, query)
        answer.unverified = checked.unverified
        return answer


class UnavailableAnswerer(Answerer):
    """The configured backend could not be built: every answer is the fallback's, after the reason."""

    name = "unavailable"

    def __init__(self, fallback: Answerer, reason: str):
        self.fallback = fallback
        self.reason = reason

    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        yield Notice(f"{self.reason}; showing the extractive answer.")
        yield from self.fallback.stream(plan, passages)


_LABEL = re.compile(r"^\s*(standalone (query|question)|query|question)\s*:\s*", re.IGNORECASE)


class LLMCondenser:
    """Rewrites a follow-up into a standalone retrieval query with the chat model; the heuristic
    `condense` answers for a first turn, an unusable reply or a failed call."""

    def __init__(self, chat_model: BaseChatModel, fallback: Callable[..., str] = condense, max_words: int = 60):
        self.chat_model = chat_model
        self.fallback = fallback
        self.max_words = max_words

    def __call__(self, question: str, history: list[Turn], topic: Topic | None = None) -> str:
        if not history:
            return question
        # The bounded state of the conversation, not its whole history: a long chat costs what a short one does.
        topic = topic or topic_of(history, question)
        state = dict(topic=topic.opened_by, subject=", ".join(topic.subject) or "nothing", last_question=history[-1].question)
        messages = to_messages(prompts.render("condense", question=question, **state))
        try:
            reply = self.chat_model.invoke(messages).text
        except Exception as exc:  # the answer step reports the failure to the user; here the heuristic stands in
            log.info("follow-up rewriting failed (%s); using the heuristic", failure_reason(exc))
            return self.fallback(question, history, topic)
        line = next((x for x in reply.splitlines() if x.strip()), "")
        query = _LABEL.sub("", line).strip().strip("\"'“”").strip()
        if not query or len(query.split()) > self.max_words:
            log.info("unusable follow-up rewrite %r; using the heuristic", reply[:80])
            return self.fallback(question, history, topic)
        return query


def answering_parts(settings: Settings, embeddings, llm: BaseChatModel | None = None) -> tuple[Answerer, Callable]:
    """The answerer and the follow-up condenser for the settings (or for the given chat model)."""
    extractive = ExtractiveAnswerer(embeddings, settings.answer_sentences, settings.abstain_below)
    label = f"the chat model {type(llm).__name__}" if llm is not None else describe(settings)
    if llm is None:
        try:
            llm = make_chat_model(settings)
        except BackendUnavailable as exc:
            log.info("%s", exc)  # every answer carries it as a Notice
            return UnavailableAnswerer(extractive, str(exc)), condense
    if llm is None:
        return extractive, condense
    answerer = LLMAnswerer(llm, extractive, encode=embeddings.encode, label=label)
    return answerer, (LLMCondenser(llm) if settings.llm_condense else condense)
