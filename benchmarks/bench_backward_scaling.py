"""How adlib's backward pass scales with the size of the graph.

Two experiments.

1. **Chains of** :math:`10^3 \\ldots 10^6` **nodes**, :math:`v_0 = x`, then alternately
   :math:`v_{k+1} = \\sin v_k` and :math:`v_{k+1} = 1.0001\\, v_k`. Reverse mode visits every node
   once, so the backward time should be proportional to the number of nodes: the time *per node*
   should stay flat. The derivative is checked against the closed form
   :math:`dv_N/dx = \\prod_{\\sin\\text{ steps}} \\cos v_k \\cdot 1.0001^{\\#\\text{mul steps}}`.

2. **The logistic map** :math:`l_1 = x,\\ l_{k+1} = 4 l_k (1 - l_k)` for :math:`n = 5 \\ldots 22`.
   Each :math:`l_k` is used twice, so there are :math:`2^{n-1}` paths from :math:`l_n` back to
   :math:`x` but only :math:`3(n-1)+1` nodes. A *recursive* backward (each node calls
   ``backward`` on its parents, as the seed lecture's first ``ReverseDiff`` does) walks every
   path, so its time doubles with each step; adlib's backward sorts the graph topologically and
   visits each node once, so its time grows linearly. Both are checked against the closed form
   :math:`dl_n/dx = \\prod_{k=1}^{n-1} 4(1 - 2 l_k)`.

Only ``backward`` is timed; building the graph is not (the chain table also reports the build).

Run: ``python benchmarks/bench_backward_scaling.py [--quick]``.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from _cli import print_tables, quick_parser
from _harness import prepared_rounds, time_call
from _report import Table

from adlib import ReverseDiff

CHAIN_FACTOR = 1.0001


class BenchmarkMismatch(AssertionError):
    """A derivative disagrees with its closed form, so timing it would be meaningless."""


# ---------------------------------------------------------------- chains


def build_chain(n_nodes: int, x0: float = 0.5) -> tuple[ReverseDiff, Any]:
    """The chain ``x -> sin -> *1.0001 -> sin -> ...`` with ``n_nodes`` operation nodes.

    Returns ``(x, v_N)``.
    """
    if n_nodes < 1:
        raise ValueError(f"a chain needs at least one node, got {n_nodes}")
    x = ReverseDiff(x0)
    v: Any = x
    for k in range(n_nodes):
        v = v.sin() if k % 2 == 0 else v * CHAIN_FACTOR
    return x, v


def chain_derivative(n_nodes: int, x0: float = 0.5) -> float:
    """:math:`dv_N/dx` for :func:`build_chain`, by the chain rule on plain floats."""
    v, d = x0, 1.0
    for k in range(n_nodes):
        if k % 2 == 0:
            d *= math.cos(v)
            v = math.sin(v)
        else:
            d *= CHAIN_FACTOR
            v *= CHAIN_FACTOR
    return d


def check_chain(n_nodes: int, rtol: float = 1e-12) -> float:
    """adlib's derivative of a chain against :func:`chain_derivative`; returns the relative error.

    Raises :class:`BenchmarkMismatch` above ``rtol``.
    """
    x, out = build_chain(n_nodes)
    out.backward()
    expected = chain_derivative(n_nodes)
    err = abs(float(x.grad) - expected) / abs(expected)
    if not err <= rtol:
        raise BenchmarkMismatch(f"chain of {n_nodes}: adlib {float(x.grad)!r}, closed form {expected!r}")
    return err


def chain_table(sizes: Sequence[int], rounds: int, calls: Callable[[int], int]) -> Table:
    """Time forward (build) and backward on chains of each size; medians.

    The sizes take turns within each of ``rounds`` rounds; size ``n`` is timed ``calls(n)`` times
    per round.
    """
    for n in sizes:
        check_chain(min(n, 10_000))
    forward_times: dict[int, list[float]] = {n: [] for n in sizes}
    built: list[Any] = []

    def prepare(n: int) -> Callable[[], Any]:
        built.clear()  # free the previous graph before timing the next build
        forward_times[n].append(time_call(lambda: built.append(build_chain(n))))
        return built[0][1].backward

    times = prepared_rounds(
        {n: (lambda n=n: prepare(n)) for n in sizes}, rounds, {n: calls(n) for n in sizes}
    )
    built.clear()
    rows = []
    per_node = []
    forward_per_node = []
    for n in sizes:
        forward_s, backward_s = statistics.median(forward_times[n]), statistics.median(times[n])
        per_node.append(1e9 * backward_s / n)
        forward_per_node.append(1e9 * forward_s / n)
        rows.append(
            [
                f"{n:,}",
                f"{1e3 * forward_s:.2f}",
                f"{1e9 * forward_s / n:.0f}",
                f"{1e3 * backward_s:.2f}",
                f"{1e9 * backward_s / n:.0f}",
                f"{backward_s / forward_s:.2f}",
                str(len(times[n])),
            ]
        )
    spread = max(per_node) / min(per_node)
    forward_spread = max(forward_per_node) / min(forward_per_node)
    return Table(
        title="Backward time on chains x -> sin -> *1.0001 -> ... (adlib)",
        columns=[
            "nodes",
            "forward ms",
            "forward ns/node",
            "backward ms",
            "backward ns/node",
            "backward / forward",
            "repeats",
        ],
        rows=rows,
        goal="backward ns/node flat across sizes (max/min <= 2, i.e. total time linear in nodes)",
        met=spread <= 2.0,
        notes=[
            f"max/min backward ns/node = {spread:.2f}; as a control, max/min forward ns/node = "
            f"{forward_spread:.2f}. Medians over the repeats shown; the sizes take turns in {rounds} "
            "round(s).",
            "The build does a fixed amount of work per node, so where the forward column rises with the "
            "size as much as the backward one (the backward / forward column stays level), the rise is "
            "memory, not work: the graph and the adjoint table outgrow the CPU caches, which on a shared "
            "machine are also used by the neighbours' jobs.",
            "Derivatives checked against the closed-form product of cos v_k and 1.0001 (relative 1e-12).",
        ],
    )


# ---------------------------------------------------------------- the logistic map


class RecursiveNode:
    """Reverse mode the way the seed lecture first writes it: ``backward`` recurses into the parents.

    A node keeps its value and, per parent, the local partial derivative. ``backward(g)`` adds
    ``g`` to this node's gradient and calls ``parent.backward(g * partial)`` for every parent, so it
    runs once per *path* from the output, not once per node.

    (The seed's version *assigns* ``self.grad = grad``; on a node reached along several paths that
    keeps only the last path's contribution and gives a wrong gradient. Here it accumulates.)
    """

    __slots__ = ("grad", "parents", "value")

    def __init__(self, value: float, parents: tuple[tuple[RecursiveNode, float], ...] = ()) -> None:
        self.value = value
        self.parents = parents
        self.grad = 0.0

    def __mul__(self, other: RecursiveNode | float) -> RecursiveNode:
        if isinstance(other, RecursiveNode):
            return RecursiveNode(self.value * other.value, ((self, other.value), (other, self.value)))
        return RecursiveNode(self.value * other, ((self, other),))

    __rmul__ = __mul__

    def __rsub__(self, other: float) -> RecursiveNode:
        return RecursiveNode(other - self.value, ((self, -1.0),))

    def backward(self, grad: float = 1.0) -> None:
        """Accumulate ``grad`` here and pass ``grad * partial`` to each parent, recursively."""
        self.grad += grad
        for parent, partial in self.parents:
            parent.backward(grad * partial)


class CountingNode(RecursiveNode):
    """A :class:`RecursiveNode` that counts its ``backward`` calls (for tests; not timed)."""

    __slots__ = ()
    calls = 0

    def __mul__(self, other: RecursiveNode | float) -> RecursiveNode:
        if isinstance(other, RecursiveNode):
            return CountingNode(self.value * other.value, ((self, other.value), (other, self.value)))
        return CountingNode(self.value * other, ((self, other),))

    __rmul__ = __mul__

    def __rsub__(self, other: float) -> RecursiveNode:
        return CountingNode(other - self.value, ((self, -1.0),))

    def backward(self, grad: float = 1.0) -> None:
        CountingNode.calls += 1
        super().backward(grad)


def logistic(x: Any, n: int) -> Any:
    """:math:`l_n` with :math:`l_1 = x` and :math:`l_{k+1} = 4 l_k (1 - l_k)`, for any number type."""
    if n < 1:
        raise ValueError(f"the logistic map starts at n = 1, got n = {n}")
    lk = x
    for _ in range(n - 1):
        lk = 4 * lk * (1 - lk)
    return lk


def logistic_derivative(x0: float, n: int) -> float:
    """:math:`dl_n/dx = \\prod_{k=1}^{n-1} 4(1 - 2 l_k)` on plain floats."""
    lk, d = x0, 1.0
    for _ in range(n - 1):
        d *= 4.0 * (1.0 - 2.0 * lk)
        lk = 4.0 * lk * (1.0 - lk)
    return d


def check_logistic(n: int, x0: float = 0.3, rtol: float = 1e-12) -> tuple[float, float]:
    """Both backward passes against the closed form; returns (recursive, adlib) relative errors.

    adlib must agree to ``rtol``. The recursive pass adds up :math:`2^{n-1}` path products of both
    signs, and every addition may round, so it is allowed ``max(rtol, 2^{n-1} \\cdot 10^{-15})``
    (at n = 19 it is off by about 3e-12, which is rounding, not a bug).
    Raises :class:`BenchmarkMismatch` when either is outside its tolerance.
    """
    expected = logistic_derivative(x0, n)
    xr = RecursiveNode(x0)
    logistic(xr, n).backward(1.0)
    xa = ReverseDiff(x0)
    logistic(xa, n).backward()
    rec_err = abs(xr.grad - expected) / abs(expected)
    ad_err = abs(float(xa.grad) - expected) / abs(expected)
    if not (ad_err <= rtol and rec_err <= max(rtol, 2 ** (n - 1) * 1e-15)):
        raise BenchmarkMismatch(
            f"logistic map n = {n}: recursive {xr.grad!r}, adlib {float(xa.grad)!r}, closed form {expected!r}"
        )
    return rec_err, ad_err


def logistic_table(
    ns: Sequence[int], rounds: int, calls: Callable[[str, int], int], x0: float = 0.3
) -> Table:
    """Backward time of the recursive and of adlib's reverse mode on the logistic map, per n.

    All (method, n) pairs take turns within each of ``rounds`` rounds, ``calls(method, n)`` times
    each per round, with ``method`` ``"recursive"`` or ``"adlib"``.
    """
    for n in ns:
        check_logistic(n, x0)
    prepares: dict[tuple[str, int], Callable[[], Callable[[], Any]]] = {}
    for n in ns:
        prepares["recursive", n] = lambda n=n: logistic(RecursiveNode(x0), n).backward
        prepares["adlib", n] = lambda n=n: logistic(ReverseDiff(x0), n).backward
    times = prepared_rounds(prepares, rounds, {key: calls(*key) for key in prepares})
    rec = [statistics.median(times["recursive", n]) for n in ns]
    ad = [statistics.median(times["adlib", n]) for n in ns]
    nodes = [3 * (n - 1) + 1 for n in ns]
    growth = [later / earlier for earlier, later in itertools.pairwise(rec)]
    adlib_per_node = [t / m for t, m in zip(ad, nodes, strict=True)]
    rows = [
        [
            str(n),
            f"{2 ** (n - 1):,}",
            str(nodes[i]),
            f"{1e3 * rec[i]:.3f}",
            "-" if i == 0 else f"{growth[i - 1]:.2f}",
            f"{1e3 * ad[i]:.3f}",
            f"{1e6 * adlib_per_node[i]:.2f}",
        ]
        for i, n in enumerate(ns)
    ]
    late_growth = statistics.median(growth[-6:]) if growth else float("nan")
    return Table(
        title="Logistic map l_{k+1} = 4 l_k (1 - l_k): recursive backward vs adlib",
        columns=[
            "n",
            "paths 2^(n-1)",
            "nodes",
            "recursive backward ms",
            "recursive growth per step",
            "adlib backward ms",
            "adlib µs/node",
        ],
        rows=rows,
        goal="recursive time doubles per step (exponential); adlib's grows linearly (µs/node flat)",
        met=1.6 <= late_growth <= 2.4 and adlib_per_node[-1] <= 2.0 * min(adlib_per_node),
        notes=[
            f"Median recursive growth factor over the last steps: {late_growth:.2f} (2 = doubling). "
            f"Medians of the repeats; all (method, n) pairs take turns in {rounds} round(s).",
            f"adlib µs/node at n = {ns[-1]}: {1e6 * adlib_per_node[-1]:.2f}, smallest "
            f"{1e6 * min(adlib_per_node):.2f}; at small n the fixed cost of a backward call weighs more.",
            "Both derivatives checked against the closed form prod 4(1 - 2 l_k): adlib to 1e-12 relative, "
            "the recursive sum of 2^(n-1) path products to max(1e-12, 2^(n-1) 1e-15) (rounding).",
        ],
    )


def _chain_calls(n: int) -> int:
    return max(1, min(5, 200_000 // n))


def _logistic_calls(method: str, n: int) -> int:
    return 1 if method == "recursive" and n > 16 else 5


def run(quick: bool = False) -> list[Table]:
    """Both experiments. Full: chains of 10^3..10^6 nodes and n = 5..22, 3 rounds;
    quick: 10^3..10^4 and n = 5..12, 1 round."""
    if quick:
        return [
            chain_table([10**3, 10**4], 1, lambda n: 2),
            logistic_table(range(5, 13), 1, lambda method, n: 2),
        ]
    return [
        chain_table([10**3, 10**4, 10**5, 10**6], 3, _chain_calls),
        logistic_table(range(5, 23), 3, _logistic_calls),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: print the result tables as markdown."""
    args = quick_parser(__doc__).parse_args(argv)
    print_tables(run(quick=args.quick))


if __name__ == "__main__":
    main()
