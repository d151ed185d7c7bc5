"""The retriever's in-memory index (BM25 and the chunk vectors) saved beside the store, so a restart loads
one file instead of re-reading every chunk from Chroma and re-tokenizing it for BM25.

The file is named by the store's version (generation and time of the last write): after any write it is
stale, ignored and rebuilt. It is a cache this product writes and reads itself; deleting it loses nothing.
"""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = 3  # bump when what is pickled changes shape


def load_snapshot(path: Path, version: str) -> Any | None:
    """What `save_snapshot` stored for this store version, or None (missing, stale or unreadable)."""
    try:
        with open(path, "rb") as f:
            saved_format, saved_version, payload = pickle.load(f)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a truncated or foreign file: rebuild rather than fail
        log.warning("ignoring the retriever snapshot %s (%s)", path, exc)
        return None
    if saved_format != FORMAT or saved_version != version:
        return None
    return payload


def save_snapshot(path: Path, version: str, payload: Any) -> None:
    """Write atomically (temporary file, then rename): a reader never sees half a snapshot."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((FORMAT, version, payload), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as exc:  # a read-only store still serves, it just starts slower next time
        log.warning("could not save the retriever snapshot %s (%s)", path, exc)
