"""Checking an answer's [n] citations against the passages they point to: pure functions on text.

A sentence's support by a passage is a cheap score in [0, 1]: the share of the sentence's content
words (stemmed) found in the passage, averaged with the best cosine similarity between the sentence
and one of the passage's sentences when an encoder is given. A number in the sentence that the
passage does not contain halves the score: a wrong figure is the commonest unsupported claim.

Each sentence keeps the cited passages that support it. A sentence left with no supporting citation
(it cited none, a wrong one or one that does not exist) is cited to the best-supporting passage when
that one clearly supports it, else it is marked unverified and keeps no marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from chatbot.answering import ABSTAIN_TEXT, MARKER, tag_sentence
from index.text import content_words, split_sentences, stems

SUPPORTED = 0.5  # a cited passage scoring this much supports the sentence
CLEARLY_SUPPORTED = 0.6  # a passage must score this much to replace or add a citation
UNVERIFIED = "(unverified)"

_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
# "[1, 3]" or "[1; 3]" -> "[1][3]"; markers written after the full stop move before it.
_MARKER_LIST = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})+)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class CheckedAnswer:
    text: str
    corrected: list[tuple[str, int, int]] = field(default_factory=list)  # (sentence, cited, now cited)
    removed: list[tuple[str, int]] = field(default_factory=list)  # (sentence, cited position dropped)
    unverified: list[str] = field(default_factory=list)  # sentences no passage clearly supports


def normalize_markers(text: str) -> str:
    """One marker per bracket, placed before the sentence's closing punctuation."""
    text = _MARKER_LIST.sub(lambda m: "".join(f"[{n}]" for n in re.split(r"\s*[,;]\s*", m.group(1))), text)
    return _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def overlap_scores(sentences: Sequence[str], passages: Sequence[str]) -> np.ndarray:
    """[i, j]: share of sentence i's content stems present in passage j, halved if a number of i is not in j."""
    passage_stems = [stems(p) for p in passages]
    passage_numbers = [numbers(p) for p in passages]
    scores = np.zeros((len(sentences), len(passages)))
    for i, sentence in enumerate(sentences):
        words, figures = stems(sentence), numbers(sentence)
        for j, (p_words, p_figures) in enumerate(zip(passage_stems, passage_numbers)):
            share = len(words & p_words) / len(words) if words else 0.0
            scores[i, j] = share * (0.5 if figures - p_figures else 1.0)
    return scores


def similarity_scores(sentences: Sequence[str], passages: Sequence[str], encode: Encode) -> np.ndarray:
    """[i, j]: best cosine similarity between sentence i and a sentence of passage j (unit vectors from `encode`)."""
    pieces = [split_sentences(p) or [p] for p in passages]
    flat = [s for piece in pieces for s in piece]
    vectors = encode(list(sentences) + flat)
    sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    bounds = np.cumsum([0] + [len(piece) for piece in pieces])
    return np.stack([sims[:, a:b].max(axis=1) for a, b in zip(bounds[:-1], bounds[1:])], axis=1).clip(0, 1)


def support_scores(sentences: Sequence[str], passages: Sequence[str], encode: Encode | None = None) -> np.ndarray:
    """How well each passage supports each sentence, in [0, 1] (rows: sentences, columns: passages)."""
    if not sentences or not passages:
        return np.zeros((len(sentences), len(passages)))
    scores = overlap_scores(sentences, passages)
    if encode is not None:
        scores = (scores + similarity_scores(sentences, passages, encode)) / 2
    return scores


def _plain(sentence: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", MARKER.sub("", sentence))).strip()


def check_citations(text: str, passages: Sequence[str], encode: Encode | None = None) -> CheckedAnswer:
    """The answer with only citations its passages support (1-based positions kept), and what changed."""
    text = normalize_markers(text.strip())
    if not text or text == ABSTAIN_TEXT:
        return CheckedAnswer(text)
    sentences = split_sentences(text)
    plain = [_plain(s) for s in sentences]
    scores = support_scores(plain, passages, encode)
    result = CheckedAnswer("")
    out = []
    for i, (sentence, bare) in enumerate(zip(sentences, plain)):
        cited = list(dict.fromkeys(int(n) for n in MARKER.findall(sentence)))
        if not content_words(bare) or ABSTAIN_TEXT.rstrip(".") in bare:
            out.append(bare)  # nothing to support: "Yes." or the abstention itself
            continue
        kept = [n for n in cited if 1 <= n <= len(passages) and scores[i, n - 1] >= SUPPORTED]
        result.removed += [(bare, n) for n in cited if n not in kept]
        if not kept and len(passages):
            best = int(np.argmax(scores[i])) + 1
            if scores[i, best - 1] >= CLEARLY_SUPPORTED:
                kept = [best]
                result.corrected += [(bare, n, best) for n in cited] or [(bare, 0, best)]
                result.removed = [r for r in result.removed if r[0] != bare]
        if kept:
            out.append(tag_sentence(bare, "".join(f"[{n}]" for n in kept)))
        else:
            result.unverified.append(bare)
            out.append(tag_sentence(bare, UNVERIFIED))
    result.text = " ".join(out)
    return result


class MarkerRenumberer:
    """Renumbers [n] markers 1, 2, ... in order of first use while text streams in, as `finalize` does
    for the whole answer, so streamed markers match the final sources list when no citation changes."""

    _PARTIAL = re.compile(r"\[\d{0,3}$")

    def __init__(self) -> None:
        self.order: dict[int, int] = {}
        self._pending = ""

    def _renumber(self, match: re.Match) -> str:
        return f"[{self.order.setdefault(int(match.group(1)), len(self.order) + 1)}]"

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        partial = self._PARTIAL.search(text)
        self._pending, text = (text[partial.start() :], text[: partial.start()]) if partial else ("", text)
        return MARKER.sub(self._renumber, text)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return text
