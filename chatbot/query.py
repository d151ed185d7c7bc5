"""Question understanding: which known outlets and which dates a question names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from dateutil import parser as dateparser

from index.text import split_sentences

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(
    rf"\b(?:(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}\s+(?:{MONTHS})\s+\d{{4}})\b",
    re.IGNORECASE,
)


_WORDS = re.compile(r"[A-Za-z0-9]{3,}")
MIN_PART_WORDS = 5


@dataclass
class SubQuery:
    """One part of a question that names several outlets: its own words, outlets and dates."""

    text: str
    outlets: list[str] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)


def outlet_aliases(source: str) -> set[str]:
    """Ways a question may name an outlet: 'The Independent - Life and Style' is also 'The Independent'."""
    names = {source}
    for sep in (" | ", " - ", ": "):
        if sep in source:
            names.add(source.split(sep)[0])
    names |= {n[4:] for n in list(names) if n.lower().startswith("the ")}
    names |= {n.removesuffix(".com") for n in list(names)}
    return {n.strip() for n in names if len(n.strip()) >= 3}


def find_outlets(question: str, sources: list[str]) -> list[str]:
    """Known outlets named in the question, in order of first mention (longest alias wins)."""
    text = question.lower()
    hits: dict[str, int] = {}
    for source in sources:
        for alias in sorted(outlet_aliases(source), key=len, reverse=True):
            match = re.search(rf"(?<![\w]){re.escape(alias.lower())}(?![\w])", text)
            if match:
                hits[source] = min(hits.get(source, len(text)), match.start())
                break
    # An alias shared by several outlets ("The Independent") names them all; a full name names one.
    exact = {s for s in hits if s.lower() in text}
    if exact:
        hits = {s: p for s, p in hits.items() if s in exact or not any(s.split(" ")[0] == e.split(" ")[0] for e in exact)}
    return sorted(hits, key=hits.get)


def find_dates(question: str) -> list[date]:
    found = []
    for match in _DATE.finditer(question):
        try:
            found.append(dateparser.parse(match.group(0), default=datetime(2000, 1, 1)).date())
        except (ValueError, OverflowError):
            continue
    return list(dict.fromkeys(found))


def outlet_mentions(question: str, outlets: list[str]) -> list[tuple[int, list[str]]]:
    """Every place the question names one of `outlets` (already resolved by find_outlets), in order.

    An alias shared by several outlets gives one mention naming all of them.
    """
    text = question.lower()
    taken: dict[int, tuple[int, list[str]]] = {}  # start -> (end, outlets)
    for source in outlets:
        for alias in sorted(outlet_aliases(source), key=len, reverse=True):
            for match in re.finditer(rf"(?<![\w]){re.escape(alias.lower())}(?![\w])", text):
                start, end = match.span()
                if any(s <= start < e or start <= s < end for s, (e, _) in taken.items() if s != start):
                    continue
                old_end, names = taken.get(start, (end, []))
                if end >= old_end and source not in names:
                    taken[start] = (max(end, old_end), names + [source])
    return [(start, names) for start, (_, names) in sorted(taken.items())]


def decompose(question: str, outlets: list[str]) -> list[SubQuery]:
    """Split a question that names outlets more than once into one part per mention.

    "Does the Verge article say X, while the TechCrunch article says Y?" becomes a part about X from
    The Verge and a part about Y from TechCrunch, each with the dates written in it, so each hop of a
    comparison or temporal question gets its own search instead of sharing one blurred embedding.
    """
    mentions = outlet_mentions(question, outlets)
    if len(mentions) < 2:
        return []
    parts = []
    for n, (start, names) in enumerate(mentions):
        begin = 0 if n == 0 else start
        end = mentions[n + 1][0] if n + 1 < len(mentions) else len(question)
        text = question[begin:end].strip(" ,;'\"")
        # A bare trailing mention ("... reported by TechCrunch and The Age?") says nothing of its own:
        # the per-outlet search with the whole question covers it.
        if len(_WORDS.findall(text)) >= MIN_PART_WORDS:
            parts.append(SubQuery(text, names, find_dates(text)))
    return parts if len(parts) >= 2 else []



# -- what an answer must hold ------------------------------------------------------------------------
# The kind of thing a question asks for, from its wh-phrase. Order matters: "how many" before "how".
# "How much" asks for money when a verb or a money noun follows it ("How much did it cost?", "How much funding
# ...?", "How much net income ...?") and the question speaks of money; "How much time do people spend in it?" asks for a duration.
_AUXILIARY = r"is|was|are|were|did|does|do|has|have|had|will|would|could|can|should"
_MONEY_NOUNS = r"(?:[a-z]+\s+)?(?:money|cash|funding|prize|revenue|capital|investment|profits?|debt|rent|tax|taxes|income|earnings|losses|wealth|savings|penalty|penalties|fines|damages|fees|compensation|bonus|salary|wages)"
_MONEY_WORDS = (
    r"cost|costs|costing|price|priced|pricing|pay|pays|paid|paying|charge|charges|charged|charging|earn|earns|earned|earning"
    r"|worth|salary|spend|spends|spent|spending|fee|fees|fine|fined|offer|offers|offered|offering|raise|raises|raised|raising"
    r"|sell|sells|selling|sold|value|valued|bid|budget|make|made|money|prize|award|compensation"
    r"|damages|funding|settle|settlement|gross|grossed|grossing|(?:take|took|taken|bring|brought)\s+in|generate|generated"
    r"|revenue|sales|penalty|penalties|fines"
)
# "What's the name of ...", "What is the title of ...": asks for a name (or, by what follows, who / which company).
_NAME_OF_PHRASE = r"\bwhat(?:['’]s|\s+(?:is|was|are|were))?\s+the\s+(?:name|title)s?\s+of\b"
_KINDS = [
    ("money", re.compile(rf"\bhow\s+much\s+(?=(?:{_AUXILIARY}|{_MONEY_NOUNS})\b)(?=.*\b(?:{_MONEY_WORDS})\b)|\bwhat\s+(?:price|salary|fee|fine)\b", re.I)),
    ("count", re.compile(r"\bhow\s+(?:many|much)\b|\bwhat\s+(?:percentage|percent|share|number|amount|proportion|rate|sum|figure|age)\b", re.I)),
    ("number", re.compile(r"\bhow\s+(?:old|long|far|big|large|high|often)\b|\bwhat\s+(?:score)\b", re.I)),
    ("when", re.compile(r"\bwhen\b|\b(?:what|which)\s+(?:year|date|day|month|time|season)\b|\bhow\s+soon\b", re.I)),
    ("where", re.compile(r"\bwhere\b|\b(?:what|which)\s+(?:country|city|state|place|region|town|venue|stadium|location)\b", re.I)),
    ("who", re.compile(r"\bwho(?:m|se)?\b|\b(?:what|which)\s+(?:person|people|player|official|lawyer|judge|politician|artist|singer|actor|actress|executive|ceo|coach|founder|leader|minister|president|author"
                  r"|senator|governor|mayor|lawmaker|candidate|manager|director|chair(?:man|woman)?|spokes(?:person|man|woman)|analyst|economist"
                  r"|expert|scientist|researcher|doctor|journalist|reporter|editor|writer|musician|rapper|athlete|celebrity|owner|investor|chef"
                  r"|witness|victim|suspect|defendant|prosecutor|attorney)s?\b", re.I)),
    ("organisation", re.compile(r"\b(?:what|which)\s+(?:company|companies|firm|organi[sz]ation|group|team|club|outlet|agency|brand|band|party|publication|newspaper|network|league|bank|hospitals?|universit(?:y|ies)|school|college|museum|charity|app|startup|platform|retailer|airline)\b", re.I)),
    # "What is the therapy called?", "What's the name of her new novel?": a name or a title.
    ("name", re.compile(rf"{_NAME_OF_PHRASE}|^\W*what\b(?=.*\b(?:called|named|titled)\W*$)", re.I)),
    ("why", re.compile(r"\bwhy\b|\bwhat\s+(?:caused|led\s+to|prompted|drove|was\s+the\s+reason)\b|\bfor\s+what\s+reason\b|\bhow\s+come\b", re.I)),
]
_NAME_OF = re.compile(rf"{_NAME_OF_PHRASE}\s+(?:(?:the|a|an|his|her|its|their)\s+)?", re.I)
_THING = re.compile(r"\b(?:what|which)\s+(?:kind\s+of\s+|type\s+of\s+|other\s+)?([a-z][a-z-]{2,})\b", re.I)
_NOT_A_THING = {"is", "are", "was", "were", "did", "does", "do", "has", "have", "had", "can", "could", "would", "will", "should", "might", "may", "about", "happened", "happens", "else", "the", "a", "an", "it", "they", "he", "she", "we", "you", "i", "this", "that", "these", "those", "of", "in", "on"}
# A second question joined to the first: "Who led the research, and where was it published?"
_SECOND_QUESTION = re.compile(r",?\s+and\s+(?=(?:who|whom|what|when|where|why|how)\b)", re.I)
# "Kids+", "Disney+" keep their "+"; a number before "-<digit>" is a score or a range ("Scotland 6-0"), not a name.
_NAME_WORD = r"(?:[A-Z][\w'’.&-]*\+*|\d+(?:[.,]\d+)*%?(?![\w]|-\d))"
_CAPITALISED = re.compile(rf"{_NAME_WORD}(?:\s+(?:of|de|du|van|von|der|the|and|&)?\s*{_NAME_WORD})*")
# Titles in double quotes ("Eras Tour"); single quotes are left alone: they are also apostrophes.
_QUOTED_NAME = re.compile(r"[\"“]([^\"”]{2,60})[\"”]")
_NOT_A_NAME = set(
    "I What Which Who Whom Whose When Where Why How Did Does Do Is Are Was Were Has Have Had Can Could Would Will Should "
    "May Might Must And But Or If In On At For From To Of By With About After Before During According Considering Between "
    "The A An This That These Those It Its He She They Their His Her Mr Mrs Ms Dr Yes No OK Ok Okay".split()
)
# Also a request's verb ("Tell me more", "Explain that", "Give me the details"): capitalised by position, not a name.
_CONTRACTION_END = re.compile(r"['’](?:d|m|ve|ll|s|re)$")  # "I'd", "It's", "They're" are "I", "It", "They"
_NEGATED = re.compile(r"n['’]t$")  # "Didn't", "Won't", "Can't": an auxiliary, never a name
_SENTENCE_START = re.compile(r"^(?:Thanks|Hi|Hello|Hey|Great|Right|Well|Sure|Cool|Fine|Wow|Interesting|Hmm|[A-Z][a-z]*ing|Tell|Explain|Describe|Give|List|Summari[sz]e|Show|Compare|Please|Remind|Elaborate|Expand|Clarify|Define|Recap|Go|Talk|Let|Any|Anything|More|Until|Back|Based|Since|Apart|Besides|Aside|Regarding|Given|Also|Then|So|Now|Overall|Once|While|Although|Though|Unlike|Like|Beyond|Across|Among|Over|Under|Out|Why|Whom)$")
_DAY_OR_MONTH = re.compile(rf"^(?:{MONTHS}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)$", re.I)


# "Who is Richard Teng?" asks what he is, not for a name: the question gives it. "What is EBT-101?" asks the same.
_WHO_IS_NAMED = re.compile(rf"^\s*(?i:(?:who|what)\s+(?:is|was|are|were))\s+(?:the\s+)?(?P<subject>{_CAPITALISED.pattern})\s*\??\s*$")


# "Who is the director of Mossad?", "Who is iRobot's chief executive?": who holds a role, asked with "is".
_ROLE_ASKED = re.compile(
    r"^\W*(?i:(?:and\s+|so\s+)?who\s+(?:is|was|are|were)\s+(?P<whose>the|his|her|its|their|[\w.&’'-]+(?:\s+[\w.&’'-]+){0,3}?['’]s?))\s+"
    r"(?P<role>(?:[a-z][a-z-]*|[A-Z]{2,4})(?:\s+(?:[a-z][a-z-]*|[A-Z]{2,4})){0,3}?)\s*(?:\b(?:of|at|for|in|on)\b\s+(?:the\s+)?(?P<owner>\S+)|\?|$)"
)
_NOT_ROLE = {"new", "current", "former", "next", "interim", "acting", "now", "then", "real", "actual"}
# "Who is the individual accused of ...?" describes someone; it names no role. Nor does a ranking or a part played
# in one event: "Who was the most expensive buy at the auction?", "Who was United's hero in the win?".
_NO_ROLE = re.compile(
    r"\b(?:individual|person|people|man|woman|one|subject|figure|guy|someone|\w+ed|\w+ing"
    r"|most|least|best|worst|top|biggest|largest|highest|lowest|fastest|youngest|oldest|richest|greatest"
    r"|hero|star|villain|winner|loser)$",
    re.I,
)


def asked_role(question: str) -> str:
    """The role a "Who is the <role> of X?" / "Who is X's <role>?" question asks the holder of ("chief executive"),
    or "" (also when the role is held in nothing named)."""
    match = _role_asked(question)
    # A role is held in something named: "Who was the donor for his first one?" asks about a person, not an office.
    owned = match and (match.group("whose").lower() != "the" or (match.group("owner") or "")[:1].isupper())
    words = [w for w in match.group("role").split() if w.lower() not in _NOT_ROLE] if owned else []
    return "" if not words or any(_NO_ROLE.match(w) for w in words) else " ".join(words)


def role_owner(question: str) -> str:
    """Whom a role question names as the role's owner ("Expedia" in "Who is the CEO of Expedia?", "Richmond" in
    "Who is Richmond's coach?", "maersk" in "who is maersk's ceo?"), or "" when it points back ("its", "the
    company's")."""
    match = _role_asked(question)
    if not match:
        return ""
    whose = re.sub(r"^the\s+|['’]s?$", "", match.group("whose"))
    if whose.lower() not in _POINTS_BACK and not re.search(rf"\b(?:{_COMMON_OWNERS})$", whose):
        return whose  # "Richmond", or "maersk" typed in lower case
    owner = match.group("owner") or ""
    return owner.strip("?.,") if owner[:1].isupper() else ""


_POINTS_BACK = {"the", "his", "her", "its", "their"}
# An owner said with a common noun points back to the topic: "Who is the company's chief executive?"
_COMMON_OWNERS = r"company|firm|club|team|group|country|city|state|agency|organi[sz]ation|startup|platform|league|government|network|brand|band|school|university|business|side|party"


def _role_asked(question: str) -> re.Match | None:
    """The role question's parts; a role typed in capitals at the end ("Who is the Diamondbacks' General Manager?",
    as a lower-case question reads once its words take the archive's capitals) is read as one in lower case."""
    question = expanded(question)
    return _ROLE_ASKED.match(question) or _ROLE_ASKED.match(
        re.sub(r"((?:\b[A-Z][a-z]+\s*){1,3})\?\s*$", lambda m: m.group(1).lower() + "?", question)
    )


def defined_subject(question: str) -> str:
    """What a "Who is <name>?" / "What is <name>?" question asks to have described ("Bill Kenwright"), or ""."""
    match = _WHO_IS_NAMED.match(expanded(question))
    return match.group("subject").strip() if match else ""


# "What's", "Who's", "Where're", "Who'll": a wh-word's contraction reads as the wh-word and its verb.
_CONTRACTED = re.compile(r"\b(what|who|where|when|why|how|which|that|there|here|it)['’](s|re|ll)\b", re.I)
_FULL_VERB = {"s": "is", "re": "are", "ll": "will"}


def expanded(question: str) -> str:
    """The question with its wh-contractions written out ("Who's Bill Kenwright?" -> "Who is Bill Kenwright?")."""
    return _CONTRACTED.sub(lambda m: f"{m.group(1)} {_FULL_VERB[m.group(2).lower()]}", question)


# A label a question opens with before its wh-word ("Different subject: who won ...?", "Back to X: where ...?").
LABEL = re.compile(r"^[^:?]{1,60}:\s+(?=(?:what|which|who|whom|whose|when|where|why|how)\b)", re.I)


def answer_kind(question: str) -> str:
    """who / when / where / money / count / number / name / why / definition, or "what" for anything else:
    the wh-phrase the question opens with decides ("What was the score when ...?" asks what, not when); else its
    first wh-phrase. "Who is <name>?" and "What is <name>?" ask for a description of the name: "definition"."""
    question = LABEL.sub("", expanded(question))  # "Switching topics: what happened when ...?" asks what
    if _WHO_IS_NAMED.match(question) and not asked_role(question):  # "Who is the CEO of Expedia?" asks for a name
        return "definition"
    found = [(m.start(), n, kind) for n, (kind, pattern) in enumerate(_KINDS) for m in [pattern.search(question)] if m]
    opening = re.match(r"\s*(?:and\s+|so\s+|but\s+)?(what|which|who|whom|whose|when|where|why|how)\b", question, re.I)
    if opening and not any(start <= opening.start(1) + 1 for start, _, _ in found):
        return "what"
    kind = min(found)[2] if found else "what"
    if kind == "name":
        # "What's the name of the company that ...?" asks which company; "... of her new novel?" for a title.
        named = _NAME_OF.sub("what ", question, count=1)
        asked = answer_kind(named) if named != question else kind
        kind = asked if asked in ("who", "organisation", "where") else kind
    return kind


def asked_thing(question: str) -> str:
    """The noun a "which X" / "what X" question asks for ("hospital" in "Which hospital treated her?"), or ""."""
    match = _THING.search(question)
    word = match.group(1).lower() if match else ""
    return "" if word in _NOT_A_THING else word


def asked_parts(question: str) -> list[str]:
    """The questions within a question: two when a second one is joined with "and" ("Who led it, and where
    was it published?"), else the question alone."""
    parts = [p.strip(" ,;") for p in _SECOND_QUESTION.split(question) if p.strip(" ,;")]
    # "Which company ..., and what ..." in a long multi-hop question is one question with several clues.
    return parts if len(parts) == 2 and all(2 <= len(p.split()) <= 15 for p in parts) else [question]


_TITLES = {"CEO", "CFO", "CTO", "COO", "CMO", "CIO", "CPO", "CSO", "VP", "GM"}


def without_titles(name: str) -> str:
    """The name without a title beside it ("Rugby Australia's CEO" -> "Rugby Australia", "CEO of Expedia" ->
    "Expedia"): an article names the company and calls its CEO "chief executive"."""
    words = name.split()
    while words and words[0] in _TITLES:
        words = words[2:] if len(words) > 1 and words[1] == "of" else words[1:]
    while words and words[-1] in _TITLES:
        words = words[:-1]
    return re.sub(r"['’]s$", "", " ".join(words))


def named_phrases(question: str, outlets: list[str] = ()) -> list[str]:
    """The names, numbers and quoted titles a question is about ("Alaska", "2022", "David Sutter"), without
    known outlets, dates (the date search handles them) or words capitalised only for starting a sentence of the
    question ("OK. Who won?", "Is it good? What's it rated?")."""
    found: list[str] = []
    for sentence in split_sentences(expanded(question)):
        dated = {m.span() for m in _DATE.finditer(sentence)}
        for match in _CAPITALISED.finditer(sentence):
            if any(s <= match.start() < e for s, e in dated):
                continue
            words = [w for w in re.split(r"\s+", match.group(0).strip(" .,'’")) if w]
            if match.start() == 0 and words and _SENTENCE_START.match(words[0]):
                words = words[1:]  # capitalised only for starting the sentence: "Until when ...", "Going back to ..."
            while words and (_CONTRACTION_END.sub("", words[0].strip(".")) in _NOT_A_NAME or _NEGATED.search(words[0]) or _DAY_OR_MONTH.match(words[0])):
                words = words[1:]
            while words and (words[-1].lower() in {"of", "de", "the", "and", "&"} or _DAY_OR_MONTH.match(words[-1])):
                words = words[:-1]
            phrase = re.sub(r"['’]s$", "", " ".join(words)).strip(" .,")
            if phrase and not _is_outlet(phrase, outlets) and not (phrase.isdigit() and int(phrase) <= 31):
                found.append(phrase)
    found += [m.group(1).strip() for m in _QUOTED_NAME.finditer(question) if not _is_outlet(m.group(1), outlets)]
    return list(dict.fromkeys(found))


def _is_outlet(phrase: str, outlets: list[str]) -> bool:
    low = phrase.lower()
    return any(low == a.lower() or low in a.lower() for o in outlets for a in outlet_aliases(o) | {o})


# Where a question says its facts come from: "an article in The New York Times", "a report by Bloomberg",
# "reported by Reuters" ("according to" is left out: it names people as often). Such a source that is not an
# indexed outlet cannot be answered from.
_SOURCE_NAME = r"['‘\"“]?((?:The\s+)?[A-Z][\w.&’'-]*(?:\s+(?:[A-Z][\w.&’'-]*|of|and|&))*)"
_NAMED_SOURCE = re.compile(
    r"\b(?:articles?|reports?|piece|story|stories|coverage|analysis|column|editorial|interview|post)\s+(?:published\s+)?(?:from|in|by)\s+"
    + _SOURCE_NAME
    + r"|\b(?:reported\s+by|published\s+(?:in|by))\s+"
    + _SOURCE_NAME
)


def named_sources(question: str) -> list[str]:
    """Publications a question names as where its facts come from."""
    found = [(m.group(1) or m.group(2) or "").strip(" '‘’\"“”.,") for m in _NAMED_SOURCE.finditer(question)]
    # A possessive ("a report by Google's lawyers") or a month ("an article in October") names no publication.
    return list(dict.fromkeys(f for f in found if f and f[0].isupper() and not re.search(r"['’]s$", f) and not _DAY_OR_MONTH.match(f.split()[0])))


def unknown_sources(question: str, outlets: list[str]) -> list[str]:
    """The publications the question names as its sources that are not indexed outlets."""
    return [s for s in named_sources(question) if not find_outlets(s, outlets) and not _is_outlet(s, outlets)]


# -- questions that cannot be answered as asked --------------------------------------------------------
_URL_ONLY = re.compile(r"^\s*<?(?:https?://|www\.)\S+>?\s*$", re.I)
_LETTERS = re.compile(r"[^\W\d_]")
OTHER_LANGUAGE_WORDS = 2  # function words of another language, and more of them than of English, make a question foreign


# How people wrap a question: "Can you tell me why ...", "Do you know who ...", "I'd like to know how much ...",
# "Can you tell me is it suitable for kids?".
_WRAPPER = re.compile(
    r"^\s*(?:(?:hi|hey|hello|ok|okay|so|and|thanks)[,!.]?\s+)?"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:tell|show|remind)\s+me\s+|(?:please\s+)?tell\s+me\s+|"
    r"do\s+you\s+know\s+|i(?:['’]d|\s+would)\s+like\s+to\s+know\s+|i\s+(?:want|need)\s+to\s+know\s+|i\s+wonder\s+|"
    r"i['’]m\s+curious\s+(?:about\s+)?|any\s+idea\s+)"
    rf"(?=(?:who|whom|whose|what|when|where|why|how|which|{_AUXILIARY})\b)",
    re.I,
)
_ASKING = re.compile(rf"^\W*(?:(?:and|so|but|then)\s+)?(?:who|whom|whose|what|when|where|why|how|which|{_AUXILIARY})\b", re.I)


def as_asked(question: str) -> str:
    """The question a person means: without the wrapper around it ("Can you tell me why the EU opened an
    inquiry" -> "Why the EU opened an inquiry?") and ending in a question mark when it opens like a question
    and has no final punctuation: the encoder reads "?" too, so "How many views did it get" would be compared
    with the sentences differently from "How many views did it get?"."""
    asked = _WRAPPER.sub("", question, count=1).strip()
    if asked != question.strip():
        asked = asked[:1].upper() + asked[1:]
    if _ASKING.match(asked) and not re.search(r"[?.!]['’\"”)]*$", asked):
        asked += "?"
    return asked


def only_a_url(question: str) -> bool:
    """A web address pasted as a question."""
    return _URL_ONLY.match(question) is not None


def has_words(question: str) -> bool:
    """Whether the question holds a word at all ("???", "42!" do not)."""
    return _LETTERS.search(question) is not None


@lru_cache(maxsize=1)
def _function_words() -> dict[str, frozenset[str]]:
    import bm25s.stopwords as lists  # the stopword lists BM25 already ships, one per language

    english = set(lists.STOPWORDS_EN_PLUS)
    return {"English": frozenset(english)} | {
        name.removeprefix("STOPWORDS_").title(): frozenset(set(getattr(lists, name)) - english)
        for name in dir(lists)
        if name.startswith("STOPWORDS_") and not name.startswith("STOPWORDS_EN") and name not in ("STOPWORDS_CHINESE", "STOPWORDS_KOREAN")
    }


def other_language(question: str) -> str:
    """The language a question is written in when it is plainly not English ("¿Qué dijo Putin sobre los minerales?"
    -> "Spanish"), else "": by its function words, not its names."""
    words = re.findall(r"[^\W\d_]+", question.lower())
    counts = {name: sum(w in found for w in words) for name, found in _function_words().items()}
    english = counts.pop("English")
    name, most = max(counts.items(), key=lambda kv: kv[1], default=("", 0))
    return name if most >= OTHER_LANGUAGE_WORDS and most > english else ""
