"""Questions an article answers, derived at index time from its structure, without an LLM.

In order of trust: the article's own FAQ ("Question: ..." lines), its subheadings, one question about
its title, then its most central sentences turned into yes/no questions. The questions are stored in
the article record (see index/store.py), so the chat app shows them without recomputing per page load.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from index.text import content_words, rough_sentences
from index.articles import Article
from index.chunking import sections
from index.structure import stored_faq, stored_list, structure_of

MAX_QUESTIONS = 3
MAX_QUESTION_CHARS = 160
# The questions made from an article's title, a subheading and a central sentence; a question that
# fits none of them is the article's own (an FAQ line, a question heading) and is trusted most.
TITLE_QUESTION = "What does the article “{}” report?"
HEADING_QUESTION = "What is known about {}?"
CENTRAL_QUESTION = "Is it true that {}?"
# In order of trust: a subheading names a topic the article covers; a yes/no question is the most stilted.
TEMPLATES = (HEADING_QUESTION, TITLE_QUESTION, CENTRAL_QUESTION)

_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")
# Headings that organise an article rather than name a topic it covers.
_GENERIC_HEADINGS = {
    "summary", "key points", "frequently asked questions", "faq", "faqs", "article subheadings", "conclusion",
    "introduction", "related", "read more", "references", "sources", "background", "overview",
}
_QUESTION_START = re.compile(r"^(who|what|when|where|why|how|which|is|are|was|were|do|does|did|can|could|should|will)\b", re.I)
# Teasers and boilerplate that look like subheadings.
_TEASER_START = re.compile(r"^(related|read more|tip|sign up|watch|listen|see also|more from|click|subscribe)\b", re.I)
# "..., Goeller pointed out." / "..., she said.": the attribution would make the question read oddly.
_ATTRIBUTION_END = re.compile(r",\s+(?:[\w.’'-]+\s+){1,3}(?:said|says|noted|added|explained|pointed out|told [\w ]+)$")
# A sentence split at an abbreviation ("available Nov.") is not a whole sentence.
_ABBREVIATION_END = re.compile(r"\b[A-Z][a-z]{0,3}\.$")
# A central sentence starting with one of these leans on the sentence before it; it makes a poor question.
_DEPENDENT_START = re.compile(r"^(he|she|it|they|this|that|these|those|but|and|so|also|however|his|her|their|its)\b", re.I)
_QUOTE = re.compile(r"[\"“”]")
# Page furniture, captions, photo credits and embedded tweets that web pages leave in article text:
# a question built from them reads as nonsense ("What is known about Most read?").
_FURNITURE = re.compile(
    r"getty|shutterstock|alamy|\b(?:ap|afp|reuters|epa) (?:photo|images?)\b|\bphoto(?:graph)?(?:ed)? (?:by|credit)\b|"
    r"\b(?:image|photo|picture) credit|\bvia \w+ images\b|/(?:afp|reuters|ap|epa)\b|pic\.twitter|twitter\.com|\bt\.co/|"
    r"https?:|www\.|@\w|\bmost (?:read|popular|viewed|shared)\b|\badvertisement\b|\bnewsletter\b|\bsign up\b|"
    r"\bsubscribe\b|\bcookies?\b|\ball rights reserved\b|©|\bcopyright\b|\bread more\b|\bclick here\b",
    re.IGNORECASE,
)
_CUT_OFF = re.compile(r"…|\.\.\.")


def suggest_questions(article: Article, limit: int = MAX_QUESTIONS) -> list[str]:
    """Up to `limit` questions the article answers, best first, no duplicates."""
    found: list[str] = []
    seen: set[str] = set()
    for question in _candidates(article):
        key = " ".join(sorted(content_words(question)))
        if key in seen or not good_suggestion(question):
            continue
        seen.add(key)
        found.append(question)
        if len(found) == limit:
            break
    return found


def _candidates(article: Article):
    headings = heading_questions(article.body)
    central = central_questions(article)
    yield from faq_questions(article.body)
    yield TITLE_QUESTION.format(article.title)
    # One of each kind first: a heading names a topic, a central sentence a fact.
    yield from headings[:1] + central[:1] + headings[1:] + central[1:]


def faq_questions(body: str) -> list[str]:
    """The questions of the article's FAQ pairs (index/structure.py)."""
    return [pair.question for pair in structure_of(body).faq]


def heading_questions(body: str) -> list[str]:
    lowercase = _lowercase_words(body)
    questions = []
    for heading, _ in sections(body):
        heading = _NUMBERING.sub("", heading).strip(" |")
        words = heading.split()
        # All-capitals lines in news bodies are mostly teasers linking to other stories.
        if len(words) < 2 or heading.lower() in _GENERIC_HEADINGS or heading.isupper() or _TEASER_START.match(heading):
            continue
        if heading.endswith("?"):
            if _QUESTION_START.match(heading):
                questions.append(heading)
            continue
        questions.append(HEADING_QUESTION.format(_lower_start(heading, lowercase)))
    return questions


def central_questions(article: Article, limit: int = MAX_QUESTIONS) -> list[str]:
    """Yes/no questions from the sentences that share the most words with the rest of the article."""
    sentences = [
        s for s in rough_sentences(article.body)
        if 6 <= len(s.split()) <= 24 and s.endswith(".") and not _ABBREVIATION_END.search(s)
        and not _QUOTE.search(s) and not _DEPENDENT_START.match(s)
    ]
    if not sentences:
        return []
    frequency = Counter(w for s in rough_sentences(article.body) for w in content_words(s))
    title_words = content_words(article.title)

    def centrality(sentence: str) -> float:
        words = content_words(sentence)
        return (sum(frequency[w] for w in words) + 3 * len(words & title_words)) / math.sqrt(len(words) or 1)

    lowercase = _lowercase_words(article.body)
    ranked = sorted(sentences, key=centrality, reverse=True)[:limit]
    statements = [_ATTRIBUTION_END.sub("", s.rstrip(".").strip()) for s in ranked]
    return [CENTRAL_QUESTION.format(_lower_start(s, lowercase)) for s in statements]


def _lowercase_words(body: str) -> set[str]:
    return set(re.findall(r"\b[a-z][\w’'-]*", body))


def _lower_start(text: str, lowercase: set[str]) -> str:
    """Lower the first letter unless the first word is a name (never written in lower case in the article)."""
    first = text.split(" ", 1)[0].rstrip(",;:")
    return text[:1].lower() + text[1:] if first.lower() in lowercase else text


def stored_questions(record: dict) -> list[str]:
    """The questions saved in an article record (empty for records indexed before they existed)."""
    return [q for q in stored_list(record, "questions") if isinstance(q, str)]


def stored_faq_questions(record: dict) -> list[str]:
    """The questions of the article's FAQ pairs saved in its record, if any."""
    return [pair.question for pair in stored_faq(record)]


def good_suggestion(question: str) -> bool:
    """A question worth offering: whole, of a reasonable length, a real question, not about page furniture."""
    question = question.strip()
    if not question.endswith("?") or _CUT_OFF.search(question) or _FURNITURE.search(question):
        return False
    if len(question) > MAX_QUESTION_CHARS or len(question.split()) < 3:
        return False
    # An article's own question must read as one ("Messi or Ronaldo?" is a heading, not a question).
    return trust(question) > 0 or bool(_QUESTION_START.match(question))


def trust(question: str) -> int:
    """0 for the article's own questions, else 1 + the position of the template it was made from."""
    for rank, template in enumerate(TEMPLATES, 1):
        if question.startswith(template.split("{")[0]):
            return rank
    return 0


def article_questions(record: dict) -> list[str]:
    """An article's suggestions, best first: its FAQ, then its stored questions; bad ones left out."""
    return [q for q in dict.fromkeys(stored_faq_questions(record) + stored_questions(record)) if good_suggestion(q)]


def candidate_questions(records: list[dict], exclude: set[str] = frozenset()) -> list[tuple[str, str]]:
    """(article id, question) pairs from these articles, one article at a time, the articles' own
    questions before templated ones; each question once."""
    per_article = [[(r["id"], q) for q in article_questions(r) if q not in exclude] for r in records]
    ordered: dict[str, str] = {}
    for depth in range(max((len(q) for q in per_article), default=0)):
        for pairs in per_article:
            if depth < len(pairs):
                ordered.setdefault(pairs[depth][1], pairs[depth][0])
    return sorted(((i, q) for q, i in ordered.items()), key=lambda pair: trust(pair[1]))


def pick_questions(records: list[dict], limit: int, exclude: set[str] = frozenset()) -> list[str]:
    """The first `limit` candidate questions of these articles (see candidate_questions)."""
    return [q for _, q in candidate_questions(records, exclude)[:limit]]
