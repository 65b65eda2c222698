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

import cProfile
import gc
import pstats
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _cli import print_tables, quick_parser
from _harness import block_rounds, prepared_rounds, ratio_rounds
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


class AdlibArrayMLP:
    """The same network in adlib's *array* mode: one ``ReverseDiff`` matrix per layer.

    Layer :math:`\\ell` holds :math:`W_\\ell` (inputs x neurons; column :math:`j` is neuron
    :math:`j`'s weights) and :math:`b_\\ell`, so
    :math:`H_\\ell = \\operatorname{relu}(H_{\\ell-1} W_\\ell + b_\\ell)` for all samples at once.
    Not part of the goal (which is about scalar nodes): it shows what the same step costs when
    the graph has about twenty array nodes instead of 65,000 scalar ones.
    """

    def __init__(self, weights: list[ReverseDiff], biases: list[ReverseDiff]) -> None:
        self.weights, self.biases = weights, biases

    @classmethod
    def from_micrograd(cls, model: MLP) -> AdlibArrayMLP:
        """Copy the current weights of a micrograd ``MLP``."""
        weights = [
            ReverseDiff(np.array([[float(w.data) for w in n.w] for n in layer.neurons]).T)
            for layer in model.layers
        ]
        biases = [ReverseDiff(np.array([float(n.b.data) for n in layer.neurons])) for layer in model.layers]
        return cls(weights, biases)

    def loss(self, X: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> ReverseDiff:
        """The demo's loss, :math:`\\operatorname{mean}(\\operatorname{relu}(1 - y s)) + \\alpha\\sum p^2`."""
        h: Any = X
        last = len(self.weights) - 1
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if k < last:
                h = h.relu()
        scores = h.reshape(-1)
        reg = sum((w * w).sum() + (b * b).sum() for w, b in zip(self.weights, self.biases, strict=True))
        return (1.0 - y * scores).relu().mean() + alpha * reg

    def step(self, X: np.ndarray, y: np.ndarray) -> ReverseDiff:
        """Zero gradients, forward, backward. Returns the loss node."""
        for p in [*self.weights, *self.biases]:
            p.grad = None
        loss = self.loss(X, y)
        loss.backward()
        return loss

    def flat_grads(self) -> np.ndarray:
        """All gradients in micrograd's parameter order (per neuron: its weights, then its bias)."""
        parts = [
            np.column_stack([w.grad.T, b.grad]).ravel()
            for w, b in zip(self.weights, self.biases, strict=True)
        ]
        return np.concatenate(parts)


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


def check_array_agreement(
    mg_model: MLP,
    arr_model: AdlibArrayMLP,
    X: Sequence[Sequence[float]],
    y: Sequence[float],
    tol: float = 1e-12,
) -> Agreement:
    """As :func:`check_agreement`, for the array-mode network (sums run in another order, so the
    agreement is to rounding, well inside ``tol``)."""
    mg_loss = micrograd_step(mg_model, X, y)
    ar_loss = arr_model.step(np.asarray(X), np.asarray(y))
    agreement = Agreement(
        loss_micrograd=float(mg_loss.data),
        loss_adlib=float(ar_loss.value),
        grads_micrograd=np.array([float(p.grad) for p in mg_model.parameters()]),
        grads_adlib=arr_model.flat_grads(),
    )
    if agreement.grads_micrograd.shape != agreement.grads_adlib.shape:
        raise BenchmarkMismatch(
            f"micrograd has {agreement.grads_micrograd.size} gradients, "
            f"adlib arrays {agreement.grads_adlib.size}"
        )
    if not (agreement.loss_diff <= tol and agreement.max_grad_diff <= tol):
        raise BenchmarkMismatch(
            f"array mode differs from micrograd: loss by {agreement.loss_diff:.3g}, "
            f"gradients by up to {agreement.max_grad_diff:.3g}"
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

    The previous graph is dropped (and collected) before a forward is timed, so freeing it is not
    counted.
    Returns ``{"micrograd": (forward_ms, backward_ms), "adlib": (...)}``.
    """
    s = setup
    forwards = {
        "micrograd": lambda: micrograd_forward(s.micrograd, s.X, s.y),
        "adlib": lambda: adlib_forward(s.adlib, s.X, s.y),
    }
    built: dict[str, Any] = {}

    def prepare_forward(lib: str) -> Callable[[], Any]:
        built.pop(lib, None)
        # micrograd's old graph is cyclic garbage that has outlived the young generation: collect it
        # now, untimed, rather than let it pile up.
        gc.collect()
        return lambda: built.__setitem__(lib, forwards[lib]())

    prepares: dict[tuple[str, str], Callable[[], Callable[[], Any]]] = {}
    for lib in forwards:
        prepares[lib, "forward"] = lambda lib=lib: prepare_forward(lib)
        prepares[lib, "backward"] = lambda lib=lib: built[lib].backward
    # The first round is a warm-up.
    times = prepared_rounds(prepares, rounds=repeats + 1)
    ms = {key: 1e3 * statistics.median(t[1:]) for key, t in times.items()}
    return {lib: (ms[lib, "forward"], ms[lib, "backward"]) for lib in forwards}


def profile_adlib_step(setup: Setup, top: int = 12) -> Table:
    """cProfile one adlib step and tabulate the functions with the most own time.

    cProfile's per-call overhead inflates cheap functions, so shares are indicative: they say
    where the time goes, not how fast the step runs unprofiled. Garbage collection is paused, as
    in the timings.
    """
    profiler = cProfile.Profile()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # as in the timings: otherwise collections are charged to whichever function allocates
    try:
        profiler.enable()
        loss = adlib_step(setup.adlib, setup.X, setup.y)
        profiler.disable()
        del loss
    finally:
        if was_enabled:
            gc.enable()
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


def collector_on_table(setup: Setup, rounds: int, steps: int) -> Table:
    """Both libraries in blocks of consecutive steps with the garbage collector on (a training loop).

    micrograd's nodes hold closures that refer back to the node, so every graph is a tangle of
    reference cycles that only the cyclic collector frees, and each full collection walks every
    live tracked object. adlib's graph has no cycles (reference counting frees it) and fewer
    tracked objects per node. This table shows what that costs per step.
    """
    s = setup
    blocks = block_rounds(
        {
            "micrograd": lambda: micrograd_step(s.micrograd, s.X, s.y),
            "adlib": lambda: adlib_step(s.adlib, s.X, s.y),
        },
        rounds=rounds,
        steps=steps,
    )
    mg, ad = blocks["micrograd"], blocks["adlib"]
    ratios = [m / a for m, a in zip(mg.ms_per_step, ad.ms_per_step, strict=True)]
    rows = [
        [
            str(r + 1),
            f"{mg.ms_per_step[r]:.1f}",
            f"{mg.gc_ms_per_step[r]:.1f}",
            f"{ad.ms_per_step[r]:.1f}",
            f"{ad.gc_ms_per_step[r]:.1f}",
            f"{ratios[r]:.2f}x",
        ]
        for r in range(rounds)
    ]
    speedup = statistics.median(ratios)
    med = statistics.median
    rows.append(
        [
            "**median**",
            f"{med(mg.ms_per_step):.1f}",
            f"{med(mg.gc_ms_per_step):.1f}",
            f"{med(ad.ms_per_step):.1f}",
            f"{med(ad.gc_ms_per_step):.1f}",
            f"**{speedup:.2f}x**",
        ]
    )
    return Table(
        title="micrograd demo step, GC on (training-loop blocks): adlib vs micrograd",
        columns=[
            "round",
            "micrograd ms/step",
            "micrograd ms/step in GC",
            "adlib ms/step",
            "adlib ms/step in GC",
            "speed-up (micrograd / adlib)",
        ],
        rows=rows,
        goal=f"adlib >= {GOAL_SPEEDUP:g}x faster than micrograd with the collector on (median over rounds)",
        met=speedup >= GOAL_SPEEDUP,
        notes=[
            f"{rounds} round(s); per round each library runs a block of {steps} consecutive steps with "
            "Python's default collector settings, the blocks taking turns; a full collection (untimed) "
            "before each block clears the other library's garbage.",
            "'in GC' is the time spent inside the cyclic garbage collector (measured with gc.callbacks).",
        ],
    )


def array_mode_table(setup: Setup, rounds: int, repeats: int) -> Table:
    """micrograd's scalar step against the same step in adlib's array mode (no goal; context)."""
    arr = AdlibArrayMLP.from_micrograd(setup.micrograd)
    agreement = check_array_agreement(setup.micrograd, arr, setup.X, setup.y)
    X, y = np.asarray(setup.X), np.asarray(setup.y)
    result = ratio_rounds(
        ("micrograd", lambda: micrograd_step(setup.micrograd, setup.X, setup.y)),
        ("adlib arrays", lambda: arr.step(X, y)),
        rounds=rounds,
        repeats=repeats,
    )
    med = statistics.median
    return Table(
        title="Context: the same demo step in adlib's array mode (GC paused)",
        columns=["micrograd ms/step", "adlib array-mode ms/step", "speed-up (micrograd / adlib arrays)"],
        rows=[[f"{med(result.slow_ms):.1f}", f"{med(result.fast_ms):.3f}", f"{result.median_ratio:.0f}x"]],
        notes=[
            "One matrix per layer instead of one node per scalar operation: about 20 graph nodes.",
            f"Checked first: loss difference {agreement.loss_diff:.1e}, max gradient difference "
            f"{agreement.max_grad_diff:.1e} (sums in another order).",
        ],
    )


def run(quick: bool = False, rounds: int | None = None, repeats: int | None = None) -> list[Table]:
    """Check agreement, time both libraries, and return the result tables.

    Full run: 100 samples, 5 rounds of 7 interleaved repeats. Quick run: 8 samples, 1 round of 2.
    """
    n_samples = 8 if quick else 100
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
        title="micrograd demo step (MLP(2, [16, 16, 1]), moons, SVM loss), GC paused: adlib vs micrograd",
        columns=["round", "micrograd ms/step", "adlib ms/step", "speed-up (micrograd / adlib)"],
        rows=rows,
        goal=f"adlib >= {GOAL_SPEEDUP:g}x faster than micrograd (median speed-up over rounds)",
        met=speedup >= GOAL_SPEEDUP,
        notes=[
            f"{n_samples} samples, {len(setup.adlib.parameters())} parameters, {nodes} graph nodes per step "
            f"(adlib); {rounds} round(s) of {repeats} interleaved repeats after 1 warm-up; "
            "step = zero_grad + forward + backward. The garbage collector is paused during each timed "
            "step (as timeit does), so this measures the differentiation machinery alone.",
            f"Checked first: losses equal to {agreement.loss_diff:.1e} "
            f"(micrograd {agreement.loss_micrograd:.15g}, adlib {agreement.loss_adlib:.15g}); "
            f"max |gradient difference| over all parameters {agreement.max_grad_diff:.1e}.",
        ],
    )
    phases = phase_times(setup, repeats=max(2, repeats // 2))
    split = Table(
        title="micrograd demo step split into forward and backward (GC paused)",
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
    tables = [
        main,
        collector_on_table(setup, rounds=1 if quick else 3, steps=2 if quick else 3),
        split,
        array_mode_table(setup, rounds=1 if quick else 3, repeats=2 if quick else 5),
    ]
    if not main.met:
        tables.append(profile_adlib_step(setup))
    return tables


def _count_nodes(setup: Setup) -> int:
    return len(topological_order(adlib_forward(setup.adlib, setup.X, setup.y)))


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the result tables as markdown."""
    args = quick_parser(__doc__).parse_args(argv)
    print_tables(run(quick=args.quick))


if __name__ == "__main__":
    main()
