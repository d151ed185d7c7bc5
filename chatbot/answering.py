"""Answers with numbered citations. The extractive answerer is the offline default; LLM backends
implement the same `Answerer` interface. `finalize` turns any answer text with [n] markers into an
Answer whose citations point at real passages, renumbered in order of first use."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np
from langchain_core.documents import Document

from chatbot import composer, roles
from chatbot.plan import QueryPlan
from chatbot.query import answer_kind, asked_role, role_owner
from index.text import WORD as _WORD, content_words, split_sentences

ABSTAIN_TEXT = "The indexed articles don't say."
ABSTAIN_PREFIX = "The indexed articles don't "
MARKER = re.compile(r"\[(\d{1,3})\]")
@dataclass
class Citation:
    n: int
    chunk_id: str
    article_id: str
    title: str
    source: str
    published_at: str
    url: str
    text: str
    sentence: str = ""
    also_published_by: list[str] = field(default_factory=list)  # other outlets that ran the same (wire) story

    def as_json(self) -> dict:
        return asdict(self)



@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    query: str = ""
    passages: list[Document] = field(default_factory=list)
    notice: str = ""  # how the answer was made when not as configured (e.g. the LLM was unreachable)
    unverified: list[str] = field(default_factory=list)  # sentences no passage supports

    def as_json(self) -> dict:
        return {
            "answer": self.text,
            "citations": [c.as_json() for c in self.citations],
            "abstained": self.abstained,
            "query": self.query,
            "notice": self.notice,
            "unverified": self.unverified,
        }


def is_abstention(text: str) -> bool:
    """The answer says the articles don't answer ("The indexed articles don't say." / "... don't mention X.")."""
    return text == ABSTAIN_TEXT or (text.startswith(ABSTAIN_PREFIX) and not MARKER.search(text))


class Notice(str):
    """A line for the user in an answer stream, not part of the answer: the text streamed before it is
    dropped, and what follows is the fallback's extractive answer (the LLM failed or is unavailable), which the
    chain finalizes as extractive text, without the model-citation check."""


class Answerer(ABC):
    """Writes an answer from numbered passages, citing them as [1], [2], ... (1-based positions)."""

    name: str = "answerer"

    @abstractmethod
    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        """Pieces of the answer text as they are produced (a `Notice` piece restarts the answer).
        `plan.query` is the standalone retrieval query when `plan.question` is a follow-up that only
        makes sense with the conversation."""

    def finish(self, text: str, passages: list[Document], query: str = "") -> Answer:
        """The final Answer from the streamed text."""
        return finalize(text, passages, query)

    def warm_up(self) -> None:
        """Load what the first answer would otherwise wait for."""


def _citation(n: int, doc: Document, sentence: str) -> Citation:
    m = doc.metadata
    return Citation(
        n=n,
        chunk_id=str(m.get("chunk_id", doc.id or "")),
        article_id=m.get("article_id", ""),
        title=m.get("title", ""),
        source=m.get("source", ""),
        published_at=m.get("published_at", ""),
        url=m.get("url", ""),
        text=doc.page_content,
        sentence=sentence,
        also_published_by=list(m.get("also_published_by") or []),
    )


def finalize(text: str, passages: list[Document], query: str = "") -> Answer:
    """Drop markers that point to no passage, renumber the rest 1..n in order of first use."""
    text = text.strip()
    if not text or is_abstention(text):
        return Answer(text or ABSTAIN_TEXT, [], True, query, passages)
    order: dict[int, int] = {}
    supporting: dict[int, str] = {}

    def renumber(match: re.Match) -> str:
        position = int(match.group(1))
        if not 1 <= position <= len(passages):
            return ""
        order.setdefault(position, len(order) + 1)
        return f"[{order[position]}]"

    out_sentences = []
    for sentence in split_sentences(text):
        plain = re.sub(r"\s+([.,;!?])", r"\1", MARKER.sub("", sentence)).strip()
        renumbered = MARKER.sub(renumber, sentence)
        for position in {int(x) for x in MARKER.findall(sentence)}:
            if position in order:
                supporting.setdefault(position, plain)
        out_sentences.append(re.sub(r"\s+([.,;!?])", r"\1", re.sub(r"\s{2,}", " ", renumbered)).strip())
    citations = [_citation(n, passages[pos - 1], supporting.get(pos, "")) for pos, n in order.items()]
    return Answer(" ".join(out_sentences), citations, False, query, passages)


class ExtractiveAnswerer(Answerer):
    """Quotes the passage sentence that says what was asked, and one more only when it adds what the first lacks
    (chatbot/composer.py); says which name the articles don't mention, or abstains when no sentence is at least
    `abstain_below` similar to the question, rather than quoting something near it."""

    name = "extractive"

    def __init__(self, embeddings, max_sentences: int = 3, abstain_below: float = 0.35, margin: float = 0.3, shortlist: int = 16, faq_match: float = 0.8):
        self.embeddings = embeddings
        self.shortlist = shortlist
        self.max_sentences = max_sentences
        self.abstain_below = abstain_below
        self.margin = margin
        self.faq_match = faq_match

    def warm_up(self) -> None:
        self.embeddings.encode_comparable(["Warm up."])

    def compose(self, plan: QueryPlan, passages: list[Document]) -> composer.Composed:
        """The sentences to quote (lead first) or why there are none.

        For a follow-up, similarity is the mean over the bare question (what is asked now) and the standalone
        query (what it is about), so the answer neither drifts off topic nor repeats the previous answer."""
        if not content_words(" ".join(plan.asks)):
            # punctuation, a scrawl, "x x x": nothing to answer; "What did he do before that?" has its topic
            return composer.Composed([])
        # A name the archive never mentions cannot be answered about; a short question is also declined when the
        # passages found for it don't mention one of its names (a long one may name more than k passages hold).
        if plan.unknown_sources:
            return composer.Composed([], composer.not_indexed(plan.unknown_sources))
        missing = plan.unknown or ([] if plan.long else composer.missing_names(plan, passages))
        parts = plan.asked if len(plan.asked) > 1 else []
        notes: list[str] = []  # what the articles don't cover of a question with several parts
        if missing and parts:
            # "What did Putin say ..., and who won the 2022 World Cup?": the part whose names they hold is answered.
            covered = [part for part in parts if not any(composer.mentions(part, name) for name in missing)]
            if covered:
                parts, notes = covered, [composer.not_mentioned(missing)]
        if missing and not notes:
            return composer.Composed([], composer.not_mentioned(missing))
        candidates = composer.sentences_of(passages)
        pairs = composer.faq_pairs(passages)
        if not candidates and not pairs:
            return composer.Composed([])
        candidates = self._shortlist(candidates, content_words(" ".join(plan.asks)), plan.kind, plan.question)
        # Each sentence is read alone and under its article's title ("The company has raised €60 million" says more
        # under "Scalable Capital raises ..."); its vector is the mean of the two.
        titled = [composer.under_title(c, passages) for c in candidates]
        texts = plan.asks + parts + [q for q, _ in pairs] + [c.context for c in candidates] + titled
        vectors = self.embeddings.encode_comparable(texts)
        vectors, titled_vectors = vectors[: len(texts) - len(titled)], vectors[len(texts) - len(titled) :]
        n_asks, n_parts, n_pairs = len(plan.asks), len(parts), len(pairs)
        asks = vectors[:n_asks]
        part_vectors = vectors[n_asks : n_asks + n_parts]
        pair_vectors = vectors[n_asks + n_parts : n_asks + n_parts + n_pairs]
        sv = vectors[n_asks + n_parts + n_pairs :] + titled_vectors
        sv /= np.linalg.norm(sv, axis=1, keepdims=True)
        if pairs and not parts:
            match = pair_vectors @ asks[0]
            best_pair = int(np.argmax(match))
            if match[best_pair] >= self.faq_match:
                return composer.Composed([pairs[best_pair][1]])
        if not candidates:
            return composer.Composed([])
        by_ask = sv @ asks.T
        similarity = by_ask.mean(axis=1)
        # Related enough when the question or its standalone form is ("What did he do before that?" alone is like
        # nothing; with its topic it is like the sentence that answers it).
        related = by_ask.max(axis=1)
        if related.max() < self.abstain_below:
            return composer.Composed([])
        name = composer.answer_name(plan, passages) if not parts else ""
        # A follow-up asking something new is not answered by the last answer's lead again (plan.said).
        said = composer.plain(plan.said)
        unsaid = np.array([not said or composer.plain(c.text) not in said for c in candidates], dtype=bool)
        chosen: list[int] = []
        for n, part in enumerate(parts or [plan.question]):
            part_similarity = (similarity + sv @ part_vectors[n]) / 2 if parts else similarity
            kind = answer_kind(part) if parts else plan.kind
            matches = composer.kind_matches([c.text for c in candidates], kind, part) if kind != "what" else [False] * len(candidates)
            scores = composer.score(plan, part, candidates, part_similarity, len(passages), matches, name)
            # The best sentence of those related enough to what was asked
            relevant = (np.maximum(part_similarity, related) >= self.abstain_below) & ~np.isin(np.arange(len(candidates)), chosen)
            # The bar an amount, count or date must reach is the best related sentence's, said before or not.
            bar = float(np.max(np.where(relevant, scores, -np.inf))) if relevant.any() else -np.inf
            relevant &= unsaid
            if parts and kind in composer.MUST_HOLD and relevant.any():
                # A part asking for an amount, a count or a date is answered by a sentence holding one, nearly
                # as good as the best, or said not to be covered.
                best = float(np.max(np.where(relevant, scores, -np.inf)))
                relevant &= np.array(matches, dtype=bool) & (scores >= best - composer.KIND_MARGIN)
            if relevant.any():
                chosen.append(int(np.argmax(np.where(relevant, scores, -np.inf))))
            elif parts:
                notes.append(composer.part_not_said(part))
        if not parts and chosen:
            best = chosen[0]
            for n in np.argsort(-scores):
                n = int(n)
                if len(chosen) == self.max_sentences or scores[n] < scores[best] - self.margin:
                    break
                words = sum(len(candidates[c].context.split()) for c in chosen) + candidates[n].words
                if n in chosen or related[n] < self.abstain_below or words > composer.MAX_ANSWER_WORDS:
                    continue
                if any(float(sv[n] @ sv[c]) > 0.9 for c in chosen):
                    continue
                # Nearly as good and from a passage not quoted yet (another outlet's account, another part of the
                # story), or holding what the answer so far lacks.
                elsewhere = candidates[n].position not in {candidates[c].position for c in chosen}
                if elsewhere or composer.adds(candidates[n], [candidates[c] for c in chosen], plan, plan.kind, matches[n]):
                    chosen.append(n)
        if chosen and not parts and composer.asks_directly(plan.question, plan.kind):
            # "Who founded Discogs?" by a sentence naming someone as doing it ("founded in 2000 by ... Kevin
            # Lewandowski"), "Where's he from?" by one saying where he was born (a birthplace the recogniser misses
            # still counts): it leads if nearly as good.
            direct = [
                int(n) for n in np.argsort(-scores)
                if (matches[n] or plan.kind == "where") and related[n] >= self.abstain_below
                and composer.says_directly(candidates[n].text, plan.question, plan.kind)
            ]
            if direct and direct[0] != chosen[0] and scores[direct[0]] >= scores[chosen[0]] - composer.KIND_MARGIN:
                chosen = [direct[0]]
        if chosen and not parts and plan.kind in composer.MUST_HOLD + composer.PREFER and not matches[chosen[0]]:
            # "How much did it cost?": a sentence without an amount does not answer. The best one with an amount
            # answers if it is nearly as good; else the articles don't say. "Who ...?": the best sentence naming
            # someone the question does not, if it is nearly as good; else the best sentence. The best sentence
            # follows the one holding the kind when it is from another passage and the answer stays short.
            holding = [n for n in np.argsort(-scores) if matches[n] and related[n] >= self.abstain_below]
            if holding and (plan.kind in composer.PREFER or scores[holding[0]] >= max(bar, scores[chosen[0]]) - composer.KIND_MARGIN):
                lead, best = int(holding[0]), chosen[0]
                fits = candidates[lead].words + len(candidates[best].context.split()) <= composer.MAX_ANSWER_WORDS
                chosen = [lead, best] if fits and candidates[best].position != candidates[lead].position else [lead]
            elif plan.kind in composer.MUST_HOLD or (plan.kind == "organisation" and not holding):
                # "Which hospital treated her?": no sentence names any organisation, so none says which.
                return composer.Composed([], composer.not_said(plan.question))
        role = asked_role(plan.question) if plan.kind == "who" and not plan.long and not parts else ""
        if chosen and role:
            led = self._holder_lead(plan, role, candidates, passages, scores, related, chosen)
            if led is None:  # "Who is the director of Mossad?": no related sentence names anyone its director
                return composer.Composed([], composer.not_said(plan.question))
            # The holder, or no name first: the name most passages share is often a former holder ("Sam
            # Bankman-Fried: What's left of FTX is now being led by John J. Ray III").
            chosen, name = led
        # A sentence naming the role's holder answers, whatever it calls the role ("Real's coach" for the manager).
        held = bool(role and name)
        if chosen and not parts and not plan.long and not held and not composer.says_own_words(plan, candidates[chosen[0]].context):
            # "Where will his funeral be held?": no passage speaks of a funeral, and the best sentence says none of
            # what is asked, only the topic. A sentence saying it in other words holds some word of the question, or
            # is related to the question itself, not only to its topic ("EV trucks ... are more deadly" to "Why are
            # electric pickups especially dangerous?").
            if by_ask[chosen[0], 0] < self.abstain_below and composer.absent_nouns(plan.question, passages):
                return composer.Composed([], composer.not_said(plan.question))
        if not chosen:  # no part answered: the name the articles lack, else the plain abstention
            return composer.Composed([], next((note for note in notes if note.startswith(ABSTAIN_PREFIX)), ""))
        return composer.Composed([candidates[n] for n in chosen], " ".join(notes), name=name)

    def _holder_lead(
        self, plan: QueryPlan, role: str, candidates: list[composer.Sentence], passages: list[Document],
        scores: np.ndarray, related: np.ndarray, chosen: list[int],
    ) -> tuple[list[int], str] | None:
        """For "Who is the <role> of X?": the sentences to quote, led by the best related one naming the holder,
        and the holder's name; None when no related sentence names anyone as holding the role. The owner the
        question names must be named in the sentence's article, as far as the passages show ("Who is Maersk's CEO?"
        is not answered by OpenAI's interim CEO); "Who is its CEO?" takes its owner from the topic. A former holder
        shows the articles speak of the role but does not lead an answer to who holds it now (`roles.leads_for`)."""
        owner = role_owner(plan.question)
        holders = roles.role_holders([c.text for c in candidates], role, plan.question, owner or plan.query)
        holding = [
            int(n) for n in np.argsort(-scores)
            if holders[n][0] and related[n] >= self.abstain_below and (not owner or composer.mentions(composer.article_text(passages, candidates[n].position), owner))
        ]
        if not holding:
            return None
        leading = [n for n in holding if holders[n][1]]
        if not leading:
            return chosen, ""
        lead, best = leading[0], chosen[0]
        if lead not in chosen:
            fits = candidates[lead].words + len(candidates[best].context.split()) <= composer.MAX_ANSWER_WORDS
            chosen = [lead, best] if fits and candidates[best].position != candidates[lead].position else [lead]
        # The answer is the holder, not the name most passages share.
        return chosen, holders[lead][1] if chosen[0] == lead else ""

    def _shortlist(self, candidates: list[composer.Sentence], asked: set[str], kind: str, question: str) -> list[composer.Sentence]:
        """The `shortlist` candidates sharing most words with the question (a sentence holding the amount, count or
        date asked for, or the role asked about, counts one word more; then from the best passages), in passage
        order: encoding every sentence of every passage costs most of an answer's time."""
        if len(candidates) <= self.shortlist:
            return candidates
        role = asked_role(question) if kind == "who" else ""
        holds = [
            (kind in composer.MUST_HOLD and composer.holds_kind(c.text, kind, question)) or (bool(role) and roles.holds_role(c.text, role))
            for c in candidates
        ]
        keep = sorted(range(len(candidates)), key=lambda n: (-len(asked & content_words(candidates[n].context)) - holds[n], candidates[n].position))
        return [candidates[n] for n in sorted(keep[: self.shortlist])]

    def stream(self, plan: QueryPlan, passages: list[Document]) -> Iterator[str]:
        if plan.digest:
            # "What's new today?" matches no sentence well: the lead sentence of each (newest) article answers it.
            yield from digest(passages)
            return
        composed = self.compose(plan, passages)
        if not composed.sentences:
            yield composed.missing or ABSTAIN_TEXT
            return
        said: list[str] = []  # the passage sentences quoted so far: none is quoted twice
        for sentence in composed.sentences:
            if sentence.text in said:
                continue  # already quoted as the sentence another one refers back to
            # It brings the sentence it refers back to, unless that one was quoted already.
            carries = sentence.context != sentence.text and sentence.previous not in said
            text = sentence.context if carries else sentence.text
            if not said and composed.name and composed.name not in text and (plan.long or composer.names_in_part(text, composed.name)):
                # The name first: for a question that describes someone by several clues, the one the passages
                # found for them agree on ("Who is the individual ... ?" -> "Sam Bankman-Fried: ..."); for a short
                # question, only the person its sentence names in part ("Sam Bankman-Fried: ..., Bankman-Fried
                # had ..."), never over a sentence naming someone else ("Moungi Bawendi: The second winner is
                # chemist Louis Brus").
                text = f"{composed.name}: {text}"
            # A quoted "[3]" in the article's own text must not pass for one of our citations.
            quoted = re.sub(r"\s{2,}", " ", MARKER.sub("", text)).strip()
            yield ("" if not said else " ") + cite(quoted, sentence.position)
            said += [sentence.previous, sentence.text] if carries else [sentence.text]
        if composed.missing:  # the part of the question the articles don't cover
            yield " " + composed.missing


def digest(passages: list[Document]) -> Iterator[str]:
    """The first full sentence of each passage, cited; the passages come newest first."""
    first = True
    for pos, doc in enumerate(passages, 1):
        lead = next((s for s in split_sentences(doc.page_content) if len(_WORD.findall(s)) >= 5), "")
        if lead:
            yield ("" if first else " ") + cite(lead, pos)
            first = False
    if first:
        yield ABSTAIN_TEXT


def cite(sentence: str, position: int) -> str:
    """The sentence with its marker before the closing punctuation: 'It rose [2].'"""
    return tag_sentence(sentence, f"[{position}]")


_ELLIPSIS_END = re.compile(r"(?:\.\s?){2}\.$|…$")


def tag_sentence(sentence: str, tag: str) -> str:
    """The sentence with `tag` before its closing punctuation: 'It rose [2][3].', 'It rose (unverified).'"""
    body = sentence.rstrip()
    if _ELLIPSIS_END.search(body):  # "this year..." trails off: the tag follows it
        return f"{body} {tag}"
    if body[-1:] in (".", "!", "?") and body[-2:-1] not in ("\"", "'", "”", "’"):
        return f"{body[:-1]} {tag}{body[-1]}"
    return f"{body} {tag}"
