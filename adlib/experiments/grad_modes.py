"""Grad modes: default, ``torch.no_grad()`` and ``torch.inference_mode()`` on a "Net3"-shaped network.

The three modes
---------------
* default (grad mode on): every op whose inputs require grad is recorded; nodes save the tensors their
  VJPs need (a matmul ``H W`` saves ``H`` for ``dL/dW = H^T G`` and ``W`` for ``dL/dH = G W^T``; a ReLU saves
  its output for the mask ``1[y > 0]``). The output has ``requires_grad=True`` and a ``grad_fn``.
* ``no_grad``: nothing is recorded, nothing is saved; outputs are ordinary tensors that may later be used
  in recorded computations (e.g. optimiser updates, evaluation).
* ``inference_mode``: like ``no_grad`` and additionally skips autograd's bookkeeping on the tensors
  (version counters, view tracking); outputs are *inference tensors* (``t.is_inference()``) that can never
  enter a recorded computation afterwards.

The network
-----------
The seed's ``Net3`` is matmul layers without bias, ``4096 -> 8192 -> 8192 -> 8192 -> 1`` with ReLU in
between, fed a batch of 256. That is 167,780,352 weights (640 MiB in float32) and about 86 GFLOP per forward
pass: it fits any laptop, but on the kit's shared 2-core machines one pass takes about a second and a careful
timing (warm-up, repeats in every mode) about a minute, too slow for a lecture cell. So the default here is
``256 -> 512 -> 512 -> 512 -> 1`` (655,872 weights, 0.34 GFLOP); ``benchmarks/bench_grad_modes.py`` runs
``sizes=SEED_NET3_SIZES`` and records the result for lecture 5 (:mod:`adlib.experiments.recorded`).

What to expect
--------------
The seed times one call of each mode with ``time.time()`` and reports 0.517 s, 0.477 s and 0.434 s. A single
un-warmed call mixes in allocation and first-call costs, and the order of the calls favours the later ones.
Here every mode is warmed up and the modes are timed round-robin (``time_interleaved``). The matmuls cost
the same in every mode, so on a CPU the timing differences are small (autograd's per-op overhead is a few
microseconds); the real difference is memory: in default mode the graph keeps every hidden activation
(``batch x width`` numbers per ReLU) until backward or until the output is dropped, while ``no_grad`` and
``inference_mode`` keep none.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from adlib.experiments._torch_memory import SavedTensorMeter, check_count, median_seconds, time_interleaved

__all__ = [
    "GRAD_MODES",
    "SEED_NET3_SIZES",
    "GradModesResult",
    "MatmulLayer",
    "ModeMeasurement",
    "grad_mode_context",
    "grad_modes_timing",
    "make_matmul_net",
]

#: Layer widths of the seed's Net3 (input 4096, three hidden layers of 8192, one output).
SEED_NET3_SIZES: tuple[int, ...] = (4096, 8192, 8192, 8192, 1)

#: The modes compared, in display order.
GRAD_MODES: tuple[str, ...] = ("default", "no_grad", "inference_mode")


def grad_mode_context(mode: str) -> AbstractContextManager[Any]:
    """Context manager for one of ``GRAD_MODES``; "default" explicitly enables grad mode."""
    factories: dict[str, Callable[[], AbstractContextManager[Any]]] = {
        "default": torch.enable_grad,
        "no_grad": torch.no_grad,
        "inference_mode": torch.inference_mode,
    }
    if mode not in factories:
        raise ValueError(f"unknown grad mode {mode!r}; expected one of {GRAD_MODES}")
    return factories[mode]()


class MatmulLayer(nn.Module):
    """``y = x W`` with ``W`` of shape ``(in_features, out_features)`` and no bias (the seed's ``MyLinear``).

    ``W ~ N(0, 1 / in_features)`` (drawn from ``generator``) keeps activations of order one; the seed draws
    ``N(0, 1)``, which makes activations grow by about sqrt(width) per layer but costs the same time.
    """

    def __init__(self, in_features: int, out_features: int, generator: torch.Generator | None = None) -> None:
        super().__init__()
        check_count("in_features", in_features, minimum=1)
        check_count("out_features", out_features, minimum=1)
        init = torch.randn(in_features, out_features, generator=generator) / math.sqrt(in_features)
        self.weight = nn.Parameter(init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.weight.shape[0]:
            raise ValueError(
                f"input has {x.shape[-1]} features but the layer expects {self.weight.shape[0]} "
                f"(input shape {tuple(x.shape)}, weight shape {tuple(self.weight.shape)})"
            )
        return x @ self.weight


def make_matmul_net(sizes: Sequence[int], seed: int = 0) -> nn.Sequential:
    """Matmul layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``, ReLU between them (none after the last)."""
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes}")
    for n, s in enumerate(sizes):
        check_count(f"sizes[{n}]", s, minimum=1)
    check_count("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    mods: list[nn.Module] = []
    for n, (a, b) in enumerate(itertools.pairwise(sizes)):
        if n:
            mods.append(nn.ReLU())
        mods.append(MatmulLayer(a, b, generator=gen))
    return nn.Sequential(*mods)


@dataclass(frozen=True)
class ModeMeasurement:
    """One grad mode's forward pass.

    Attributes:
        mode: one of ``GRAD_MODES``.
        median_seconds: median forward time over the timed repeats.
        times: every timed repeat, in seconds.
        requires_grad, has_grad_fn, is_inference: properties of the output tensor.
        saved_bytes: distinct storages the autograd graph saved (weights and input included).
        extra_bytes: of those, the bytes that exist only because of the graph (hidden activations).
    """

    mode: str
    median_seconds: float
    times: tuple[float, ...]
    requires_grad: bool
    has_grad_fn: bool
    is_inference: bool
    saved_bytes: int
    extra_bytes: int


@dataclass(frozen=True)
class GradModesResult:
    """Result of ``grad_modes_timing``: one ``ModeMeasurement`` per mode, plus the setup."""

    sizes: tuple[int, ...]
    batch: int
    repeats: int
    param_bytes: int
    modes: dict[str, ModeMeasurement] = field(default_factory=dict)

    def speedup(self, mode: str) -> float:
        """``median(default) / median(mode)``: > 1 means ``mode`` was faster than default mode."""
        if mode not in self.modes:
            raise ValueError(f"unknown grad mode {mode!r}; measured {tuple(self.modes)}")
        return self.modes["default"].median_seconds / self.modes[mode].median_seconds

    def as_dict(self) -> dict[str, Any]:
        """Plain nested ``dict`` of all fields."""
        return asdict(self)


def grad_modes_timing(
    sizes: Sequence[int] = (256, 512, 512, 512, 1),
    batch: int = 256,
    repeats: int = 20,
    seed: int = 0,
) -> GradModesResult:
    """Time the forward pass of ``make_matmul_net(sizes)`` in each grad mode and measure its graph.

    For each mode: one untimed pass under ``SavedTensorMeter`` gives the output's flags and the saved bytes
    (with the meter's hooks installed, so it is not timed); then all modes are warmed up twice and timed
    ``repeats`` times round-robin with ``time.perf_counter``; the median is reported.

    Expected ``extra_bytes`` in default mode: every hidden ReLU output, ``batch * sizes[h] * 4`` bytes
    (float32) for each hidden width; the input's storage and the weights are saved too but are alive anyway.
    Under ``no_grad`` and ``inference_mode`` nothing is saved.
    """
    check_count("batch", batch, minimum=1)
    check_count("repeats", repeats, minimum=1)
    net = make_matmul_net(sizes, seed=seed)
    sizes = tuple(sizes)
    params = list(net.parameters())
    x = torch.randn(batch, sizes[0], generator=torch.Generator().manual_seed(seed + 1))

    flags: dict[str, tuple[bool, bool, bool, int, int]] = {}
    for mode in GRAD_MODES:
        with SavedTensorMeter(alive=[x, *params]) as meter, grad_mode_context(mode):
            out = net(x)
        stats = meter.stats()
        flags[mode] = (
            out.requires_grad,
            out.grad_fn is not None,
            out.is_inference(),
            stats.saved_bytes,
            stats.extra_bytes,
        )
        del out

    def forward_in(mode: str) -> Callable[[], object]:
        def run() -> object:
            with grad_mode_context(mode):
                return net(x)

        return run

    times = time_interleaved({mode: forward_in(mode) for mode in GRAD_MODES}, repeats=repeats)
    modes = {
        mode: ModeMeasurement(
            mode=mode,
            median_seconds=median_seconds(times[mode]),
            times=times[mode],
            requires_grad=flags[mode][0],
            has_grad_fn=flags[mode][1],
            is_inference=flags[mode][2],
            saved_bytes=flags[mode][3],
            extra_bytes=flags[mode][4],
        )
        for mode in GRAD_MODES
    }
    return GradModesResult(
        sizes=sizes,
        batch=batch,
        repeats=repeats,
        param_bytes=sum(p.nbytes for p in params),
        modes=modes,
    )
