"""adlib's array reverse mode against PyTorch (CPU) on one training step of the seed's MNIST MLP.

The network is the lecture's ``NeuralNetwork``: 784 -> 512 -> 512 -> 10, no biases, ReLU after the
first two layers, float32. With a batch :math:`X \\in \\mathbb{R}^{64 \\times 784}` and labels
:math:`c_i \\in \\{0..9\\}` one step is

.. math::
    H_1 = \\operatorname{relu}(X W_1),\\quad H_2 = \\operatorname{relu}(H_1 W_2),\\quad Z = H_2 W_3,\\\\
    L = -\\frac{1}{64} \\sum_i \\log\\operatorname{softmax}(Z_i)_{c_i},\\qquad
    W_k \\leftarrow W_k - \\eta\\, \\partial L / \\partial W_k.

adlib writes the loss as ``log_softmax`` + integer-label pick by indexing + ``mean``; PyTorch uses
``nn.Linear(..., bias=False)`` layers and ``nn.functional.cross_entropy``; both update by plain SGD.
adlib stores :math:`W_k` as (in, out) so that ``X @ W``; torch stores the transpose (out, in), and the
weights are copied across so both start equal. :func:`check_agreement` compares the loss and all
three gradients (float32 tolerance) before anything is timed.

Threads. Both libraries do the heavy lifting in multi-threaded BLAS-like kernels: torch sets its
count with ``torch.set_num_threads``, numpy's OpenBLAS reads ``OPENBLAS_NUM_THREADS`` when numpy is
first imported (``run_all.py --threads N`` sets it before importing numpy). The table reports the
counts each library actually uses.

Run: ``python benchmarks/bench_mlp_torch.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from _cli import print_tables, quick_parser
from _harness import ratio_rounds
from _report import Table, numpy_blas_threads

from adlib import ReverseDiff, log_softmax

SIZES = (784, 512, 512, 10)
BATCH = 64
LEARNING_RATE = 0.01
GOAL_RATIO = 1.5


class BenchmarkMismatch(AssertionError):
    """The contenders disagree, so timing them would compare different computations."""


@dataclass
class Problem:
    """Weights (adlib layout: (in, out)), a batch of inputs and integer labels, all reproducible."""

    weights: list[np.ndarray]
    X: np.ndarray
    labels: np.ndarray


def make_problem(batch: int = BATCH, seed: int = 0) -> Problem:
    """float32 weights drawn like ``nn.Linear``'s default, :math:`U(-1/\\sqrt{n_{in}}, 1/\\sqrt{n_{in}})`,
    inputs uniform in [0, 1) like scaled pixels, and uniform random labels."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.uniform(-1.0, 1.0, size=(n_in, n_out)).astype(np.float32) / np.float32(np.sqrt(n_in))
        for n_in, n_out in itertools.pairwise(SIZES)
    ]
    X = rng.random((batch, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], size=batch)
    return Problem(weights=weights, X=X, labels=labels)


# ---------------------------------------------------------------- adlib


class AdlibMLP:
    """The bias-free ReLU MLP on adlib ``ReverseDiff`` arrays, trained by plain SGD."""

    def __init__(self, weights: Sequence[np.ndarray]) -> None:
        self.weights = [ReverseDiff(w.copy()) for w in weights]

    def loss(self, X: np.ndarray, labels: np.ndarray) -> ReverseDiff:
        """Mean cross-entropy :math:`-\\frac1B\\sum_i \\log\\operatorname{softmax}(Z_i)_{c_i}`."""
        h = X
        last = len(self.weights) - 1
        for k, w in enumerate(self.weights):
            h = h @ w
            if k < last:
                h = h.relu()
        logp = log_softmax(h, axis=1)
        return -logp[np.arange(len(labels)), labels].mean()

    def step(self, X: np.ndarray, labels: np.ndarray, lr: float = LEARNING_RATE) -> ReverseDiff:
        """Zero gradients, forward, backward, then update in place: :math:`W \\leftarrow W - \\eta\\bar W`."""
        for w in self.weights:
            w.grad = None
        loss = self.loss(X, labels)
        loss.backward()
        for w in self.weights:
            w.value -= np.float32(lr) * w.grad
        return loss


# ---------------------------------------------------------------- torch


class TorchMLP:
    """The same network as ``nn.Sequential`` of bias-free ``nn.Linear`` and ``nn.ReLU``, trained by SGD.

    The update is written out under ``torch.no_grad()``, as adlib's is; it is what
    ``torch.optim.SGD`` (no momentum) computes, without the optimizer's bookkeeping (and without
    the ~1.5 s import of ``torch._dynamo`` that constructing an optimizer triggers).
    """

    def __init__(self, weights: Sequence[np.ndarray], lr: float = LEARNING_RATE) -> None:
        layers: list[torch.nn.Module] = []
        for k, w in enumerate(weights):
            linear = torch.nn.Linear(w.shape[0], w.shape[1], bias=False)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
            layers.append(linear)
            if k < len(weights) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.params = list(self.model.parameters())
        self.lr = lr

    def step(self, X: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Zero gradients, forward, cross-entropy, backward, SGD update."""
        for p in self.params:
            p.grad = None
        loss = torch.nn.functional.cross_entropy(self.model(X), labels)
        loss.backward()
        with torch.no_grad():
            for p in self.params:
                p -= self.lr * p.grad
        return loss

    def weight_grads(self) -> list[np.ndarray]:
        """The gradients in adlib's (in, out) layout."""
        return [m.weight.grad.numpy().T for m in self.model if isinstance(m, torch.nn.Linear)]


# ---------------------------------------------------------------- correctness first


@dataclass
class Agreement:
    """How closely adlib and torch agree on the loss and gradients of the first step."""

    loss_torch: float
    loss_adlib: float
    max_rel_grad_diff: list[float]

    @property
    def loss_rel_diff(self) -> float:
        """:math:`|L_{torch} - L_{adlib}| / |L_{torch}|`."""
        return abs(self.loss_torch - self.loss_adlib) / abs(self.loss_torch)


def check_agreement(problem: Problem, rtol: float = 1e-4) -> Agreement:
    """One gradient evaluation in each library from the same weights and batch, compared.

    The gradient difference of layer :math:`k` is measured relative to the largest gradient entry,
    :math:`\\max|\\bar W^{torch}_k - \\bar W^{adlib}_k| / \\max|\\bar W^{torch}_k|`, which is the
    meaningful scale for float32 sums of 64-784 terms. Raises :class:`BenchmarkMismatch` above ``rtol``.
    """
    ad = AdlibMLP(problem.weights)
    th = TorchMLP(problem.weights, lr=0.0)
    ad_loss = ad.step(problem.X, problem.labels, lr=0.0)
    th_loss = th.step(torch.from_numpy(problem.X), torch.from_numpy(problem.labels))
    diffs = []
    for g_torch, w in zip(th.weight_grads(), ad.weights, strict=True):
        if g_torch.shape != w.grad.shape:
            raise BenchmarkMismatch(f"gradient shapes differ: torch {g_torch.shape}, adlib {w.grad.shape}")
        if w.grad.dtype != np.float32:
            raise BenchmarkMismatch(f"adlib's gradient is {w.grad.dtype}, not float32")
        diffs.append(float(np.max(np.abs(g_torch - w.grad)) / np.max(np.abs(g_torch))))
    agreement = Agreement(
        loss_torch=float(th_loss.item()), loss_adlib=float(ad_loss.value), max_rel_grad_diff=diffs
    )
    if not agreement.loss_rel_diff <= rtol:
        raise BenchmarkMismatch(
            f"losses differ: torch {agreement.loss_torch!r}, adlib {agreement.loss_adlib!r}"
        )
    if not max(diffs) <= rtol:
        raise BenchmarkMismatch(f"gradients differ: relative differences per layer {diffs}")
    return agreement


# ---------------------------------------------------------------- timing


def run(
    quick: bool = False, rounds: int | None = None, repeats: int | None = None, threads: int | None = None
) -> list[Table]:
    """Check agreement, time one training step of each, and return the result table.

    ``threads`` sets torch's thread count (``None``: leave it); numpy's BLAS thread count can only
    be set before numpy is imported (see the module docstring) and is reported as found.
    Full run: 5 rounds of 10 interleaved repeats; quick run: 1 round of 2.
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        torch.set_num_threads(threads)
    rounds = rounds or (1 if quick else 5)
    repeats = repeats or (2 if quick else 10)
    problem = make_problem()
    agreement = check_agreement(problem)
    ad = AdlibMLP(problem.weights)
    th = TorchMLP(problem.weights)
    X_t, labels_t = torch.from_numpy(problem.X), torch.from_numpy(problem.labels)
    result = ratio_rounds(
        ("adlib", lambda: ad.step(problem.X, problem.labels)),
        ("torch", lambda: th.step(X_t, labels_t)),
        rounds=rounds,
        repeats=repeats,
        warmup=2,
    )
    rows = [
        [str(r + 1), f"{t:.2f}", f"{a:.2f}", f"{ratio:.2f}"]
        for r, (a, t, ratio) in enumerate(zip(result.slow_ms, result.fast_ms, result.ratios, strict=True))
    ]
    ratio = result.median_ratio
    rows.append(
        [
            "**median**",
            f"{statistics.median(result.fast_ms):.2f}",
            f"{statistics.median(result.slow_ms):.2f}",
            f"**{ratio:.2f}**",
        ]
    )
    blas = numpy_blas_threads()
    return [
        Table(
            title="MLP 784-512-512-10 training step (batch 64, float32): adlib arrays vs torch CPU",
            columns=["round", "torch ms/step", "adlib ms/step", "adlib / torch"],
            rows=rows,
            goal=f"adlib time <= {GOAL_RATIO:g}x torch's (median ratio over rounds)",
            met=ratio <= GOAL_RATIO,
            notes=[
                f"Threads: torch {torch.get_num_threads()}, numpy's OpenBLAS "
                f"{'unknown' if blas is None else blas}.",
                f"{rounds} round(s) of {repeats} interleaved repeats after 2 warm-ups; "
                "step = zero grads + forward + cross-entropy + backward + SGD update (lr 0.01).",
                f"Checked first: loss torch {agreement.loss_torch:.7g}, adlib {agreement.loss_adlib:.7g} "
                f"(relative difference {agreement.loss_rel_diff:.1e}); max gradient difference per layer "
                "relative to the layer's largest gradient: "
                + ", ".join(f"{d:.1e}" for d in agreement.max_rel_grad_diff)
                + ".",
            ],
        )
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the result table as markdown."""
    parser = quick_parser(__doc__)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (numpy: OPENBLAS_NUM_THREADS)"
    )
    args = parser.parse_args(argv)
    print_tables(run(quick=args.quick, threads=args.threads))


if __name__ == "__main__":
    main()
