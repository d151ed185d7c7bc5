"""The one place where the product is assembled: `build_chain(settings)` gives the NewsQA chain that
the CLI, the chat app, the benchmarks and the tests all use."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Callable, Iterator

from langchain_core.documents import Document

from chatbot import composer, entities
from chatbot.answering import Answer, Answerer, ExtractiveAnswerer, Notice, finalize, is_abstention
from index import priority
from index.errors import UserError
from chatbot.freshness import digest_passages, newest_first
from chatbot.followup import Turn, asks_for_more, cited_lead, condense, elliptical, is_followup, topic_of
from chatbot.plan import QueryPlan, understand
from chatbot.query import LABEL, as_asked, has_words, named_phrases, only_a_url, other_language
from chatbot.retrieval import HybridRetriever, interleave
from chatbot.settings import Settings
from index.embeddings import SentenceTransformerEmbeddings
from index.store import ArticleStore

log = logging.getLogger(__name__)

# A follow-up's passages within its topic's articles: the first FOLLOWUP_DEPTH found are reordered by their best
# sentence, and a passage's rank as found adds FOLLOWUP_RANK_WEIGHT / (1 + rank). Both chosen on the odd half of
# the dev conversations (docs/answers.md, eleventh round).
FOLLOWUP_DEPTH = 10
NAMING_DEPTH = 10  # BM25 passages read for a name no passage found holds
FOLLOWUP_RANK_WEIGHT = 0.2


@dataclass
class Filters:
    sources: list[str] | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    article_ids: list[str] | None = None


@dataclass
class NewsQA:
    settings: Settings
    store: ArticleStore
    retriever: HybridRetriever
    answerer: Answerer
    history_condenser: object = field(default=condense)
    today: Callable[[], date] = field(default=date.today)  # "today", "this week"... are relative to this day

    def check(self, question: str, filters: Filters) -> None:
        if not question or not question.strip():
            raise UserError("the question is empty: ask something about the indexed articles")
        if len(question) > self.settings.max_question_chars:
            raise UserError(f"the question is {len(question):,} characters long; ask it in at most {self.settings.max_question_chars:,}")
        if not has_words(question):
            raise UserError("the question has no words: ask something about the indexed articles")
        if only_a_url(question):
            raise UserError("that is only a web address: add the page with `newsqa index add URL` (or the Library tab), then ask about it")
        language = other_language(question) if self.answerer.name == "extractive" else ""
        if language:
            raise UserError(f"the question looks {language}; the offline answerer matches English questions to the articles: ask in English, or configure an LLM")
        if filters.sources:
            known = set(self.retriever.known_sources())
            unknown = [s for s in filters.sources if s not in known]
            if unknown:
                hint = ", ".join(sorted(known)[:8]) or "none: the store is empty"
                raise UserError(f"unknown outlet {unknown[0]!r}; indexed outlets include: {hint}")
        if filters.since and filters.until and _as_date(filters.since) > _as_date(filters.until):
            raise UserError("--since is after --until: no article can match")

    def warm_up(self) -> threading.Thread:
        """Load, in the background while a server starts, what the first question would otherwise wait for: the
        named-entity pipeline, the question and answer encoders, the lexical index and the vector index (read from
        disk on the first search). A question asked meanwhile waits only for what it needs."""

        def work() -> None:
            try:
                names = entities.warm_up()
                self.retriever.search("warm up", k=1)
                self.answerer.warm_up()
                names.join()
            except Exception as exc:  # the first question loads what it needs and reports what fails
                log.info("warm-up stopped (%s: %s)", type(exc).__name__, exc)

        # Not a daemon: a process that ends while the warm-up is inside spaCy's native code (BLIS) aborts
        # ("libblis: Aborting."), so exit waits for the warm-up, a few seconds at most.
        thread = threading.Thread(target=work, name="newsqa-warm-up")
        thread.start()
        return thread

    def plan(self, question: str, history: list[Turn] | None = None, filters: Filters | None = None) -> QueryPlan:
        """The one understanding of the question, read by the retriever and the answerer."""
        filters = filters or Filters()
        question = self.retriever.truecase(as_asked(question))  # "who is the ceo of irobot" reads as "who is the CEO of iRobot?"
        history = [replace(t, question=as_asked(t.question)) for t in history or []]  # the topic as it was meant too
        followup = is_followup(question, history, self.retriever.foreign)
        topic = topic_of(history, question, self.retriever.foreign) if followup else None  # the conversation's state, read once
        plan = understand(
            question,
            self.retriever.known_sources(),
            query=self.history_condenser(question, history, topic) if followup else self._unlabelled(question),
            today=self.today(),
            window_given=bool(filters.since or filters.until),
            long_question_words=self.settings.long_question_words,
        )
        plan.followup = followup
        plan.names = [n for n in plan.names if not self._capitalised_by_position(n, question)]
        plan.topic_articles = topic.article_ids if topic else []
        if topic and asks_for_more(question):
            plan.said = topic.text  # "Tell me more", "What else?", "Which other ...?": nothing the topic quoted already
        elif followup and not elliptical(question):
            plan.said = cited_lead(history[-1].answer)  # a new question about it is not answered by it again
        plan.unknown = self.retriever.unknown(plan.names)
        if topic and not plan.names and history and is_abstention(history[-1].answer):
            # "Who is to blame?" after "The indexed articles don't mention Maui." is about Maui too.
            plan.unknown = self.retriever.unknown(named_phrases(topic.opened_by, self.retriever.known_sources()))
        return plan

    def _unlabelled(self, question: str) -> str:
        """The question without a label it opens with that names nothing ("Unrelated question: who are Mikaela
        Shiffrin's parents?" searches who are Mikaela Shiffrin's parents); with one that names something ("Back to
        Biden and Xi: ...") as asked."""
        label = LABEL.match(question)
        if not label or not all(self._capitalised_by_position(n, question) for n in named_phrases(label.group())):
            return question
        return question[label.end() :]

    def _capitalised_by_position(self, name: str, question: str) -> bool:
        """Whether `name` is a word capitalised only for opening the question or one of its sentences or labels,
        one the archive writes in lower case ("Different" in "Different subject: who won ...?"): not a name."""
        return _opens_sentence(name, question) and self.retriever.common_word(name)

    def retrieve(self, question: str, history: list[Turn] | None = None, filters: Filters | None = None) -> tuple[str, list[Document]]:
        """The retrieval query actually used (after follow-up handling) and the passages, best first."""
        plan = self.plan(question, history, filters)
        return plan.query, self.passages(plan, history, filters)

    def passages(self, plan: QueryPlan, history: list[Turn] | None = None, filters: Filters | None = None) -> list[Document]:
        history = history or []
        filters = filters or Filters()
        question, query, k = plan.question, plan.query, self.settings.k
        search = dict(sources=filters.sources, since=filters.since, until=filters.until, plan=plan)
        if plan.fresh:
            # Asked for the latest news: the question's window, and the newest relevant passages first.
            search.update(since=plan.fresh.since, until=plan.fresh.until)
            docs = self.retriever.search(query, k=4 * k, article_ids=filters.article_ids, **search)
            return digest_passages(docs, k) if plan.digest else newest_first(docs, k)
        cited = plan.topic_articles
        if filters.article_ids:
            docs = self.retriever.search(query, k=k, article_ids=filters.article_ids, **search)
        elif cited and plan.followup:
            # A follow-up most often asks more about the articles its topic cited: search them first.
            # Within those articles the topic is given: the bare question finds the passages, and the one
            # whose best sentence says what is asked comes first.
            pinned = self.retriever.search(question, k=FOLLOWUP_DEPTH, article_ids=cited, **search)
            pinned = composer.by_best_sentence(pinned, plan.asks, self.store.embeddings.encode_comparable, FOLLOWUP_RANK_WEIGHT)
            general = self.retriever.search(query, k=k, **search)
            by_id = {d.id: d for d in pinned + general}
            docs = [by_id[i] for i in interleave([[d.id for d in pinned], [d.id for d in general]])[:k]]
        else:
            docs = self.retriever.search(query, k=k, **search)
        return self._naming(plan, docs, filters)

    def _naming(self, plan: QueryPlan, docs: list[Document], filters: Filters) -> list[Document]:
        """The passages, with one holding the names of a short question when none of them holds one of its names
        but the archive has a passage holding them all: "Who is Mary Schiavo?" found five passages about other
        Marys (a name's rare word weighs little against the words they share), and "The indexed articles don't
        mention Mary Schiavo." is not true of the archive. That passage (BM25's best holding every name, within
        the same filters) takes the last place. "What did Putin say about Alaska?" gets none: no passage holds both."""
        if plan.long or not docs or not composer.missing_names(plan, docs):
            return docs
        hits = self.retriever.lexical_search(plan.query, NAMING_DEPTH, filters.sources, filters.since, filters.until, filters.article_ids)
        naming = next((d for d in hits if all(n in d.page_content for n in plan.names)), None)
        return docs[:-1] + [naming] if naming is not None else docs

    def stream(
        self, question: str, history: list[Turn] | None = None, filters: Filters | None = None
    ) -> Iterator[str | Answer]:
        """Pieces of answer text as they come, then the final Answer (with checked citations)."""
        with priority.answering():  # a background feed sync waits for it (index/priority.py)
            yield from self._stream(question, history, filters)

    def _stream(self, question: str, history: list[Turn] | None, filters: Filters | None) -> Iterator[str | Answer]:
        filters = filters or Filters()
        self.check(question, filters)
        plan = self.plan(question, history, filters)
        docs = self.passages(plan, history, filters)
        query = plan.query
        if not docs:
            yield finalize("", [], query)
            return
        pieces, notice = [], ""
        for piece in self.answerer.stream(plan, docs):
            if isinstance(piece, Notice):
                notice, pieces = str(piece), []  # e.g. the LLM failed: the fallback's answer follows
            else:
                pieces.append(piece)
            yield piece
        # After a notice the text is the fallback's extractive answer: its citations are exact, not a model's to check
        # (the check would re-split a quoted line that ends without a full stop and move its marker).
        answer = (finalize if notice else self.answerer.finish)("".join(pieces), docs, query)
        answer.notice = notice
        yield answer

    def ask(self, question: str, history: list[Turn] | None = None, filters: Filters | None = None) -> Answer:
        *_, answer = self.stream(question, history, filters)
        return answer


def _opens_sentence(word: str, question: str) -> bool:
    """Whether `word` opens the question or one of its sentences or labels ("Different subject: ...")."""
    return re.search(rf"(?:^|[.!?:]\s+)[\"“‘']?{re.escape(word)}\b", question.strip()) is not None


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def build_store(settings: Settings, embeddings: SentenceTransformerEmbeddings | None = None) -> ArticleStore:
    embeddings = embeddings or SentenceTransformerEmbeddings(
        settings.embedding_model, settings.embedding_batch_size, settings.embedding_backend, settings.model_cache
    )
    return ArticleStore(settings, embeddings)


def build_retriever(settings: Settings, store: ArticleStore) -> HybridRetriever:
    return HybridRetriever(
        store=store,
        k=settings.k,
        candidates=settings.candidates,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        bm25_weight=settings.bm25_weight,
        bm25_weight_long=settings.bm25_weight_long,
        long_question_words=settings.long_question_words,
        bm25_k1=settings.bm25_k1,
        bm25_b=settings.bm25_b,
        sentence_weight=settings.sentence_weight,
        use_question_metadata=settings.question_metadata,
        decompose=settings.decompose_questions,
    )


def build_chain(
    settings: Settings,
    llm=None,
    retriever: HybridRetriever | None = None,
    store: ArticleStore | None = None,
    today: Callable[[], date] | None = None,
) -> NewsQA:
    """Assemble the product from settings; `llm`, `retriever` and `store` override the configured parts."""
    store = store or (retriever.store if retriever else build_store(settings))
    retriever = retriever or build_retriever(settings, store)
    if llm is None and settings.llm == "extractive":
        # The default needs no LLM: chatbot.llm and LangChain's language-model stack (0.8 s to import) stay unloaded.
        answerer, condenser = ExtractiveAnswerer(store.embeddings, settings.answer_sentences, settings.abstain_below), condense
    else:
        from chatbot.llm import answering_parts

        answerer, condenser = answering_parts(settings, store.embeddings, llm)
    return NewsQA(settings, store, retriever, answerer, condenser, today=today or date.today)
