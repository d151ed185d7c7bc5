"""Text helpers every layer uses: sentences and content words."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer

# A rough sentence end: . ! ? (optionally followed by a closing quote or bracket), then space and a
# capital/quote/digit, or a line break. Fast enough to run on every retrieved passage for ranking, but it
# splits "Dr. Smith" and "U.S. officials": what is shown to a person comes from `split_sentences`.
ROUGH_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])|\n+")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
STOP = set(
    "a an the of to in on for and or but is are was were be been being what which who whom whose when where why how "
    "did do does done has have had it its this that these those there their they them he she his her i you we our "
    "with by from as at about into than then so if not no yes can could would should will may might must also any "
    "all some more most such other own same very just over after before between during according report reported "
    "article say said says tell told".split()
)
# A piece that stops on a comma, colon or dash (inside its closing quote or not) has not ended: the attribution
# that completes it ("...foreign partners," / Putin stated, ...) often sits on the next line.
_UNFINISHED = re.compile(r"[,:;–—-][\"'”’]?$")


def rough_sentences(text: str) -> list[str]:
    """Sentence-like pieces by punctuation and line breaks (for scoring passages, not for quoting)."""
    return [s.strip() for s in ROUGH_SENTENCE_END.split(text) if s and s.strip()]


_local = threading.local()
_SPACES = re.compile(r"\s*")  # what pysbd's span pattern takes after a sentence


def _segmenter():
    """This thread's pysbd segmenter: a rule-based one with the abbreviation lists ("Dr.", "U.S.", "No. 5") a regex
    lacks. One per thread: a segmenter keeps the text it is working on in its own attributes, so the chat's
    concurrent answers must not share one."""
    if not hasattr(_local, "segmenter"):
        import pysbd
        from pysbd.lang.english import English
        from pysbd.utils import TextSpan

        class NewsEnglish(English):
            class Abbreviation(English.Abbreviation):
                # "Bros." is followed by the rest of a name ("Warner Bros. Discovery", "Super Mario Bros. Wonder":
                # 29 of 29 times in the MultiHop-RAG corpus), not by a new sentence, like "Dr." and "Mr.".
                PREPOSITIVE_ABBREVIATIONS = [*English.Abbreviation.PREPOSITIVE_ABBREVIATIONS, "bros"]

        class Segmenter(pysbd.Segmenter):
            def __init__(self, **options):
                super().__init__(**options)
                self.language_module = NewsEnglish

            def sentences_with_char_spans(self, sentences):
                """pysbd's own: each sentence (with the spaces after it) where it first ends past the one before,
                found with str.find. pysbd compiles a pattern of every sentence for it, which overflows Python's
                pattern cache: a third of the time it takes to split a passage."""
                spans, prior_end = [], 0
                for sent in sentences:
                    start = 0
                    while sent and (start := self.original_text.find(sent, start)) >= 0:
                        end = _SPACES.match(self.original_text, start + len(sent)).end()
                        if end > prior_end:
                            spans.append(TextSpan(self.original_text[start:end], start, end))
                            prior_end = end
                            break
                        start = end
                return spans

        _local.segmenter = Segmenter(language="en", clean=False)
    return _local.segmenter


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` as a reader sees them: line breaks end a sentence, abbreviations do not,
    and a line that stops on a comma continues on the next one."""
    return list(_split_sentences(text))


@lru_cache(maxsize=8192)
def _split_sentences(text: str) -> tuple[str, ...]:
    """split_sentences, remembered: the same passages come back question after question, and pysbd takes
    about a millisecond a sentence."""
    pieces: list[str] = []
    for line in text.splitlines():
        if line.strip():
            pieces += [s.strip() for s in _segmenter().segment(line) if s.strip()]
    return tuple(join_unfinished(pieces, _UNFINISHED))


def join_unfinished(pieces: list[str], unfinished: re.Pattern) -> list[str]:
    """The pieces, each one that `unfinished` matches at its end joined with the one after it."""
    joined: list[str] = []
    for piece in pieces:
        if joined and unfinished.search(joined[-1]):
            joined[-1] = f"{joined[-1]} {piece}"
        else:
            joined.append(piece)
    return joined


def fold(text: str) -> str:
    """`text` without accents, as people often type names ("Beyonce" for "Beyoncé", "Inigo" for "Iñigo")."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def content_words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(fold(text)) if w.lower() not in STOP and len(w) > 1}


_STEMMER = Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """One word's stem, as `stems` gives it."""
    return _STEMMER.stemWord(word.lower())


def stems(text: str) -> set[str]:
    """The content words of `text`, stemmed ("hospitals" and "hospital" meet)."""
    return set(_STEMMER.stemWords(sorted(content_words(text))))
