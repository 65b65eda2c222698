"""adlib's scalar reverse mode against micrograd on micrograd's own demo step.

micrograd's demo notebook trains ``MLP(2, [16, 16, 1])`` (two ReLU layers of 16 neurons, one linear
output; 337 parameters) on 100 points of the two-moons data set with labels :math:`y \\in \\{-1, 1\\}`
and the max-margin (SVM) loss with L2 regularisation

.. math:: L = \\frac{1}{n}\\sum_{i=1}^{n} \\max(0,\\ 1 - y_i s_i) + \\alpha \\sum_p p^2,
          \\qquad \\alpha = 10^{-4},

where :math:`s_i` is the network's score for point :math:`i`. One *step* here is what the demo does
per iteration before its update: zero the gradients, build the graph (forward) and ``backward()``.
That is about 65,000 scalar nodes.

The same network, with the same initial weights copied from micrograd's, is built from adlib
``ReverseDiff`` scalars with the operations in the same order, so both compute the same loss
bit for bit and the same gradients up to summation order; :func:`check_agreement` verifies that
before anything is timed.

Fairness notes. The demo feeds micrograd numpy scalars (from sklearn); numpy-scalar arithmetic is
several times slower than Python floats, which would flatter adlib, so both sides get Python floats.
micrograd wraps the inputs in ``Value`` as its demo does; adlib uses them as constants, its
idiomatic form (micrograd wraps constants in a ``Value`` either way).

Run: ``python benchmarks/bench_micrograd.py [--quick]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _harness import interleaved, ratio_rounds
from _report import Table
from micrograd.engine import Value
from micrograd.nn import MLP

from adlib import ReverseDiff, topological_order

ALPHA = 1e-4
LAYER_SIZES = (16, 16, 1)
GOAL_SPEEDUP = 3.0


class BenchmarkMismatch(AssertionError):
    """The contenders disagree, so timing them would compare different computations."""


# ---------------------------------------------------------------- data


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as ``sklearn.datasets.make_moons`` draws them, with labels ±1.

    The outer moon is :math:`(\\cos t, \\sin t)` and the inner one :math:`(1 - \\cos t, \\tfrac12 - \\sin t)`
    for :math:`t` evenly spaced in :math:`[0, \\pi]`; ``n_samples // 2`` points go to the outer moon
    (label -1) and the rest to the inner (label +1). The points are shuffled and Gaussian noise of
    standard deviation ``noise`` is added to both coordinates.

    Returns ``X`` of shape ``(n_samples, 2)`` and ``y`` of shape ``(n_samples,)`` (floats -1.0/1.0).
    """
    if n_samples < 2:
        raise ValueError(f"make_moons needs at least 2 samples, got {n_samples}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0.0, np.pi, n_outer)
    t_inner = np.linspace(0.0, np.pi, n_inner)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
            np.column_stack([1.0 - np.cos(t_inner), 0.5 - np.sin(t_inner)]),
        ]
    )
    y = np.concatenate([-np.ones(n_outer), np.ones(n_inner)])
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_samples)
    X, y = X[order], y[order]
    X = X + rng.normal(scale=noise, size=X.shape)
    return X, y


# ---------------------------------------------------------------- the two networks


def micrograd_model(seed: int = 1337) -> MLP:
    """micrograd's ``MLP(2, [16, 16, 1])``, its weights drawn from ``random`` seeded with ``seed``.

    The global ``random`` state is restored afterwards.
    """
    state = random.getstate()
    try:
        random.seed(seed)
        return MLP(2, list(LAYER_SIZES))
    finally:
        random.setstate(state)


class AdlibMLP:
    """The same multilayer perceptron as micrograd's, on adlib ``ReverseDiff`` scalars.

    Neuron :math:`j` of a layer computes :math:`b_j + \\sum_k w_{jk} x_k`, accumulated left to right
    starting from the bias (micrograd's order, so the floating-point results agree), then ReLU
    except in the last layer.
    """

    def __init__(self, layers: list[list[tuple[list[ReverseDiff], ReverseDiff]]]) -> None:
        self.layers = layers

    @classmethod
    def from_micrograd(cls, model: MLP) -> AdlibMLP:
        """Copy the structure and current weights of a micrograd ``MLP``."""
        layers = [
            [([ReverseDiff(float(w.data)) for w in n.w], ReverseDiff(float(n.b.data))) for n in layer.neurons]
            for layer in model.layers
        ]
        return cls(layers)

    def __call__(self, x: Sequence[Any]) -> Any:
        last = len(self.layers) - 1
        out: Sequence[Any] = x
        for depth, layer in enumerate(self.layers):
            new = []
            for weights, bias in layer:
                act = bias
                for w, xi in zip(weights, out, strict=True):
                    act = act + w * xi
                new.append(act if depth == last else act.relu())
            out = new
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[ReverseDiff]:
        """Weights then bias of each neuron, layer by layer (micrograd's order)."""
        return [p for layer in self.layers for weights, bias in layer for p in [*weights, bias]]

    def zero_grad(self) -> None:
        """Forget the parameters' accumulated gradients."""
        for p in self.parameters():
            p.grad = None


def svm_loss(scores: Sequence[Any], y: Sequence[float], params: Sequence[Any], alpha: float = ALPHA) -> Any:
    """:math:`\\frac1n \\sum_i \\operatorname{relu}(1 - y_i s_i) + \\alpha \\sum_p p^2`, written once for
    both libraries (the operations, and their order, are the demo's)."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in params)
    return data_loss + reg_loss


def micrograd_forward(model: MLP, X: Sequence[Sequence[float]], y: Sequence[float]) -> Value:
    """Zero the gradients and build the demo's loss graph in micrograd."""
    model.zero_grad()
    inputs = [list(map(Value, row)) for row in X]
    scores = list(map(model, inputs))
    return svm_loss(scores, y, model.parameters())


def adlib_forward(model: AdlibMLP, X: Sequence[Sequence[float]], y: Sequence[float]) -> ReverseDiff:
    """Zero the gradients and build the same loss graph in adlib."""
    model.zero_grad()
    scores = [model(row) for row in X]
    return svm_loss(scores, y, model.parameters())


def micrograd_step(model: MLP, X: Sequence[Sequence[float]], y: Sequence[float]) -> Value:
    """One demo step in micrograd: zero grads, forward, backward. Returns the loss node."""
    loss = micrograd_forward(model, X, y)
    loss.backward()
    return loss


def adlib_step(model: AdlibMLP, X: Sequence[Sequence[float]], y: Sequence[float]) -> ReverseDiff:
    """One demo step in adlib: zero grads, forward, backward. Returns the loss node."""
    loss = adlib_forward(model, X, y)
    loss.backward()
    return loss


# ---------------------------------------------------------------- correctness first


@dataclass
class Agreement:
    """How closely micrograd and adlib agree on one step."""

    loss_micrograd: float
    loss_adlib: float
    grads_micrograd: np.ndarray
    grads_adlib: np.ndarray

    @property
    def loss_diff(self) -> float:
        """:math:`|L_{micrograd} - L_{adlib}|`."""
        return abs(self.loss_micrograd - self.loss_adlib)

    @property
    def max_grad_diff(self) -> float:
        """The largest absolute difference between corresponding parameter gradients."""
        return float(np.max(np.abs(self.grads_micrograd - self.grads_adlib)))


def check_agreement(
    mg_model: MLP, ad_model: AdlibMLP, X: Sequence[Sequence[float]], y: Sequence[float], tol: float = 1e-12
) -> Agreement:
    """Run one step in each library and compare losses and all parameter gradients.

    Raises :class:`BenchmarkMismatch` when the parameter counts differ or a loss or gradient
    differs by more than ``tol``.
    """
    mg_params, ad_params = mg_model.parameters(), ad_model.parameters()
    if len(mg_params) != len(ad_params):
        raise BenchmarkMismatch(f"micrograd has {len(mg_params)} parameters but adlib has {len(ad_params)}")
    mg_loss = micrograd_step(mg_model, X, y)
    ad_loss = adlib_step(ad_model, X, y)
    agreement = Agreement(
        loss_micrograd=float(mg_loss.data),
        loss_adlib=float(ad_loss.value),
        grads_micrograd=np.array([float(p.grad) for p in mg_params]),
        grads_adlib=np.array([float(p.grad) for p in ad_params]),
    )
    if not agreement.loss_diff <= tol:
        raise BenchmarkMismatch(
            f"losses differ: micrograd {agreement.loss_micrograd!r}, adlib {agreement.loss_adlib!r}"
        )
    if not agreement.max_grad_diff <= tol:
        worst = int(np.argmax(np.abs(agreement.grads_micrograd - agreement.grads_adlib)))
        raise BenchmarkMismatch(
            f"gradients differ by up to {agreement.max_grad_diff:.3g} (parameter {worst}: micrograd "
            f"{agreement.grads_micrograd[worst]!r}, adlib {agreement.grads_adlib[worst]!r})"
        )
    return agreement


# ---------------------------------------------------------------- timing and profiling


@dataclass
class Setup:
    """Everything one benchmark run needs: data and the two networks with equal weights."""

    X: list[list[float]]
    y: list[float]
    micrograd: MLP
    adlib: AdlibMLP


def make_setup(n_samples: int = 100, seed: int = 1337) -> Setup:
    """The demo's data (as Python floats) and both networks, initialised identically."""
    X, y = make_moons(n_samples=n_samples, noise=0.1, seed=1)
    mg = micrograd_model(seed)
    return Setup(X=X.tolist(), y=y.tolist(), micrograd=mg, adlib=AdlibMLP.from_micrograd(mg))


def phase_times(setup: Setup, repeats: int) -> dict[str, tuple[float, float]]:
    """Median milliseconds of the forward and the backward phase alone, per library (interleaved).

    Returns ``{"micrograd": (forward_ms, backward_ms), "adlib": (...)}``.
    """
    s = setup
    built: dict[str, Any] = {}

    def forward(name: str) -> None:
        if name == "micrograd":
            built[name] = micrograd_forward(s.micrograd, s.X, s.y)
        else:
            built[name] = adlib_forward(s.adlib, s.X, s.y)

    fns = {
        "micrograd forward": lambda: forward("micrograd"),
        "micrograd backward": lambda: built["micrograd"].backward(),
        "adlib forward": lambda: forward("adlib"),
        "adlib backward": lambda: built["adlib"].backward(),
    }
    times = interleaved(fns, repeats, warmup=1)
    ms = {name: 1e3 * statistics.median(t) for name, t in times.items()}
    return {lib: (ms[f"{lib} forward"], ms[f"{lib} backward"]) for lib in ("micrograd", "adlib")}


def profile_adlib_step(setup: Setup, top: int = 12) -> Table:
    """cProfile one adlib step and tabulate the functions with the most own time.

    cProfile's per-call overhead inflates cheap functions, so shares are indicative: they say
    where the time goes, not how fast the step runs unprofiled.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    adlib_step(setup.adlib, setup.X, setup.y)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in entries[:top]:
        where = f"{Path(filename).name}:{line}({func})" if line else func
        rows.append(
            [
                f"`{where}`",
                str(ncalls),
                f"{1e3 * tottime:.1f}",
                f"{1e3 * cumtime:.1f}",
                f"{100 * tottime / total:.0f}%",
            ]
        )
    return Table(
        title="Where adlib's demo step spends its time (cProfile, own time)",
        columns=["function", "calls", "own ms", "cumulative ms", "share of step"],
        rows=rows,
        notes=[f"Profiled total {1e3 * total:.0f} ms (profiling overhead included)."],
    )


def run(quick: bool = False, rounds: int | None = None, repeats: int | None = None) -> list[Table]:
    """Check agreement, time both libraries, and return the result tables.

    Full run: 100 samples, 5 rounds of 7 interleaved repeats. Quick run: 16 samples, 1 round of 2.
    """
    n_samples = 16 if quick else 100
    rounds = rounds or (1 if quick else 5)
    repeats = repeats or (2 if quick else 7)
    setup = make_setup(n_samples)
    agreement = check_agreement(setup.micrograd, setup.adlib, setup.X, setup.y)
    result = ratio_rounds(
        ("micrograd", lambda: micrograd_step(setup.micrograd, setup.X, setup.y)),
        ("adlib", lambda: adlib_step(setup.adlib, setup.X, setup.y)),
        rounds=rounds,
        repeats=repeats,
    )
    rows = [
        [str(r + 1), f"{m:.1f}", f"{a:.1f}", f"{ratio:.2f}x"]
        for r, (m, a, ratio) in enumerate(zip(result.slow_ms, result.fast_ms, result.ratios, strict=True))
    ]
    speedup = result.median_ratio
    rows.append(
        [
            "**median**",
            f"{statistics.median(result.slow_ms):.1f}",
            f"{statistics.median(result.fast_ms):.1f}",
            f"**{speedup:.2f}x**",
        ]
    )
    nodes = _count_nodes(setup)
    main = Table(
        title="micrograd demo step (MLP(2, [16, 16, 1]), moons, SVM loss): adlib vs micrograd",
        columns=["round", "micrograd ms/step", "adlib ms/step", "speed-up (micrograd / adlib)"],
        rows=rows,
        goal=f"adlib >= {GOAL_SPEEDUP:g}x faster than micrograd (median speed-up over rounds)",
        met=speedup >= GOAL_SPEEDUP,
        notes=[
            f"{n_samples} samples, {len(setup.adlib.parameters())} parameters, {nodes} graph nodes per step "
            f"(adlib); {rounds} round(s) of {repeats} interleaved repeats after 1 warm-up; "
            "step = zero_grad + forward + backward.",
            f"Checked first: losses equal to {agreement.loss_diff:.1e} "
            f"(micrograd {agreement.loss_micrograd:.15g}, adlib {agreement.loss_adlib:.15g}); "
            f"max |gradient difference| over all parameters {agreement.max_grad_diff:.1e}.",
        ],
    )
    phases = phase_times(setup, repeats=max(2, repeats // 2))
    split = Table(
        title="micrograd demo step split into forward and backward",
        columns=["phase", "micrograd ms", "adlib ms", "adlib / micrograd"],
        rows=[
            [
                phase,
                f"{phases['micrograd'][i]:.1f}",
                f"{phases['adlib'][i]:.1f}",
                f"{phases['adlib'][i] / phases['micrograd'][i]:.2f}",
            ]
            for i, phase in enumerate(("forward (incl. zero_grad)", "backward"))
        ],
        notes=["Medians of interleaved repeats; adlib / micrograd above 1 means adlib is slower."],
    )
    tables = [main, split]
    if not main.met:
        tables.append(profile_adlib_step(setup))
    return tables


def _count_nodes(setup: Setup) -> int:
    return len(topological_order(adlib_forward(setup.adlib, setup.X, setup.y)))


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the result tables as markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    for table in run(quick=args.quick):
        print(table.to_markdown())


if __name__ == "__main__":
    main()
