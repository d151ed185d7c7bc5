"""The serving lock: while a chat app serves an embedded store, it is that store's only writer.

Embedded Chroma is single-process: a second process writing the same folder is not seen by the
server's in-memory index, and they can corrupt each other. So the served app is the store's only
writer (its library and feed sync add articles); other writers check this lock and stop. A Chroma
server store (Settings.chroma_host) takes writers from any process: no lock.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

SERVING_LOCK = "serving.lock"


class StoreServed(Exception):
    """The embedded store is held by a running chat app; `folder` names the store.

    The message says only what is so; the caller adds what its user can do instead."""

    def __init__(self, folder: Path):
        super().__init__(f"the store {folder} is served by a running chat app")
        self.folder = folder


class ServingLock:
    """Held by the serving process for as long as it serves an embedded store."""

    def __init__(self, settings):
        self.folder = None if settings.chroma_host else Path(settings.store)
        self._lock = FileLock(str(self.folder / SERVING_LOCK)) if self.folder else None

    def acquire(self) -> "ServingLock":
        """Take the lock; StoreServed when another process serves the store already."""
        if self._lock is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise StoreServed(self.folder) from None
        return self

    def release(self) -> None:
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    def check_free(self) -> None:
        """Raise StoreServed when a running app serves the store (for a writer about to write it)."""
        if self._lock is None or not (self.folder / SERVING_LOCK).exists():
            return
        probe = FileLock(str(self.folder / SERVING_LOCK))
        try:
            probe.acquire(timeout=0)
        except Timeout:
            raise StoreServed(self.folder) from None
        probe.release()
