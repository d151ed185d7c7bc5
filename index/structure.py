"""An article body read as a reader sees it: prose under subheadings, key points, FAQ pairs, and what is dropped.

News bodies carry more than prose: tables (the seed's "No. | Key Points |" table), a numbered list of the
article's own subheadings, FAQ blocks, photo captions and credits, embedded tweets and page furniture
("Most read", "Sign up for our newsletter", "Advertisement"). Chunking, BM25 and the answerer should see
the prose only; key points and FAQ pairs are kept as structure; the rest is dropped.

HTML pages are cleaned by trafilatura first (index/loaders.py); what it keeps, and every plain-text or
JSON body, goes through the line rules below. Each rule is named (the kind of line it drops) and
anchored to the whole line or its start or end, so a sentence that merely mentions "Getty Images" or
"newsletter" stays prose.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, ValidationError

from index.text import join_unfinished

# A line ending like this is a sentence or a label, not a subheading.
_END_PUNCT = tuple(".!?:;,\"'”’)|")
_MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"

# -- what a reader skips: one pattern per kind, tried on every line -----------------------------------
# Captions and photo credits: a credit label with a short tail, or a line ending on a picture agency.
_CAPTION_START = re.compile(
    r"(?:\d+\s+)?(?:photo(?:graph)?s?|image|picture|illustration)\s*:"  # "Image: Netflix", "Photo: AP"
    r"|via getty\b"
    r"|\((?:ap|ap photo|afp|reuters)\b[^)]*\)$",
    re.IGNORECASE,
)
_CAPTION_END = re.compile(
    r"\b(?:credit|photo(?:graph)?|image|picture)s?\s*:\s*[^.!?]{1,80}$"  # "... Credit: Getty", "... Photograph: J Doe/AFP"
    r"|\b(?:via\s+)?getty(?:\s+images)?(?:\s+file)?\s*\)?$"  # "... / AFP via Getty Images"
    r"|\((?:getty(?:\s+images)?|reuters|ap|afp|pa|epa|shutterstock|alamy|rex(?:\s+features)?)\)$",  # "(Reuters)"
    re.IGNORECASE,
)
# The end-anchored rules only ever read this much of a line's end (it keeps a 100k-character line cheap).
_TAIL_CHARS = 200
# Embedded tweets: a picture or short link, or the "— Name (@handle) Month d, yyyy" line that closes an embed.
_TWEET_LINK = re.compile(r"\s*(?:https?://)?(?:pic\.twitter\.com|t\.co)/\w+")
_TWEET_CLOSE = re.compile(r"—\s*(?P<name>[^—]{0,80}?)\s*\(@\w{1,15}\)\s*" + _MONTH + r"\s+\d{1,2},\s+\d{4}\s*$")
_TWEET_TRAILER_ONLY = re.compile(r"^—\s*[^—]{0,80}\(@\w{1,15}\)\s*" + _MONTH + r"\s+\d{1,2},\s+\d{4}$")
# A tweet with this many words (not counting #tags, @handles and links) says something: its text is kept.
MIN_TWEET_WORDS = 8
MAX_TWEET_CHARS = 280
_WORD = re.compile(r"(?<![#@/\w])[^\W\d_][\w’'-]*")
# A long line ending on a credit is a paragraph with its photo credit glued on: only the credit goes.
MAX_CAPTION_CHARS = 300
_CREDIT_TAIL = re.compile(r"\s*\b(?:credit|photo(?:graph)?|image|picture)s?\s*:\s*[^.!?]{1,80}$", re.IGNORECASE)
# Page furniture: navigation, promotions and widgets around the story.
_FURNITURE = re.compile(
    r"^(?:advertisement|advertisement article continues below(?: this ad)?|article continues below(?: this ad)?"
    r"|most (?:read|popular|viewed|shared)|trending(?: now)?|share this(?: article| story)?|share (?:on|via) \w+"
    r"|like this: like loading\.\.\.|loading\.\.\.|skip past newsletter promotion|after newsletter promotion)$"
    r"|^(?:read more|related(?: pages| stories| articles| coverage| content)?|see also|more|watch|listen|also read"
    r"|recommended(?: reading)?|further reading)\s*:"  # "READ MORE: ...", "Related:", "MORE: ..."
    r"|click here\b"  # "CLICK HERE TO GET THE FOX NEWS APP" (and "APP USERS CLICK HERE", by its end)
    r"|^(?:sign up|subscribe)\b.{0,120}$",  # a short "Sign up for ..." box
    re.IGNORECASE,
)
# An embed's placeholder inside a line whose sentences were run together: "... prices. Loading The S&P 500 ...".
_INLINE_LOADING = re.compile(r"(?<=[.!?”\"’)])\s+Loading(?:\.\.\.)?(?=\s+[A-Z“\"‘])")
# A page's widgets run into the story's first line: "Save Log in, register or subscribe to save articles for later.
# ... Got it", "Normal text size Larger text size Very large text size".
_INLINE_WIDGETS = re.compile(
    r"(?:\bSave\s+)?\bLog\s+in\s*,\s*register\s+or\s+subscribe\s+to\s+save\s+articles\s+for\s+later\.\s*"
    r"(?:Save\s+articles\s+for\s+later\s+)?(?:Add\s+articles\s+to\s+your\s+saved\s+list\s+and\s+come\s+back\s+to\s+them\s+any\s+time\.\s*)?(?:Got\s+it\b\s*)?"
    r"|\bNormal\s+text\s+size\s+Larger\s+text\s+size\s+Very\s+large\s+text\s+size\b\s*",
    re.IGNORECASE,
)
# A newsletter prompt inside a longer line: a newsletter (or inbox) and the act of signing up.
_SIGN_UP = re.compile(r"\b(?:sign(?:ing)? (?:me )?up|subscribe|enter a valid email|privacy notice)\b", re.IGNORECASE)
# "Related The best October Prime Day deals": a teaser link, short and unpunctuated.
_TEASER = re.compile(r"^(?:related|more from|recommended|up next)\b[^.!?]{0,100}$", re.IGNORECASE)

# -- tables --------------------------------------------------------------------------------------------
_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_KEY_POINTS = re.compile(r"^(?:key (?:points|takeaways|facts)|takeaways|highlights|at a glance|in brief)\s*:?$", re.IGNORECASE)
_SUBHEADING_LIST = re.compile(r"\b(?:subheadings|contents|in this article)\b", re.IGNORECASE)

# -- FAQ -----------------------------------------------------------------------------------------------
_FAQ_HEADING = re.compile(r"^(?:frequently asked questions|faqs?|questions and answers|q\s*&\s*a)\s*:?$", re.IGNORECASE)
_QUESTION_LABEL = re.compile(r"^(?:question|q)\s*\d*\s*[:.)\-–]\s*(?P<q>.+)$", re.IGNORECASE)
_ANSWER_LABEL = re.compile(r"^(?:answer|a)\s*\d*\s*[:.)\-–]\s*(?P<a>.+)$", re.IGNORECASE)
MAX_QUESTION_CHARS = 200

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(?P<h>.+?)\s*#*$")
_BULLET = re.compile(r"^(?:[-*•●▪–]|\d{1,2}[.)])\s+(?P<item>.+)$")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+(?P<item>.+)$")


class FAQPair(BaseModel):
    """One question of an article's FAQ and the article's own answer to it."""

    question: str
    answer: str


@dataclass
class Section:
    heading: str  # "" for the lead, before the first subheading
    text: str  # paragraphs separated by blank lines


@dataclass
class ArticleStructure:
    sections: list[Section] = field(default_factory=list)
    key_points: list[str] = field(default_factory=list)
    faq: list[FAQPair] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (kind, line)


def dropped_kind(line: str) -> str | None:
    """The kind of furniture a line is ("caption", "furniture"), or None for a line to keep."""
    if _CAPTION_START.match(line) or _CAPTION_END.search(line[-_TAIL_CHARS:]):
        return "caption"
    lower = line.lower()
    if _FURNITURE.match(line) or _TEASER.match(line) or lower.endswith("click here"):
        return "furniture"
    if ("newsletter" in lower or "inbox" in lower) and _SIGN_UP.search(line):
        return "furniture"
    return None


def is_pipe_row(line: str) -> bool:
    """A table row as text: cells between pipes, or a markdown separator ("---|---")."""
    return line.startswith("|") or line.endswith("|") or bool(_TABLE_SEPARATOR.match(line))


def heading_text(line: str) -> str:
    m = _MARKDOWN_HEADING.match(line)
    return m.group("h").strip() if m else line.strip()


def is_subheading(line: str, next_line: str | None) -> bool:
    """A markdown heading, or a short title-like line (no end punctuation) followed by a longer one."""
    stripped = line.strip()
    if _MARKDOWN_HEADING.match(stripped):
        return True
    if not stripped or len(stripped) > 90 or stripped.endswith(_END_PUNCT):
        return False
    if not (stripped[0].isupper() or stripped[0].isdigit()):
        return False
    return next_line is not None and len(next_line.strip()) > len(stripped)


def read_structure(body: str) -> ArticleStructure:
    """Prose sections, key points, FAQ pairs and dropped lines of an article body (plain text or markdown)."""
    out = ArticleStructure()
    lines = _without_tables(_without_furniture([line.strip() for line in body.splitlines() if line.strip()], out), out)
    _read_blocks(lines, out)
    return out


@lru_cache(maxsize=64)
def structure_of(body: str) -> ArticleStructure:
    """read_structure, remembered for recent bodies: validation, chunking, questions and the record all ask
    while an article is indexed. The result is shared: read it, don't change it."""
    return read_structure(body)


def tweet_text(line: str) -> str | None:
    """An embedded tweet's words as a sentence ("Name posted: ..."), "" for an embed with nothing to say, None for no tweet."""
    if "(@" not in line and "pic.twitter.com/" not in line and "t.co/" not in line:
        return None
    tail_start = max(0, len(line) - _TAIL_CHARS)
    close = _TWEET_CLOSE.search(line, tail_start)
    if not close and not _TWEET_LINK.search(line):
        return None
    text = _TWEET_LINK.sub("", line[: close.start()] if close else line).strip()
    if len(_WORD.findall(text)) < MIN_TWEET_WORDS:
        return ""
    name = close.group("name").strip() if close else ""
    # Longer than a tweet can be: a live-blog entry that ends on an embed; its words are not the poster's.
    return f"{name} posted: {text}" if name and len(text) <= MAX_TWEET_CHARS else text


def _without_furniture(lines: list[str], out: ArticleStructure) -> list[str]:
    kept: list[str] = []
    for line in _joined_tweets(lines):
        tweet = tweet_text(line)
        if tweet == "":
            out.dropped.append(("tweet", line))
            continue
        if tweet:  # a tweet that says something is quoted, without its links and handle
            kept.append(tweet)
            continue
        bare = _INLINE_WIDGETS.sub("", _INLINE_LOADING.sub("", line)).strip()
        if not bare:  # a line of widgets only
            out.dropped.append(("furniture", line))
            continue
        line = bare
        kind = dropped_kind(line)
        if kind == "caption" and len(line) > MAX_CAPTION_CHARS:
            kept.append(_CREDIT_TAIL.sub("", line))
        elif kind is None:
            kept.append(line)
        else:
            out.dropped.append((kind, line))
    return kept


def _joined_tweets(lines: list[str]) -> list[str]:
    """An embed whose text sits on its own line, closed by "— Name (@handle) date" on the next, as one line."""
    joined: list[str] = []
    for line in lines:
        if line.startswith("—") and _TWEET_TRAILER_ONLY.match(line) and joined and not joined[-1].endswith(":"):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return joined


def _without_tables(lines: list[str], out: ArticleStructure) -> list[str]:
    """Lines outside tables; a key-points table gives key points, a subheading list is dropped as such."""
    kept: list[str] = []
    # Short lines only: a subheading is short, and normalising every long paragraph would cost more than the rest.
    later = {_norm(heading_text(line)) for line in lines if len(line) <= 100} if any(map(_NUMBERED.match, lines)) else set()
    i = 0
    while i < len(lines):
        if is_pipe_row(lines[i]):
            j = i
            while j < len(lines) and is_pipe_row(lines[j]):
                j += 1
            # The table's own heading ("### Match stats") or lead-in ("Results:") goes with it.
            if kept and (_MARKDOWN_HEADING.match(kept[-1]) or (kept[-1].endswith(":") and len(kept[-1]) <= 90)):
                out.dropped.append(("table", kept.pop()))
            _read_table(lines[i:j], out)
            i = j
            continue
        # A numbered list of the article's own subheadings: a table of contents, not prose.
        j = i
        while j < len(lines) and (m := _NUMBERED.match(lines[j])) and len(m.group("item")) <= 90 and _norm(m.group("item")) in later - {_norm(lines[j])}:
            j += 1
        if j - i >= 2:
            out.dropped.extend(("subheading list", line) for line in lines[i:j])
            i = j
            continue
        kept.append(lines[i])
        i += 1
    return kept


def _read_table(rows: list[str], out: ArticleStructure) -> None:
    header = rows[0]
    body = [r for r in rows[1:] if not _TABLE_SEPARATOR.match(r)]
    cells = [c.strip() for c in header.strip("|").split("|")]
    if any(_KEY_POINTS.match(c) for c in cells) and body:
        for row in body:
            text = max((c.strip() for c in row.strip("|").split("|")), key=len)
            out.key_points.append(text)
        return
    kind = "subheading list" if _SUBHEADING_LIST.search(header) else "table"
    out.dropped.extend((kind, row) for row in rows)


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text).strip().casefold()


def _read_blocks(lines: list[str], out: ArticleStructure) -> None:
    """Walk the remaining lines: subheadings open sections, FAQ questions open pairs, key-point lists fill key points."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    pair: tuple[str, list[str]] | None = None
    in_faq = in_key_points = False

    def close_pair() -> None:
        nonlocal pair
        if pair is not None:
            question, answer = pair
            if answer:
                out.faq.append(FAQPair(question=question, answer="\n\n".join(answer)))
            else:  # a question nobody answers is prose (an interview's last word, a rhetorical heading)
                sections[-1][1].append(question)
        pair = None

    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        question = _question(line, nxt, in_faq)
        if question:
            close_pair()
            pair = (question, [])
            in_key_points = False
            continue
        if pair is not None and (m := _ANSWER_LABEL.match(line)) and not pair[1]:
            pair[1].append(m.group("a").strip())
            continue
        heading = heading_text(line)
        key_points_box = bool(_KEY_POINTS.match(heading) and nxt and _BULLET.match(nxt))
        if _FAQ_HEADING.match(heading) or key_points_box:
            close_pair()
            in_faq, in_key_points = not key_points_box, key_points_box
            continue
        if is_subheading(line, nxt):
            close_pair()
            in_faq = in_key_points = False
            sections.append((heading, []))
            continue
        if in_key_points and (m := _BULLET.match(line)):
            out.key_points.append(m.group("item").strip())
            continue
        in_key_points = False
        if pair is not None:
            pair[1].append(line)
        else:
            sections[-1][1].append(line)
    close_pair()
    out.sections = [Section(heading, "\n\n".join(join_unfinished(paras, _CUT_MID_SENTENCE))) for heading, paras in sections if paras]


# A line ending on a comma (inside or outside a closing quote) was cut mid-sentence by the page layout:
# "“... we are ready to attract foreign partners,”" then "Putin stated, referring to ...".
_CUT_MID_SENTENCE = re.compile(r",[\"”’']?$")


def _question(line: str, next_line: str | None, in_faq: bool) -> str | None:
    """The question a line asks as an FAQ entry, or None."""
    if m := _QUESTION_LABEL.match(line):
        text = m.group("q").strip()
        # "Q:" alone is too common in live blogs ("Q: Messi or Ronaldo?"); it needs its "A:" line.
        labelled = line[:8].lower().startswith("question") or bool(next_line and _ANSWER_LABEL.match(next_line))
        if labelled and text.endswith("?") and len(text) <= MAX_QUESTION_CHARS * 2:
            return text
    if m := _MARKDOWN_HEADING.match(line):
        text = m.group("h").strip()
        return text if text.endswith("?") else None
    if in_faq and line.endswith("?") and len(line) <= MAX_QUESTION_CHARS and not line.startswith(("\"", "“", "'", "‘")):
        return line
    return None


def stored_list(record: dict, key: str) -> list:
    """A JSON-encoded list saved in an article record (empty for records indexed before it existed)."""
    try:
        value = json.loads(record.get(key) or "[]")
    except (json.JSONDecodeError, TypeError):
        return []
    return value if isinstance(value, list) else []


def stored_key_points(record: dict) -> list[str]:
    return [point for point in stored_list(record, "key_points") if isinstance(point, str)]


def stored_faq(record: dict) -> list[FAQPair]:
    pairs = []
    for item in stored_list(record, "faq"):
        try:
            pairs.append(FAQPair.model_validate(item))
        except ValidationError:
            continue
    return pairs
