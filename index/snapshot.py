"""The retriever's in-memory index (BM25 and the chunk vectors) saved beside the store, so a restart reads
it back instead of re-reading every chunk from Chroma and re-tokenizing it for BM25.

It is plain data, never a pickle: a file in the data folder must not be able to run code when the app
starts. A snapshot is a folder of JSON and numpy arrays (read with allow_pickle=False), named by the key it
was saved under (the store's version, generation and time of the last write, and the BM25 parameters):
after any write the key changes, the old folder no longer matches and the index is rebuilt. A folder is
written under a temporary name and renamed when complete, and never changed after, so a reader sees a
whole snapshot or none. It is a cache this product writes and reads itself; deleting it loses nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from index.lexical import LexicalIndex

log = logging.getLogger(__name__)

FORMAT = 4  # bump when what is saved changes shape (3 was the pickle)
_KEY_FILE = "key.json"
_VECTORS = "vectors.npy"


def load_snapshot(path: Path, version: str) -> tuple[LexicalIndex, np.ndarray] | None:
    """The (lexical index, chunk vectors) `save_snapshot` stored under this key, or None when there is
    none; a damaged one is reported in one line and None returned, so the caller rebuilds it."""
    folder = _folder(path, version)
    if not folder.is_dir():
        if Path(path).is_dir() and any(Path(path).iterdir()):
            log.info("the retriever snapshot is of an earlier version of the store: rebuilding it")
        return None
    try:
        saved = json.loads((folder / _KEY_FILE).read_text("utf-8"))
        if saved != {"format": FORMAT, "key": version}:
            return None
        lexical = LexicalIndex.load(folder)
        vectors = np.load(folder / _VECTORS, allow_pickle=False)
        if len(vectors) != len(lexical):
            raise ValueError(f"{len(vectors)} vectors for {len(lexical)} chunks")
    except Exception as exc:  # a truncated or foreign folder: rebuild rather than fail
        log.warning("rebuilding the retriever snapshot: %s is unreadable (%s: %s)", folder, type(exc).__name__, exc)
        return None
    return lexical, vectors


def save_snapshot(path: Path, version: str, payload: tuple[LexicalIndex, np.ndarray]) -> None:
    """Write the (lexical index, chunk vectors) under this key, and remove the snapshots of other keys."""
    lexical, vectors = payload
    folder = _folder(path, version)
    tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        lexical.save(tmp)
        np.save(tmp / _VECTORS, np.asarray(vectors), allow_pickle=False)
        (tmp / _KEY_FILE).write_text(json.dumps({"format": FORMAT, "key": version}), "utf-8")
        shutil.rmtree(folder, ignore_errors=True)  # a damaged one of the same key
        tmp.rename(folder)
    except OSError as exc:  # a read-only store still serves, it just starts slower next time
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("could not save the retriever snapshot %s (%s)", folder, exc)
        return
    for old in Path(path).iterdir():
        if old != folder and not old.name.endswith(".tmp"):  # another process may be writing a .tmp
            shutil.rmtree(old, ignore_errors=True)
    Path(path).with_name(f"{Path(path).name}.pkl").unlink(missing_ok=True)  # the pickle earlier versions left


def _folder(path: Path, version: str) -> Path:
    """The snapshot folder of one key, inside `path`."""
    return Path(path) / hashlib.sha256(version.encode()).hexdigest()[:16]
