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

Pausing the collector measures the differentiation machinery itself, but it is not how a user
runs a training loop. :func:`block_rounds` measures that case: blocks of consecutive steps with
the collector on, timing how much of each step the collector takes.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

K = TypeVar("K")


def time_call(fn: Callable[[], Any]) -> float:
    """Seconds taken by one call ``fn()``; the young generation is collected before, collection
    is paused during.

    The result is kept until the clock has stopped, so freeing it (for a graph, tens of thousands
    of nodes) is not timed: a graph freed by reference counting (adlib) is then treated like a
    graph freed by the cyclic collector (micrograd), whose collection is never inside the call.
    """
    gc.collect(0)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        del result
        return elapsed
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


@contextmanager
def collector_time() -> Iterator[list[float]]:
    """Measure the time the cyclic garbage collector spends inside the ``with`` block.

    Yields a one-element list whose entry is the total seconds of all collections so far
    (read it after the block).
    """
    total = [0.0]
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            total[0] += time.perf_counter() - started.pop()

    gc.callbacks.append(callback)
    try:
        yield total
    finally:
        gc.callbacks.remove(callback)


@dataclass
class BlockTimes:
    """Per round: milliseconds per step and, of those, milliseconds in the garbage collector."""

    ms_per_step: list[float] = field(default_factory=list)
    gc_ms_per_step: list[float] = field(default_factory=list)


def block_rounds(
    fns: Mapping[str, Callable[[], Any]], rounds: int, steps: int, warmup: int = 1
) -> dict[str, BlockTimes]:
    """Time blocks of ``steps`` consecutive calls with the garbage collector **on**, as in a
    training loop; the contenders take turns block by block for ``rounds`` rounds.

    Before each block a full collection (untimed) clears the garbage left by the previous block,
    so one contender's garbage is not collected on the other's time; within a block, each step's
    leftover garbage is collected during the following steps, as it would be in a real loop.
    """
    if rounds < 1 or steps < 1:
        raise ValueError(f"rounds and steps must be at least 1, got rounds={rounds}, steps={steps}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    result = {name: BlockTimes() for name in fns}
    was_enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            for name, fn in fns.items():
                gc.collect()
                gc.enable()
                with collector_time() as in_gc:
                    start = time.perf_counter()
                    for _ in range(steps):
                        fn()
                    elapsed = time.perf_counter() - start
                result[name].ms_per_step.append(1e3 * elapsed / steps)
                result[name].gc_ms_per_step.append(1e3 * in_gc[0] / steps)
    finally:
        if not was_enabled:
            gc.disable()
    return result
