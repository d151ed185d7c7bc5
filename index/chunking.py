"""Structure- and sentence-aware chunking: prose sections by subheading, then paragraphs, then sentences.

The body is read by index/structure.py first: tables, captions, tweets and page furniture are not
chunked, key points are not either (they repeat the prose), and each FAQ pair is a chunk of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.articles import Article
from index.structure import Section, structure_of

# Split at paragraph breaks, then line breaks, then sentence ends, then clauses, then words.
SEPARATORS = [r"\n\s*\n", r"\n", r"(?<=[.!?])\s+(?=\S)", r"(?<=[.!?][\"'”’)])\s+", r";\s+", r",\s+", r"\s+"]
# A "word" longer than this (a run of garbage, a data blob) is broken up so that every chunk fits.
_LONG_RUN = re.compile(r"(\S{200})(?=\S)")
MIN_BODY_TOKENS = 64


@dataclass
class Chunk:
    article_id: str
    index: int
    text: str
    header: str
    section: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"

    @property
    def indexed_text(self) -> str:
        """What the encoder and BM25 read: the passage behind its context header."""
        return f"{self.header}\n{self.text}"


def sections(body: str) -> list[tuple[str, str]]:
    """(subheading, prose) pairs in order; prose before the first subheading has an empty heading."""
    return [(section.heading, section.text) for section in structure_of(body).sections]


# A heading longer than this (an interview question) is shortened in the chunk header, so the passage keeps its room.
MAX_HEADER_HEADING_CHARS = 160


def header_for(article: Article, section: str = "") -> str:
    parts = [article.title]
    meta = ", ".join(p for p in (article.source, article.published_at.date().isoformat() if article.published_at else "") if p)
    if meta:
        parts.append(meta)
    if section:
        parts.append(section if len(section) <= MAX_HEADER_HEADING_CHARS else section[: MAX_HEADER_HEADING_CHARS - 1] + "…")
    return " | ".join(parts)


CHARS_PER_TOKEN = 4  # English news text runs about 4.3 characters per word piece; splitting by characters is fast


def _splitter(size: int, overlap: int, length_function: Callable[[str], int] = len) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator=True,  # the captured whitespace is kept, so merged pieces read as written
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=length_function,
        strip_whitespace=True,
    )


def grouped_sections(sections: list[Section], max_chars: int) -> list[tuple[str, str]]:
    """Sections, with neighbours merged while they fit in one chunk, so short sections don't make tiny chunks."""
    groups: list[tuple[str, str]] = []
    for heading, text in ((s.heading, _LONG_RUN.sub(r"\1 ", s.text)) for s in sections):
        if groups and len(groups[-1][1]) + len(heading) + len(text) + 4 <= max_chars:
            prev_heading, prev_text = groups[-1]
            inline = f"{heading}\n\n{text}" if heading else text
            groups[-1] = (prev_heading or heading, f"{prev_text}\n\n{inline}")
        else:
            groups.append((heading, text))
    return groups


def _fit(piece: str, room: int, overlap_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    """The piece, or its re-split at this text's own characters-per-token ratio when it is over budget."""
    tokens = count_tokens(piece)
    if tokens <= room:
        return [piece]
    size = max(20, int(len(piece) * room / tokens * 0.9))
    parts = _splitter(size, min(overlap_tokens * size // room, size // 4)).split_text(piece)
    if len(parts) == 1:  # nothing left to split at
        return parts
    return [p for part in parts for p in _fit(part, room, overlap_tokens, count_tokens)]


def chunk_article(
    article: Article,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = 220,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Chunks whose header plus passage fit in `chunk_tokens` word pieces, overlapping by whole sentences.

    Splitting runs on characters (fast); each chunk's real word-piece count is then checked once and
    the rare chunk over budget (digits, names, URLs) is split again by word pieces.
    """
    base_header = header_for(article)
    budget = max(MIN_BODY_TOKENS, chunk_tokens - count_tokens(base_header) - 12)
    by_chars = _splitter(budget * CHARS_PER_TOKEN, overlap_tokens * CHARS_PER_TOKEN)
    chunks: list[Chunk] = []

    def add(heading: str, text: str, metadata: dict | None = None) -> None:
        header = header_for(article, heading)
        room = max(MIN_BODY_TOKENS, chunk_tokens - count_tokens(header) - 2)
        for piece in by_chars.split_text(text):
            for part in _fit(piece, room, overlap_tokens, count_tokens):
                part = re.sub(r"[ \t]+", " ", part).strip()
                if part:
                    chunks.append(Chunk(article.id, len(chunks), part, header, heading, dict(metadata or {})))

    structure = article.structure
    for heading, text in grouped_sections(structure.sections, budget * CHARS_PER_TOKEN):
        add(heading, text)
    # One chunk per FAQ pair (more only for a long answer): the question heads it, so a reader's question
    # that matches it finds the article's own answer; the answerer reads the question from the metadata.
    for pair in structure.faq:
        add(pair.question, _LONG_RUN.sub(r"\1 ", pair.answer), {"faq_question": pair.question})
    return chunks
