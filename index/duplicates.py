"""Near-duplicate detection: MinHash signatures of word 5-shingles of an article's body.

A wire story (AP, Reuters...) reprinted by several outlets, or a re-publication, has nearly the same
body text under different titles and mastheads; its estimated Jaccard similarity to the first copy is
close to 1, while two independent reports of the same event share few 5-word runs (well under 0.3).
The first copy indexed stays the one source; later copies are recorded as more outlets of that story.
"""

from __future__ import annotations

import base64
import hashlib
import re

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
_WORD = re.compile(r"\w+", re.UNICODE)
_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
# The permutations (a*x + b) mod p of the classic MinHash. Signatures are stored, so the seed is fixed forever.
_rng = np.random.RandomState(1)
_A = _rng.randint(1, int(_PRIME), NUM_PERM, dtype=np.uint64)
_B = _rng.randint(0, int(_PRIME), NUM_PERM, dtype=np.uint64)


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """Overlapping runs of `size` lower-cased words; a text shorter than that is one shingle."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words).encode("utf-8")} if words else set()
    return {" ".join(words[i : i + size]).encode("utf-8") for i in range(len(words) - size + 1)}


def signature(text: str) -> np.ndarray:
    """The MinHash signature of a text's shingles (NUM_PERM unsigned 32-bit values)."""
    grams = shingles(text)
    if not grams:
        return np.full(NUM_PERM, _MAX_HASH, dtype=np.uint32)
    hashes = np.array([int.from_bytes(hashlib.sha1(g).digest()[:4], "little") for g in grams], dtype=np.uint64)
    with np.errstate(over="ignore"):  # the products wrap around 2**64, as in every MinHash implementation
        permuted = ((hashes[:, None] * _A + _B) % _PRIME) & _MAX_HASH
    return permuted.min(axis=0).astype(np.uint32)


def encode_signature(sig: np.ndarray) -> str:
    return base64.b64encode(np.asarray(sig, dtype="<u4").tobytes()).decode("ascii")


def decode_signature(text: str) -> np.ndarray | None:
    """The signature stored by encode_signature, or None when the text is not one."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) != 4 * NUM_PERM:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


def similarity(sig: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of one signature to each row of `others`."""
    if len(others) == 0:
        return np.zeros(0)
    return (others == sig).mean(axis=1)


class DuplicateIndex:
    """Signatures of the indexed articles; says which one (if any) a new text is a copy of."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.ids: list[str] = []
        self._rows: list[np.ndarray] = []
        self._matrix: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, article_id: str, sig: np.ndarray) -> None:
        self.ids.append(article_id)
        self._rows.append(sig)
        self._matrix = None

    def find(self, sig: np.ndarray, exclude: str = "") -> tuple[str, float] | None:
        """(article id, similarity) of the most similar indexed article at or above the threshold."""
        if not self.ids:
            return None
        if self._matrix is None:
            self._matrix = np.vstack(self._rows)
        scores = similarity(sig, self._matrix)
        for n in np.argsort(-scores):
            if scores[n] < self.threshold:
                return None
            if self.ids[n] != exclude:
                return self.ids[n], float(scores[n])
        return None


class CopyFinder:
    """During one indexing run: which new articles copy an indexed story, and the signatures to store.

    Built from the stored records (their "minhash" field); an article kept as a source of its own joins
    the index, so a later copy in the same run is found too.
    """

    def __init__(self, records: dict[str, dict], threshold: float):
        self.index = DuplicateIndex(threshold)
        self._signatures: dict[str, np.ndarray] = {}
        for article_id, meta in records.items():
            sig = decode_signature(meta.get("minhash", ""))
            if sig is not None:
                self.index.add(article_id, sig)

    def original_of(self, article_id: str, body: str, known: bool) -> str | None:
        """The id of the indexed story this article copies, or None when it is a source of its own.

        An article already indexed (`known`) is re-indexed under its own id, never merged.
        """
        sig = signature(body)
        original = None if known else self.index.find(sig, exclude=article_id)
        if original:
            return original[0]
        self.index.add(article_id, sig)
        self._signatures[article_id] = sig
        return None

    def stored_signature(self, article_id: str) -> str:
        """The signature to save in the record of an article kept as a source."""
        return encode_signature(self._signatures[article_id])


def more_outlets(record: dict, copies: list[tuple[str, str]]) -> dict[str, str] | None:
    """The record's other outlets (name -> url) once these copies' (outlet, url) are added; None when unchanged.

    A copy from the story's own outlet, or from an outlet already noted, adds nothing.
    """
    noted = record.get("also_published_by") or []
    outlets = dict(zip(noted, record.get("also_published_urls") or []))
    for source, url in copies:
        if source and source != record.get("source"):
            outlets.setdefault(source, url)
    if not outlets or list(outlets) == list(noted):
        return None
    return outlets
