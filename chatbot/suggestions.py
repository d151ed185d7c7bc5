"""Suggested questions the product answers well: an article's own questions, each checked lazily.

A question is kept only when the chain's answer to it cites the article it was made for and does not
abstain. The check runs when a question is first about to be shown, not at index time (which must stay
as fast as the raw encoder), and its verdict is cached until the store changes.
"""

from __future__ import annotations

import threading

from index.errors import UserError
from index.questions import candidate_questions
from index.text import content_words

# At most this many questions are checked per request, so a page never waits on a long run of rejects.
MAX_CHECKS = 12


class Suggestions:
    """Picks checked suggestions from the store's articles for the chat app; shared by all sessions."""

    def __init__(self, chain):
        self.chain = chain
        self._verdicts: dict[tuple[str, str], bool] = {}
        self._version = None
        self._lock = threading.Lock()

    def answered(self, article_id: str, question: str) -> bool:
        """Whether the product's answer to `question` cites `article_id` without abstaining (cached)."""
        with self._lock:
            version = self.chain.store.version()
            if version != self._version:
                self._verdicts, self._version = {}, version
            known = self._verdicts.get((article_id, question))
        if known is not None:
            return known
        try:
            answer = self.chain.ask(question)
            verdict = not answer.abstained and any(c.article_id == article_id for c in answer.citations)
        except UserError:
            verdict = False
        with self._lock:
            self._verdicts[(article_id, question)] = verdict
        return verdict

    def pick(self, records: list[dict], limit: int, exclude: set[str] = frozenset()) -> list[str]:
        """Up to `limit` questions of these articles (best first) that pass the check."""
        kept, checks = [], 0
        for article_id, question in candidate_questions(records, exclude):
            if len(kept) == limit or checks == MAX_CHECKS:
                break
            cached = (article_id, question) in self._verdicts
            checks += not cached
            if self.answered(article_id, question):
                kept.append(question)
        return kept

    def start(self, limit: int) -> list[str]:
        """The questions offered before anything is asked."""
        return self.pick(self.chain.store.articles(), limit)

    def after(self, answer, question: str, asked: set[str], limit: int) -> list[str]:
        """Follow-ups from the articles the answer cites; after an abstention, the questions nearest `question`."""
        store = self.chain.store
        cited = list(dict.fromkeys(c.article_id for c in answer.citations))
        records = [r for r in map(store.article, cited) if r]
        if records and not answer.abstained:
            return self.pick(records, limit, asked)
        wanted = content_words(question)
        nearest = sorted(store.articles(), key=lambda r: -len(wanted & content_words(r.get("title", ""))))
        return self.pick(nearest, limit, asked)
