"""Text helpers every layer uses: sentence splitting and content words."""

from __future__ import annotations

import re

# Sentence ends: . ! ? (optionally followed by a closing quote or bracket), then space and a capital/quote/digit.
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|\n+")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
STOP = set(
    "a an the of to in on for and or but is are was were be been being what which who whom whose when where why how "
    "did do does done has have had it its this that these those there their they them he she his her i you we our "
    "with by from as at about into than then so if not no yes can could would should will may might must also any "
    "all some more most such other own same very just over after before between during according report reported "
    "article say said says tell told".split()
)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s and s.strip()]


def content_words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text) if w.lower() not in STOP and len(w) > 1}
