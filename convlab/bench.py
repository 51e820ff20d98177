"""Timing helpers: interleaved rounds, so that compared functions see the same load.

Machines are shared and noisy: never compare timings taken at different
moments. ``interleaved`` gives each function a turn per round, round after
round. In a turn, an untimed call comes first (``steady=True``): the timed
call then runs in the memory state its own previous call left, as in a
training loop, instead of paying for the pages a different function just
freed. Ratios between the results are what to read; the minimum is the
statistic to use for a claim that must survive a busy machine (contention
only ever adds time).

Used by ``benchmarks/`` and by chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
"""

from __future__ import annotations

import statistics
import time

__all__ = ["interleaved"]


def interleaved(
    fns: dict, rounds: int = 15, warmup: int = 2, *, steady: bool = True, stat: str = "median"
) -> dict:
    """Seconds per call of each function in ``fns`` (name -> callable), timed round-robin.

    ``warmup`` untimed rounds, then ``rounds`` timed ones; ``stat`` is
    ``"median"`` or ``"min"`` over the timed calls.
    """
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r} is invalid: at least one timed round is needed")
    reduce = {"median": statistics.median, "min": min}.get(stat)
    if reduce is None:
        raise ValueError(f"stat={stat!r} is not a statistic: use 'median' or 'min'")
    times = {name: [] for name in fns}
    for r in range(warmup + rounds):
        for name, fn in fns.items():
            if steady:
                fn()
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            if r >= warmup:
                times[name].append(elapsed)
    return {name: reduce(ts) for name, ts in times.items()}
