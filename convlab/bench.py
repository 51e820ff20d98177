"""Timing helpers: interleaved medians, so that compared functions see the same load.

Machines are shared and noisy: never compare timings taken at different
moments. ``interleaved`` calls each function once per round, round after
round, and reports each one's median; ratios between them are what to read.
Used by ``benchmarks/`` and by chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
"""

from __future__ import annotations

import statistics
import time

__all__ = ["interleaved"]


def interleaved(fns: dict, rounds: int = 15, warmup: int = 2) -> dict:
    """Median seconds per call of each function in ``fns`` (name -> callable), timed
    round-robin: ``warmup`` untimed rounds, then ``rounds`` timed ones.
    """
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r} is invalid: at least one timed round is needed")
    times = {name: [] for name in fns}
    for r in range(warmup + rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(ts) for name, ts in times.items()}
