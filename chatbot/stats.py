"""Summary statistics that the benchmark and evaluation commands print."""

from __future__ import annotations

import math

import numpy as np


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1): the smallest value with at least that share of the
    values at or below it; nan when there are no values."""
    if not len(values):
        return math.nan
    return float(np.percentile(values, share * 100, method="inverted_cdf"))
