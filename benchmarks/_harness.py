"""Timing for the benchmarks: warm-up, interleaved repeats, medians, ratios between peers.

Rules every benchmark here follows:

* The contenders are timed **in the same run, interleaved** (A, B, A, B, ...), so a burst of load
  from another process on the (shared) machine hits both rather than one of them.
* Each contender is called ``warmup`` times before timing starts (caches, lazy imports, BLAS
  thread pools).
* The statistic is the **median** of the repeats, which ignores the odd slow repeat.
* Garbage collection is switched off *during* each timed call, as :mod:`timeit` does, and the
  youngest generation is collected *before* it. Without this, a cyclic collection triggered by
  one contender's garbage (micrograd's nodes form reference cycles with their closures) could
  land inside the other contender's timing. Everything a timed call allocates stays in the
  youngest generation while collection is off, so collecting that generation frees all of the
  previous call's cyclic garbage, without the ~80 ms walk over the objects torch keeps alive
  that a full collection costs.
* A *round* is ``repeats`` interleaved calls; its ratio is ``median(slow) / median(fast)``.
  Several rounds give several ratios, and the reported figure is their median.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

K = TypeVar("K")


def time_call(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call ``fn()``; the young generation is collected before, collection
    is paused during."""
    gc.collect(0)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        if was_enabled:
            gc.enable()


def interleaved(
    fns: Mapping[str, Callable[[], Any]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time every function ``repeats`` times, taking turns, after ``warmup`` untimed calls each.

    Returns the list of times (seconds) per name.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be non-negative, got {warmup}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(time_call(fn))
    return times


@dataclass
class Rounds:
    """Medians per round for two contenders and the ratio ``slow / fast`` of each round.

    ``slow`` and ``fast`` are only names for the numerator and denominator: a ratio below 1 means
    the "fast" contender was in fact slower.
    """

    slow: str
    fast: str
    slow_ms: list[float] = field(default_factory=list)
    fast_ms: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        """``median(slow) / median(fast)`` for each round."""
        return [s / f for s, f in zip(self.slow_ms, self.fast_ms, strict=True)]

    @property
    def median_ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)


def ratio_rounds(
    slow: tuple[str, Callable[[], Any]],
    fast: tuple[str, Callable[[], Any]],
    rounds: int,
    repeats: int,
    warmup: int = 1,
) -> Rounds:
    """Run ``rounds`` rounds of :func:`interleaved` timing of two named functions.

    Warm-up is done once, before the first round.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    result = Rounds(slow=slow[0], fast=fast[0])
    fns = dict([slow, fast])
    for r in range(rounds):
        times = interleaved(fns, repeats, warmup if r == 0 else 0)
        result.slow_ms.append(1e3 * statistics.median(times[slow[0]]))
        result.fast_ms.append(1e3 * statistics.median(times[fast[0]]))
    return result


def prepared_rounds(
    prepares: Mapping[K, Callable[[], Callable[[], Any]]],
    rounds: int,
    calls_per_round: Mapping[K, int] | None = None,
) -> dict[K, list[float]]:
    """Time calls that need an untimed preparation, interleaving the entries round by round.

    In each of ``rounds`` rounds, every entry in turn is timed ``calls_per_round[key]`` times
    (default once); before every timed call, ``prepares[key]()`` runs untimed and returns the
    zero-argument callable to time (for example: build a graph, then return its ``backward``).
    Interleaving the entries spreads a burst of load from other processes over all of them
    instead of one. Returns the list of times (seconds) per key.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    times: dict[K, list[float]] = {key: [] for key in prepares}
    for _ in range(rounds):
        for key, prepare in prepares.items():
            calls = 1 if calls_per_round is None else calls_per_round[key]
            if calls < 1:
                raise ValueError(f"calls per round must be at least 1, got {calls} for {key!r}")
            for _ in range(calls):
                call = prepare()
                times[key].append(time_call(call))
                del call
    return times
