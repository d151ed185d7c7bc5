"""Summary statistics that the benchmark and evaluation commands print."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1): the smallest value with at least that share of the
    values at or below it; nan when there are no values."""
    if not len(values):
        return math.nan
    return float(np.percentile(values, share * 100, method="inverted_cdf"))


def memory_mb(field: str) -> float | None:
    """A memory figure of this process from Linux's /proc/self/status ("VmRSS", "VmHWM"), in MB; None where
    there is no such file or field."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith(f"{field}:")), None)
