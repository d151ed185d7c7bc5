"""The extractive answer, composed like the seed article's FAQ: the sentence that says what was asked, at most
one more when it adds what that one lacks, and "the indexed articles don't mention X" when a name the question
is about is in no passage.

Pure functions on the plan, the passages and sentence vectors; `ExtractiveAnswerer` (chatbot/answering.py)
encodes the sentences and streams the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from langchain_core.documents import Document

from chatbot import entities
from chatbot.plan import QueryPlan
from chatbot.query import MONTHS, answer_kind, asked_role, asked_thing, defined_subject, without_titles
from index.text import STOP, WORD, fold, split_sentences, stem, stems

MIN_WORDS, MAX_WORDS = 5, 70  # shorter is a fragment or a label; longer is a run-on list
MAX_ANSWER_WORDS = 45  # a second sentence is added only while the answer stays this short (the seed's FAQ: 30-40)

_MONTHS = f"{MONTHS}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand"
    r"|million|billion|trillion|dozen|half|double|twice|percent"
)
_CURRENCY = r"(?:dollars?|pounds?|euros?|yen|yuan|rupees?|cents?|pence|francs?|kronor|krona|roubles?|rubles?|pesos?|shekels?|rand|reais|lira|dirhams?|riyals?)"
# Currencies by their ISO codes and local abbreviations ("NIS 405 million", "Rs 500 crore", "USD 2 billion").
_CODES = r"USD|EUR|GBP|NIS|ILS|INR|Rs\.?|AUD|CAD|CHF|JPY|CNY|RMB|HKD|SGD|NZD|SEK|NOK|DKK|ZAR|BRL|MXN|KRW|RUB|TRY|AED|SAR"
# The Korean won after a sum ("1.5 trillion won", "10,000 won"), not the verb ("in 2022 won the cup", "$8 won’t stop bots").
_WON = r"\b\d[\d,.]*\s*(?:million|billion|trillion)\s+won\b|\b\d{1,3}(?:,\d{3})+\s+won\b(?!['’])"
_PLAIN_NUMBER = r"(?<![$£€¥₹])(?<![$£€¥₹] )(?<![\d.,])(?<![A-Za-z]-)(?!(?:1[89]|20)\d\d\b)\d(?:[\d.,]*\d)?(?!\d|st\b|nd\b|rd\b|th\b)"
# A title's words: capitalised, but for the small ones between them ("Christmas Memories: Remixed & Remastered").
_TITLE_WORD = r"(?-i:[A-Z0-9])[\w’'&-]*[:,!?.]?"
_SMALL_WORD = r"(?:of|the|a|an|and|in|on|to|for|at|by|with|from|or|&)"
# What a sentence must hold to answer each kind of question.
KIND_PATTERNS = {
    # "How many?" is also answered by none at all.
    # A count is not a year, an ordinal ("3rd party") or an amount of money ("How many people work there?" is not
    # answered by "$345 million").
    "count": re.compile(rf"{_PLAIN_NUMBER}|\b(?:{_NUMBER_WORDS}|none|no one|nobody)\b", re.I),
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    # An amount has its currency: "15 million to 20 million new two-wheelers" says no price. "Free" is a price
    # ("the app is free", "free of charge"), "free from biases" and "free to leave" are not.
    "money": re.compile(rf"(?:[$£€¥₹₪]|\$US|\b(?-i:{_CODES})\b)\s?\d[\d.,]*(?:\s*(?:million|billion|trillion|bn|m|k|crore|lakh)\b)?|\b\d[\d,.]*\s*(?:(?:million|billion|bn|m|k|crore|lakh)\s+)?(?:{_CURRENCY}|(?-i:{_CODES}))\b|{_WON}|\bfree\b(?!\s+(?:from|to|of(?!\s+charge)|will|speech|agency|agent|throw|kick)\b)|\bno charge\b", re.I),
    # A month is capitalised ("It may be over a decade since ..." names no date); "this week" and "next week" are times.
    "when": re.compile(
        rf"\b(?-i:{_MONTHS})\b|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b|\b(?:1[89]|20)\d\d\b"
        r"|\b(?:yesterday|today|tonight|tomorrow|ago|earlier this|later this|(?:last|this|next) (?:week|weekend|month|year|season|night))\b"
        r"|\b\d{1,2}(?::\d\d)?\s*(?:a\.m\.|p\.m\.|am|pm)(?!\w)",
        re.I,
    ),
    "where": re.compile(r"\b(?:in|at|from|near|outside|across|to)\s+(?:the\s+)?[A-Z][a-z]+"),
    # A name given: a title in double quotes (not a quoted remark), one after "named / called / titled", or one set
    # off by commas ("her new novel, Edenglassie, ...").
    "name": re.compile(rf"[“\"]\s*{_TITLE_WORD}(?:\s+(?:{_SMALL_WORD}\s+)*{_TITLE_WORD}){{0,7}}\s*[”\"]|\b(?:named|called|titled|dubbed|known\s+as)\s+[“\"‘]?(?-i:[A-Z0-9])[\w-]*|,\s+(?-i:[A-Z])[\w’'-]+(?:\s+(?-i:[A-Z])[\w’'-]+){{0,4}},", re.I),
    "who": re.compile(r"\b[A-Z][a-z'’-]+(?:\s+[A-Z]\.)?\s+[A-Z][a-z'’-]+|\b(?:Mr|Mrs|Ms|Dr|Sir|President|Prime Minister|CEO|Professor|Judge|Senator|Rep)\b\.?"),
    "why": re.compile(
        r"\b(?:because|due to|as a result|in order to|so that|since|amid|following|after|over concerns?|reasons?|caused|"
        r"led to|leading to|prompted|driven by|aimed at|in response to|to (?:ensure|protect|prevent|avoid|address|help|"
        r"investigate|assess|stop|curb|comply|boost|reduce|limit|determine|examine|check))\b",
        re.I,
    ),
}
# Lines that are not prose, in case ingest let one through: table rows, numbered lists ("1) ...", "1. ..."), credits
# and labels ("Photograph: ...", "Source: ...", "Credit Jim Wilson", but not "Sources said ..." nor "Photos surfaced ..."), links,
# captions ("Chemist Moungi Bawendi (left), ..."), tweets (a #hashtag marks social-media text, kept by ingest as
# "X posted: ..." but not an answer), furniture, shop widgets ("Tile Pro $ 25 $ 35 29 % off ..."), a page's
# template markup ("{{ #verifyErrors }}").
_NOT_PROSE = re.compile(
    r"\|\s*$|^\s*\||^\s*\d+[.)]\s|pic\.twitter\.com|getty images|\(@\w+\)|^\s*(?:photo(?:graph)?s?|images?|pictures?|credits?|sources?|watch|related(?:\s+\w+){0,2})\s*:"
    r"|^\s*(?:photos?|images?|photography)\s+(?:by|courtesy)\b|^\s*image\s+(?:source|caption|credit)\b|^\s*image\s+\d+\s+of\s+\d+|^\s*(?:read more|most read|sign up|advertisement|watch|credit)\b"
    r"|^\s*related\s+(?-i:[A-Z])|[$£€¥₹] \d[\d.,]* [$£€¥₹] \d|\b\d+ % off\b|\{\{|\}\}|(?<![\w&])#[A-Za-z]\w*"
    r"|\((?:left|right|center|centre|middle|top|bottom|pictured|above|below|file)\)",
    re.I,
)
_FAQ_LABEL = re.compile(r"^\s*(?:question|q)\s*[:.]\s*", re.I)
# A sentence that needs the one before it: it refers back with a pronoun or "the company"-like phrase (after "And",
# "But": "And its head coach didn't hide his disappointment.").
_REFERS_BACK = re.compile(r"^(?:[\"“‘]?)(?:(?:and|but|so|yet)\s+)?(?:he|she|it|they|his|her|its|their|this|that|these|those|the (?:company|firm|club|group|team|move|deal|decision))\b", re.I)


@dataclass
class Sentence:
    position: int  # 1-based passage position, as cited
    index: int  # its place in the passage
    text: str
    previous: str  # the passage sentence before it ("" for the first)

    @property
    def words(self) -> int:
        return len(WORD.findall(self.text))

    @property
    def context(self) -> str:
        """The sentence as it can be read alone: one that refers back ("He said ...") with the sentence before it."""
        if _REFERS_BACK.match(self.text) and self.previous and not is_fragment(self.previous):
            if len(WORD.findall(self.previous)) + self.words <= MAX_ANSWER_WORDS:
                return f"{self.previous} {self.text}"
        return self.text


def under_title(sentence: Sentence, passages: list[Document]) -> str:
    """The sentence as read under its article's title: "<title>: <sentence>"."""
    title = passages[sentence.position - 1].metadata.get("title", "")
    return f"{title}: {sentence.context}" if title else sentence.context


@dataclass
class Composed:
    """The sentences to quote, each with its passage position; or the reason there is no answer."""

    sentences: list[Sentence]
    missing: str = ""  # "The indexed articles don't mention Alaska." when the question's names are not there
    name: str = ""  # for a who / which-company question, the name the passages agree on


def is_fragment(text: str) -> bool:
    """Not a sentence a person can read alone: a lower-case start, inside a quotation, a question, a heading or label
    (no full stop), not prose."""
    stripped = text.strip()
    first = next((ch for ch in stripped if ch.isalnum()), "")
    if not first or first.islower() or stripped[0] in "”’)-–—,;:":
        return True
    if stripped.count("“") != stripped.count("”") or stripped.count('"') % 2:
        return True
    letters = [ch for ch in stripped if ch.isalpha()]
    if sum(ch.isupper() for ch in letters) > 0.6 * len(letters):
        return True  # a headline or label in capitals ("TIME-RESTRICTED EATING NO MORE BENEFICIAL ..."), not prose
    if not stripped.endswith((".", "!", "…", '"', "”", "’", "'", ")")):
        # a question, a label ("...:"), a heading or a line cut off: "Shohei Ohtani news: Latest updates, rumors for MLB free agency"
        return True
    return bool(_NOT_PROSE.search(stripped))


# Furniture glued to the sentence after it where a page's lines were run together ("... prices. Loading The S&P
# 500 climbed ...": an embed's placeholder).
_LEADING_FURNITURE = re.compile(r"^(?:Loading(?:\.\.\.)?|Advertisement)\s+(?=[A-Z“\"‘])")


def sentences_of(passages: list[Document]) -> list[Sentence]:
    """Every quotable sentence of the passages, with the one before it for context."""
    found = []
    for position, doc in enumerate(passages, 1):
        previous = ""
        for index, text in enumerate(split_sentences(doc.page_content)):
            text = _LEADING_FURNITURE.sub("", text)
            sentence = Sentence(position, index, text, previous)
            if MIN_WORDS <= sentence.words <= MAX_WORDS and not is_fragment(text):
                found.append(sentence)
            previous = text
    return found


def by_best_sentence(passages: list[Document], asks: list[str], encode, rank_weight: float) -> list[Document]:
    """The passages reordered by their best sentence's similarity to what is asked (the mean over `asks`), plus
    `rank_weight` / (1 + the passage's rank as found). Every passage of an article carries its header, so within
    one article the passage that holds the answering sentence stands out by that sentence, not as a whole."""
    found = sentences_of(passages)
    if not found:
        return passages
    asks = list(dict.fromkeys(asks))
    vectors = encode(asks + [s.context for s in found])
    similarity = (vectors[len(asks) :] @ vectors[: len(asks)].T).mean(axis=1)
    best = np.full(len(passages), -1.0)
    for sentence, value in zip(found, similarity):
        best[sentence.position - 1] = max(best[sentence.position - 1], value)
    score = best + rank_weight / (1 + np.arange(len(passages)))
    return [passages[n] for n in np.argsort(-score, kind="stable")]


def faq_pairs(passages: list[Document]) -> list[tuple[str, Sentence]]:
    """(question, its answer's first sentence) for each question a passage asks and answers: an FAQ pair kept
    by ingest (metadata `faq_question`), or a "Question: ...?" line followed by its answer."""
    pairs = []
    for position, doc in enumerate(passages, 1):
        asked = doc.metadata.get("faq_question")
        lines = split_sentences(doc.page_content)
        if asked and lines:
            pairs.append((asked, Sentence(position, 0, _whole_answer(lines, 0), "")))
        for index, (line, answer) in enumerate(zip(lines, lines[1:])):
            if line.endswith("?") and not answer.endswith("?") and not is_fragment(answer):
                pairs.append((_FAQ_LABEL.sub("", line), Sentence(position, index + 1, _whole_answer(lines, index + 1), line)))
    return pairs


def _whole_answer(lines: list[str], index: int) -> str:
    """An FAQ answer's first sentence, with the next one when it is only "Yes." or "No, not yet." """
    answer = lines[index]
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if len(WORD.findall(answer)) < MIN_WORDS and following and not following.endswith("?") and not is_fragment(following):
        return f"{answer} {following}"
    return answer


# "How many mice ...?": the thing counted. Not "How many did they sell?" nor "How many more ...".
_COUNTED = re.compile(r"\bhow\s+many\s+(?:more\s+|other\s+|new\s+|of\s+the\s+)?([a-z][a-z-]+)", re.I)
_NOT_COUNTED = {"did", "do", "does", "were", "was", "are", "is", "have", "has", "had", "will", "would", "can", "could", "of"}
COUNTED_WITHIN = 3  # words between a number and the thing it counts ("22 House Republicans")
# Units written after a number ("12MP", "256 GB", "30 mph"), in the words a "How many megapixels ...?" asks with.
UNITS = {
    "MP": "megapixels", "GB": "gigabytes", "TB": "terabytes", "MB": "megabytes", "KB": "kilobytes", "km": "kilometres kilometers",
    "kg": "kilograms", "mph": "miles", "mm": "millimetres millimeters", "cm": "centimetres centimeters", "ft": "feet",
    "lbs": "pounds", "lb": "pounds", "oz": "ounces", "GHz": "gigahertz", "MHz": "megahertz", "mAh": "milliamp-hours",
    "kW": "kilowatts", "MW": "megawatts", "GW": "gigawatts", "kWh": "kilowatt-hours", "fps": "frames", "Hz": "hertz",
}
_UNIT = re.compile(rf"^\s?({'|'.join(UNITS)})\b")


def _counted_words(after: str) -> str:
    """The words after a number, a unit written with it spelled out ("MP. Photo ..." -> "megapixels Photo ...")."""
    return _UNIT.sub(lambda m: f" {UNITS[m.group(1)]} ", after, count=1)


def counted(question: str) -> str:
    """The stem of the thing a how-many question counts ("mice" in "How many mice were in the study?"), or ""."""
    match = _COUNTED.search(question)
    # The noun phrase's head, where the tagger reads it ("criminal counts" counts counts); else the word after "many".
    word = (entities.counted_head(question) or match.group(1)).lower() if match else ""
    return "" if not word or word in _NOT_COUNTED else next(iter(stems(word)), "")


def holds_kind(text: str, kind: str, question: str = "") -> bool:
    """Whether the text holds the kind of thing asked for, other than what the question itself says ("When did X
    happen in 2023?" is not answered by another sentence saying 2023); a count counts the thing asked about
    ("How many mice?" is not answered by "six-hour windows")."""
    pattern = KIND_PATTERNS.get(kind)
    if pattern is None:
        return False
    if kind == "count":
        text = KIND_PATTERNS["money"].sub(" ", text)
    asked = f" {plain(question)} "
    found = [m for m in pattern.finditer(text) if not plain(m.group()) or f" {plain(m.group())} " not in asked]
    thing = counted(question) if kind == "count" and found else ""
    if thing:
        # "How many times ...?" is answered by "50 million times" or "twice", not by "No. 7".
        return any(
            thing in stems(" ".join(WORD.findall(_counted_words(text[m.end():]))[:COUNTED_WITHIN])) or (thing == "time" and m.group().lower() == "twice")
            for m in found
        )
    return bool(found)


def plain(text: str) -> str:
    """Lower-case words only, single-spaced: how texts are compared."""
    return " ".join(WORD.findall(text.lower()))


def describes(text: str, subject: str) -> bool:
    """Whether the text says what `subject` is: "Bill Kenwright, an acclaimed ... producer, ...", "EBT-101 is a
    ...", "The therapy, named EBT-101, ...", "the Digital Services Act (DSA)"; a person may be named by surname."""
    if not subject:
        return False
    surname = subject.split()[-1]
    forms = [subject] + ([surname] if surname != subject and surname[:1].isupper() else [])
    said = "|".join(re.escape(f) for f in forms)
    return bool(
        re.search(rf"\b(?:{said})(?:['’]s)?\s*,\s+(?:a|an|the|who|which|whose|one|[a-z][a-z-]+\s+(?:of|at|for|in|and|with|to))\b", text)
        or re.search(rf"\b(?:{said})\s+(?:is|was|are|were|has been|had been)\s+(?:a|an|the|one)\b", text)
        or re.search(rf"\b(?:named|called|dubbed|known as)\s+(?:{said})\b", text)
        or (subject.isupper() and f"({subject})" in text)
    )


def kind_matches(texts: list[str], kind: str, question: str = "") -> list[bool]:
    """Which texts hold the kind of thing asked for, beyond the names the question itself gives: a person or
    organisation (who) or a place (where) by the named-entity recogniser, a number, a date or a reason by
    patterns, a description of the name a "Who is / What is <name>?" question gives."""
    if kind == "definition":
        subject = defined_subject(question)
        return [bool(subject) and describes(t, subject) for t in texts]
    if kind in entities.LABELS:
        found = entities.spans(texts, kind)
        if found is not None:
            return [any(not mentions(question, name) for name in names) for names in found]
    return [holds_kind(t, kind, question) for t in texts]


@lru_cache(maxsize=4096)
def whole_word(word: str) -> re.Pattern:
    """The pattern of `word` standing alone (compiled once: names recur from question to question)."""
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")


def mentions(haystack: str, name: str) -> bool:
    """Whether `haystack` names `name`: the phrase itself, or (for a longer name) its last word and most of the rest.
    Numbers must appear as written; accents need not ("Beyonce" names "Beyoncé")."""
    low, name = fold(haystack).lower(), fold(name)
    if name.lower() in low:
        return True
    words = [w for w in re.split(r"[\s-]+", name) if len(w) > 1]
    if len(words) < 2 or any(w[0].isdigit() for w in words):
        return False
    found = [whole_word(w.lower()).search(low) is not None for w in words]
    return found[-1] and sum(found) * 2 >= len(words)


def as_name(span: str) -> str:
    """A recognised span as a name: without quotes and a closing possessive; "" for a span holding a possessive
    inside ("Ratcliffe’s Manchester United" is two names)."""
    name = re.sub(r"['’]s$", "", span.strip(" .,“”\"'‘’"))
    return "" if re.search(r"['’]s\s", name) else name


def answer_name(plan: QueryPlan, passages: list[Document]) -> str:
    """For a who / which-company question, the name the passages agree on: of the people (or organisations)
    the recogniser finds in the passages and their titles, the one most passages mention that the question does
    not name itself ("Who founded FTX?" -> "Sam Bankman-Fried"), in its longest form; "" when no name is in two
    passages or the pipeline is unavailable."""
    if plan.kind not in ("who", "organisation"):
        return ""
    texts = [f"{d.metadata.get('title', '')}.\n{d.page_content}" for d in passages]
    found = entities.spans(texts, plan.kind)
    if not found:
        return ""
    forms: dict[str, str] = {}
    for name in (n for names in found for n in names):
        name = as_name(name)
        key = name.split()[-1] if name else ""
        if len(key) >= 3 and key[0].isupper() and len(name) > len(forms.get(key, "")):
            forms[key] = name
    asked = plan.question.lower()
    # Agreement is between articles: the passages of one article all name its protagonist, asked about or not.
    articles = [d.metadata.get("article_id") or n for n, d in enumerate(passages)]
    votes = {
        key: len({a for a, t in zip(articles, texts) if whole_word(key).search(t)})
        for key in forms
        if not whole_word(key.lower()).search(asked)
    }
    ranked = sorted(votes, key=lambda k: -votes[k])
    return forms[ranked[0]] if ranked and votes[ranked[0]] >= 2 else ""


def names_in_part(text: str, name: str) -> bool:
    """Whether the text names `name` in part (by its last word: "Bankman-Fried" for Sam Bankman-Fried)."""
    return whole_word(name.split()[-1]).search(text) is not None


def missing_names(plan: QueryPlan, passages: list[Document]) -> list[str]:
    """The names the question is about that no passage (text, title, outlet or year of publication) mentions: an
    article published in 2023 is about 2023 even when its text never writes the year; a name with a title
    ("Maersk's CEO") is mentioned when the name without it is, and said missing without it."""
    haystack = "\n".join(
        f"{d.metadata.get('title', '')}\n{d.metadata.get('source', '')}\n{str(d.metadata.get('published_at', ''))[:4]}\n{d.page_content}"
        for d in passages
    )
    groups = entities.groups(plan.question) if plan.names else set()
    # "How much did Americans spend online?" is answered by an article about US shoppers: a group is never missing.
    return [without_titles(name) or name for name in plan.names if name not in groups and not _said_in(haystack, name)]


def _said_in(haystack: str, name: str) -> bool:
    """Whether the haystack mentions the name: as written, or without a title ("Rugby Australia's CEO" by an article
    calling him chief executive); a dated name ("2023 Davis Cup") by its year and its name, each somewhere; names
    joined by "and" or a possessive ("Biden and Xi", "UN's 95") by each side."""
    bare = without_titles(name)
    dated = _DATED_NAME.match(bare or name)
    if dated:
        return all(mentions(haystack, part) for part in dated.groups() if part)
    if mentions(haystack, name) or (bare and mentions(haystack, bare)):
        return True
    sides = _JOINED.split(name)
    return len(sides) > 1 and all(mentions(haystack, side) for side in sides)


_JOINED = re.compile(r"\s+(?:and|&)\s+|['’]s\s+")
_DATED_NAME = re.compile(r"^(?:((?:19|20)\d\d)\s+(\D.*)|(\D.*?)\s+((?:19|20)\d\d))$")


# Nouns too general to be what a question is about ("In which article ...", "How many times ...").
GENERIC_NOUNS = set(
    "article articles report reports news story stories people person thing things time times way year years day days part lot "
    "kind type number amount one".split()
)


def passage_text(doc: Document) -> str:
    """A passage with its article's title, as a name or a word is looked for in it."""
    return f"{doc.metadata.get('title', '')}\n{doc.page_content}"


def article_text(passages: list[Document], position: int) -> str:
    """The passage at `position` (1-based) with the other passages of its article, each with its title."""
    article = passages[position - 1].metadata.get("article_id")
    same = [d for n, d in enumerate(passages, 1) if n == position or (article and d.metadata.get("article_id") == article)]
    return "\n".join(passage_text(d) for d in same)


def absent_nouns(question: str, passages: list[Document]) -> list[str]:
    """The phrases of the question's nouns that no passage (text or title) holds in any form ("funeral" in
    "Where will his funeral be held?"), beyond nouns too general to be its subject."""
    held = set()
    for d in passages:
        held |= stems(passage_text(d))
    return [
        phrase for word, lemma, phrase in entities.nouns(question)
        if word.lower() not in GENERIC_NOUNS and not ({stem(word), stem(lemma)} & held) and not _compounded(stem(lemma), held)
    ]


# A noun is also said as the first part of a compound: "chair" by "chairperson", "spokes" by "spokeswoman".
_COMPOUNDED = ("man", "men", "woman", "women", "person", "people", "ship")


def _compounded(noun: str, held: set[str]) -> bool:
    return any(f"{noun}{end}" in held for end in _COMPOUNDED)


def says_own_words(plan: QueryPlan, text: str) -> bool:
    """Whether the text holds a word of the question that its search did not take from the topic ("funeral" of
    "Where will his funeral be held?", not "Kenwright")."""
    topic = plan.query[len(plan.question) :] if plan.query.startswith(plan.question) else ""
    return bool((stems(plan.question) - stems(topic)) & stems(text))


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def not_mentioned(names: list[str]) -> str:
    return f"The indexed articles don't mention {_either(names)}."


# Kinds a pattern finds reliably: an answer without one does not answer (a sentence about the price that names
# none does not say how much).
MUST_HOLD = ("money", "count", "when")
# Names the recogniser finds less reliably: a sentence naming someone (some organisation, a title) the question does
# not is preferred, but one without may still answer. Not places: "Where was it published?" is answered by a journal.
PREFER = ("who", "organisation", "definition", "name")
KIND_MARGIN = 0.4  # how much less well a sentence holding the asked-for kind may score and still be preferred


# "founded in 2000 by Intel programmer Kevin Lewandowski", "a round led by Collide Capital": an action, then its doer.
_DONE_BY = re.compile(r"\b([a-z]+)(?=\s+(?:[\w’'-]+\s+){0,3}?by\s+(?:[\w’'-]+\s+){0,5}?[A-Z])")
# "Omar Marmoush opened the scoring": a full name, then the action ("the Commission sent" names no one).
_DOER_DID = re.compile(r"\b[A-Z][\w’'-]+\s+[A-Z][\w’'-]+\s+([a-z]+)\b")
# "Who founded ...?", "who's headlining ...?", "Who ended up catching ...?": the action a who-question asks the doer of.
_WHO_DID = re.compile(
    r"\bwho(?:['’]s|['’]d|\s+(?:is|was|are|were|has|had|have|will|would|could|might|may|can))?"
    r"\s+(?:(?:also|first|then|actually|ultimately|really|ended\s+up)\s+)?([a-z]+)\b",
    re.I,
)


def asked_action(question: str) -> str:
    """The stem of the verb a "Who <did> ...?" question asks the doer of ("found" in "Who founded Discogs?"), or ""."""
    asked = _WHO_DID.search(question)
    return stem(asked.group(1)) if asked and asked.group(1).lower() not in STOP else ""


def names_doer(text: str, question: str) -> bool:
    """Whether the sentence names someone as doing what a "Who <did> ...?" question asks about: its verb before
    "by <Name>" ("founded in 2000 by ... Kevin Lewandowski") or right after a name ("Omar Marmoush opened ...")."""
    action = asked_action(question)
    return bool(action) and any(stem(m.group(1)) == action for pattern in (_DONE_BY, _DOER_DID) for m in pattern.finditer(text))


# "Where's he from originally?", "Where was she born?": where someone comes from, which a sentence saying where
# they were born or grew up says ("born in Fiji", "spent his childhood in Astoria", "a native of Lagos").
_ORIGIN_ASKED = re.compile(
    r"\bwhere(?:['’]s|['’]d|\s+(?:is|was|are|were|does|did|do))?\s+(?:\w+\s+){0,3}?(?:originally\s+)?(?:from|born|raised|grow\s+up)\b", re.I
)
_ORIGIN_SAID = re.compile(
    r"\b(?:born|raised|grew\s+up|growing\s+up|native|hails?|hailing|childhood|hometown|home\s+town|originally)\b", re.I
)


def asks_directly(question: str, kind: str) -> bool:
    """Whether some sentences answer the question more directly than others naming a person or a place: who did
    the thing it asks about, where someone is from."""
    return (kind == "who" and bool(asked_action(question))) or (kind == "where" and _ORIGIN_ASKED.search(question) is not None)


def says_directly(text: str, question: str, kind: str) -> bool:
    """Whether the sentence says it directly: names someone as doing it, says where someone was born or grew up."""
    return names_doer(text, question) if kind == "who" else _ORIGIN_SAID.search(text) is not None


def not_said(question: str) -> str:
    asked = re.search(r"\b(how\s+(?:many|much)|when|what\s+(?:year|date|day|month|time|price|salary|fee|fine|percentage|share|number))\b", question, re.I)
    if asked:
        return f"The indexed articles don't say {asked.group(1).lower()}."
    role = asked_role(question)
    if role:
        return f"The indexed articles don't say who the {role} is."
    if answer_kind(question) == "name":  # "What's the title of the book he wrote?", "What is the drug called?"
        asked = re.search(r"\b(name|title)s?\s+of\b", question, re.I)
        return f"The indexed articles don't give the {asked.group(1).lower()}." if asked else "The indexed articles don't say what it is called."
    # "Which law firm is defending it?": the words between "which" and the verb name the thing.
    phrase = re.search(r"\bwhich\s+((?:[a-z]+\s+){0,2}?[a-z]+)\s+(?:is|was|are|were|did|does|do|has|had|have|will|would|can|could)\b", question, re.I)
    named = phrase and not re.search(r"\b(?:of|the|a|an|these|those)\b", phrase.group(1), re.I)
    thing = phrase.group(1) if named else asked_thing(question) if re.search(r"\bwhich\b", question, re.I) else ""
    if thing:
        return f"The indexed articles don't say which {thing}."
    opening = re.match(r"^\W*(?:and\s+|so\s+|but\s+)?(where|why)\b", question, re.I)  # "Where will his funeral be held?"
    return f"The indexed articles don't say {opening.group(1).lower()}." if opening else "The indexed articles don't say."


def part_not_said(part: str) -> str:
    """What the articles don't cover of a question with several parts: "As for “when does it ship?”, ..."."""
    said = not_said(part)
    return f"As for “{part[0].lower() + part[1:].rstrip('?')}?”, {said[0].lower()}{said[1:]}"


def not_indexed(sources: list[str]) -> str:
    return f"The indexed articles don't include any from {_either(sources)}."


FEATURES = ("similarity", "overlap", "kind", "names", "rank", "answer_name", "thing", "announces")
# How much each feature counts (similarity 1.0 sets the scale the margins are in). A sentence that announces the
# answer leads only when no other sentence is related enough: -1 takes it below every other one.
WEIGHTS = np.array([1.0, 0.15, 0.08, 0.05, 0.03, 0.05, 0.3, -1.0])
# "Why ...?" is not answered by "She has revealed why ...", nor "How ...?" by "He explained how ...": a sentence that
# asks the question again inside itself announces the answer without giving it.
_WH_OPENING = re.compile(r"^\W*(?:and\s+|so\s+|but\s+)?(why|how)\b(?!\s+(?:many|much|old|long|far|big|large|high|often|soon)\b)", re.I)


# "... which is why the council closed it" gives the reason; "She revealed why ..." does not.
_EMBEDDED_WH = {wh: re.compile(rf"(?<!\bis )(?<!['’]s )(?<!\bwas )(?<!\bare )(?<!\bwere )\b{wh}\b", re.I) for wh in ("why", "how")}


def announcing(question: str) -> re.Pattern | None:
    """The pattern of a sentence that holds the question's opening why / how inside it, or None."""
    asked = _WH_OPENING.match(question)
    return _EMBEDDED_WH[asked.group(1).lower()] if asked else None


def announces(question: str, text: str) -> bool:
    """Whether the sentence holds the question's opening why / how inside it ("revealed why ...")."""
    pattern = announcing(question)
    return pattern is not None and pattern.search(text[1:]) is not None


def score(
    plan: QueryPlan, question: str, candidates: list[Sentence], similarity: np.ndarray, passages: int, matches: list[bool], name: str = ""
) -> np.ndarray:
    """How well each sentence answers: its FEATURES weighed."""
    return features(plan, question, candidates, similarity, passages, matches, name) @ WEIGHTS


def features(
    plan: QueryPlan, question: str, candidates: list[Sentence], similarity: np.ndarray, passages: int, matches: list[bool], name: str = ""
) -> np.ndarray:
    """Each sentence's FEATURES: its similarity to what was asked, the share of the question's words it holds,
    whether it holds the kind of thing asked for (beyond what the question says), the share of the question's
    names it mentions, its passage's rank, whether it names the answer the passages agree on, whether it names the
    kind of thing a "which X" question asks for (X)."""
    asked = stems(question)
    key = name.split()[-1] if name else ""
    thing = stems(plan.thing) if plan.thing and not plan.long else set()
    announced = announcing(question)
    rows = [
        (
            similarity[n],
            len(asked & stems(c.context)) / max(1, len(asked)),
            float(matches[n]),
            sum(mentions(c.text, m) for m in plan.names) / len(plan.names) if plan.names else 0.0,
            (passages - c.position) / passages,
            float(bool(key) and mentions(c.context, key)),
            float(bool(thing) and thing <= stems(c.text)),
            float(announced is not None and announced.search(c.text[1:]) is not None),
        )
        for n, c in enumerate(candidates)
    ]
    return np.array(rows, dtype=float).reshape(len(candidates), len(FEATURES))


def adds(candidate: Sentence, chosen: list[Sentence], plan: QueryPlan, kind: str, holds: bool) -> bool:
    """A further sentence earns its place by holding what the answer so far lacks: the kind of thing asked for,
    or a name or word of the question; one that refers back must follow the sentence it refers to."""
    if _REFERS_BACK.match(candidate.text) and not any(c.position == candidate.position and c.index == candidate.index - 1 for c in chosen):
        return False
    so_far = " ".join(c.text for c in chosen)
    if kind != "what" and holds and not any(kind_matches([c.text for c in chosen], kind, plan.question)):
        return True
    if any(mentions(candidate.text, n) and not mentions(so_far, n) for n in plan.names):
        return True
    lacking = stems(plan.question) - stems(so_far)
    return len(lacking & stems(candidate.text)) >= 2
