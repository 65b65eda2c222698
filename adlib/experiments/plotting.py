"""Bar charts for the PyTorch experiments (grad modes, custom autograd.Function, checkpointing).

Every helper takes the result object of an experiment, draws on ``ax`` (a new figure when ``ax`` is None),
sets a title and both axis labels, and returns the axes. Times are shown as medians with a bar from the
first to the third quartile of the repeats, so a noisy shared machine shows up as long bars instead of
being hidden. Memory is shown in MiB (2^20 bytes).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adlib.experiments.checkpointing import CheckpointingResult
from adlib.experiments.custom_function import QuaternionMemoryResult
from adlib.experiments.grad_modes import GradModesResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_checkpointing", "plot_grad_modes", "plot_quaternion_memory"]

MIB = 2**20
_METRICS = ("time", "memory")


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=(6, 4))
    return new_ax


def _check_metric(metric: str) -> None:
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}")


def _quartile_err(times: Sequence[float], scale: float) -> tuple[float, float, float]:
    """``(median, median - q1, q3 - median)`` of ``times`` multiplied by ``scale``."""
    ts = sorted(t * scale for t in times)
    med = statistics.median(ts)
    if len(ts) < 2:
        return med, 0.0, 0.0
    q1, _, q3 = statistics.quantiles(ts, n=4, method="inclusive")
    return med, med - q1, q3 - med


def _time_bars(ax: Axes, labels: Sequence[str], runs: Sequence[Sequence[float]], title: str) -> Axes:
    stats = [_quartile_err(ts, 1e3) for ts in runs]
    meds = [s[0] for s in stats]
    err = [[s[1] for s in stats], [s[2] for s in stats]]
    bars = ax.bar(labels, meds, yerr=err, capsize=4, color="tab:blue")
    ax.bar_label(bars, labels=[f"{m:.2f}" for m in meds], padding=2, fontsize=8)
    ax.set_ylabel("median time (ms); error bar: quartiles")
    ax.set_title(title)
    return ax


def _memory_bars(
    ax: Axes, labels: Sequence[str], total: Sequence[int], extra: Sequence[int], title: str
) -> Axes:
    xs = range(len(labels))
    w = 0.38
    b1 = ax.bar([x - w / 2 for x in xs], [t / MIB for t in total], w, label="all saved storages")
    b2 = ax.bar([x + w / 2 for x in xs], [e / MIB for e in extra], w, label="without parameters and input")
    for bars in (b1, b2):
        ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
    ax.set_xticks(list(xs), labels)
    ax.set_ylabel("saved for backward (MiB)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def _memory_or_time(
    ax: Axes | None,
    metric: str,
    labels: Sequence[str],
    memory: tuple[Sequence[int], Sequence[int], str],
    time: tuple[Sequence[Sequence[float]], str],
    xlabel: str,
) -> Axes:
    """One chart of ``labels`` side by side: ``memory`` (saved bytes, extra bytes, title) or ``time``
    (repeat times per label, title), as ``metric`` says, with ``xlabel`` under it."""
    _check_metric(metric)
    ax = _axes(ax)
    if metric == "memory":
        _memory_bars(ax, labels, *memory)
    else:
        _time_bars(ax, labels, *time)
    ax.set_xlabel(xlabel)
    return ax


def plot_grad_modes(result: GradModesResult, metric: str = "time", ax: Axes | None = None) -> Axes:
    """Bar chart of ``grad_modes_timing``: forward time (``metric="time"``) or graph memory ("memory")."""
    if not isinstance(result, GradModesResult):
        raise TypeError(f"plot_grad_modes expects a GradModesResult, got {type(result).__name__}")
    labels = list(result.modes)
    net = " -> ".join(str(s) for s in result.sizes)
    return _memory_or_time(
        ax,
        metric,
        labels,
        memory=(
            [result.modes[m].saved_bytes for m in labels],
            [result.modes[m].extra_bytes for m in labels],
            f"Memory held by the autograd graph per grad mode\n(net {net}, batch {result.batch})",
        ),
        time=(
            [result.modes[m].times for m in labels],
            f"Forward pass per grad mode\n(net {net}, batch {result.batch}, {result.repeats} repeats)",
        ),
        xlabel="grad mode",
    )


def plot_quaternion_memory(
    result: QuaternionMemoryResult, metric: str = "memory", ax: Axes | None = None
) -> Axes:
    """Bar chart of ``quaternion_memory_experiment``: saved bytes ("memory") or forward+backward time."""
    if not isinstance(result, QuaternionMemoryResult):
        raise TypeError(
            f"plot_quaternion_memory expects a QuaternionMemoryResult, got {type(result).__name__}"
        )
    setup = f"{result.layers} layers of {result.features}, batch {result.batch}"
    return _memory_or_time(
        ax,
        metric,
        ["default autograd", "custom Function"],
        memory=(
            [result.bytes_default, result.bytes_custom],
            [result.extra_bytes_default, result.extra_bytes_custom],
            f"Quaternion linear layers: saved for backward ({result.ratio:.2f}x less)\n({setup})",
        ),
        time=(
            [result.times_default, result.times_custom],
            f"Quaternion linear layers: forward+backward (custom/default {result.time_ratio:.2f})\n({setup})",
        ),
        xlabel="backward implementation",
    )


def plot_checkpointing(result: CheckpointingResult, metric: str = "memory", ax: Axes | None = None) -> Axes:
    """Bar chart of ``checkpointing_experiment``: saved bytes ("memory") or forward+backward time ("time")."""
    if not isinstance(result, CheckpointingResult):
        raise TypeError(f"plot_checkpointing expects a CheckpointingResult, got {type(result).__name__}")
    setup = f"depth {result.depth}, width {result.width}, batch {result.batch}"
    return _memory_or_time(
        ax,
        metric,
        ["plain backprop", f"checkpointed ({result.segments} segments)"],
        memory=(
            [result.bytes_plain, result.bytes_checkpointed],
            [result.extra_bytes_plain, result.extra_bytes_checkpointed],
            f"Gradient checkpointing: saved for backward\n({setup})",
        ),
        time=(
            [result.times_plain, result.times_checkpointed],
            f"Gradient checkpointing: forward+backward (ratio {result.time_ratio:.2f})\n({setup})",
        ),
        xlabel="training step",
    )
