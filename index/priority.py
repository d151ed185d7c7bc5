"""Questions before background indexing: a feed sync waits, a bounded while, for the questions being answered.

The chain marks each question it answers (`answering()`); the background feed sync calls `yield_to_questions()`
before each article it fetches, extracts and chunks, so on a busy 2-core machine the people waiting for an
answer get the CPU (and the interpreter lock) first, and the sync catches up between questions. The wait is
bounded: a sync under constant questioning still advances, at least one article per `max_wait` seconds.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

MAX_WAIT_SECONDS = 1.0

_in_flight = 0
_idle = threading.Condition()


@contextmanager
def answering() -> Iterator[None]:
    """Mark a question as being answered while the block runs."""
    global _in_flight
    with _idle:
        _in_flight += 1
    try:
        yield
    finally:
        with _idle:
            _in_flight -= 1
            if not _in_flight:
                _idle.notify_all()


def busy() -> bool:
    return _in_flight > 0


def yield_to_questions(max_wait: float = MAX_WAIT_SECONDS) -> float:
    """Wait until no question is being answered, at most `max_wait` seconds; the seconds waited."""
    began = time.perf_counter()
    with _idle:
        _idle.wait_for(lambda: not _in_flight, timeout=max_wait)
    return time.perf_counter() - began
