"""Measuring helpers for the PyTorch experiments: bytes held by the autograd graph, and wall-clock time.

Saved-tensor bytes
------------------
Reverse mode needs, at backward time, some of the values computed in the forward pass (for ``Y = X W``
the VJPs ``dL/dX = dL/dY W^T`` and ``dL/dW = X^T dL/dY`` need ``W`` and ``X``). PyTorch keeps them as
*saved tensors* on the graph nodes. ``torch.autograd.graph.saved_tensors_hooks(pack, unpack)`` lets us see
every tensor at the moment it is saved: ``pack`` is called once per saved tensor during the forward pass.

Method used here (``SavedTensorMeter``):

* the pack hook records, for each saved tensor, the identity of its storage
  (``t.untyped_storage().data_ptr()``) and the storage's size in bytes, and hands the tensor back unchanged;
* storages are counted once: two nodes that save the same tensor (a ReLU saves its output, the next
  matmul saves the same tensor as its input) or two views of one buffer (``W.t()`` saved by ``addmm``
  shares ``W``'s storage) hold that memory only once;
* the whole storage is counted, not just the viewed elements, because a saved view keeps its whole buffer
  alive;
* ``extra_bytes`` leaves out storages that belong to tensors the caller names as alive anyway (model
  parameters, the input batch): what remains is memory that exists *only* because the graph keeps it.

Storage addresses cannot be reused while we measure, because every saved tensor is kept alive by the graph
for as long as the forward pass's output is alive; keep the output alive until the meter has been read.

Tensors saved inside a non-reentrant ``torch.utils.checkpoint`` region are packed by checkpoint's own inner
hooks (which store a placeholder and recompute the value in backward), so the meter does not see them:
that is exactly the memory checkpointing saves. The segment inputs that checkpoint keeps are saved outside
its hooks and are counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType

import torch

__all__ = [
    "SavedTensorMeter",
    "SavedTensorStats",
    "check_count",
    "median_seconds",
    "storage_key",
    "time_interleaved",
]


def storage_key(t: torch.Tensor) -> tuple[int, int]:
    """Identify the buffer behind ``t``: ``(data_ptr of its storage, storage size in bytes)``."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"storage_key expects a torch.Tensor, got {type(t).__name__}")
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


@dataclass(frozen=True)
class SavedTensorStats:
    """What a forward pass left on the autograd graph.

    Attributes:
        saved_bytes: bytes of the distinct storages saved for backward (each buffer counted once).
        extra_bytes: ``saved_bytes`` minus the storages of the tensors declared alive anyway.
        n_saved: number of pack-hook calls (tensors saved, duplicates included).
        n_storages: number of distinct storages among them.
    """

    saved_bytes: int
    extra_bytes: int
    n_saved: int
    n_storages: int


class SavedTensorMeter:
    """Context manager that records every tensor autograd saves for backward inside its ``with`` block.

    Example::

        with SavedTensorMeter(alive=model.parameters()) as meter:
            out = model(x)
        stats = meter.stats()   # read while ``out`` (hence the graph) is alive

    Args:
        alive: tensors that exist regardless of the graph (parameters, inputs); their storages are
            counted in ``saved_bytes`` but not in ``extra_bytes``.
    """

    def __init__(self, alive: Iterable[torch.Tensor] = ()) -> None:
        alive = list(alive)
        for k, t in enumerate(alive):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"alive[{k}] must be a torch.Tensor, got {type(t).__name__}")
        self._alive_keys = {storage_key(t) for t in alive}
        self._storages: dict[tuple[int, int], int] = {}
        self._n_saved = 0
        self._hooks: torch.autograd.graph.saved_tensors_hooks | None = None

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self._n_saved += 1
        key = storage_key(t)
        self._storages[key] = key[1]
        return t

    @staticmethod
    def _unpack(t: torch.Tensor) -> torch.Tensor:
        return t

    def __enter__(self) -> SavedTensorMeter:
        if self._hooks is not None:
            raise RuntimeError("SavedTensorMeter is not re-entrant: this meter is already active")
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._hooks is not None
        self._hooks.__exit__(exc_type, exc, tb)
        self._hooks = None

    def stats(self) -> SavedTensorStats:
        """Totals so far (see the module docstring for the counting rules)."""
        total = sum(self._storages.values())
        extra = sum(n for key, n in self._storages.items() if key not in self._alive_keys)
        return SavedTensorStats(
            saved_bytes=total, extra_bytes=extra, n_saved=self._n_saved, n_storages=len(self._storages)
        )


def measured_step(
    forward: Callable[[], torch.Tensor],
    loss: Callable[[torch.Tensor], torch.Tensor],
    params: list[torch.Tensor],
    alive: Iterable[torch.Tensor],
) -> tuple[SavedTensorStats, torch.Tensor, list[torch.Tensor]]:
    """One training step with the graph's memory measured.

    Zeroes the parameters' gradients, runs ``forward`` under a :class:`SavedTensorMeter` (with
    ``alive`` the tensors that exist anyway), backpropagates ``loss(output)``, and returns the saved
    tensor statistics, the detached output and a copy of every parameter's gradient.
    """
    for p in params:
        p.grad = None
    with SavedTensorMeter(alive=alive) as meter:
        y = forward()
    loss(y).backward()
    return meter.stats(), y.detach(), [p.grad.detach().clone() for p in params]  # type: ignore[union-attr]


def time_interleaved(
    fns: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 2
) -> dict[str, tuple[float, ...]]:
    """Time several callables fairly: ``warmup`` untimed rounds, then ``repeats`` timed rounds.

    In each round every callable runs once, timed with ``time.perf_counter``; the order rotates from round
    to round so that slow drift of a shared machine (other jobs, CPU clocks) hits all of them alike and
    the first-call costs (allocation, one-off initialisation) fall in the warm-up. Returns the durations in
    seconds per name.
    """
    if not fns:
        raise ValueError("time_interleaved needs at least one callable")
    check_count("repeats", repeats, minimum=1)
    check_count("warmup", warmup, minimum=0)
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    out: dict[str, list[float]] = {name: [] for name in names}
    for rnd in range(repeats):
        shift = rnd % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            fns[name]()
            out[name].append(time.perf_counter() - t0)
    return {name: tuple(ts) for name, ts in out.items()}


def median_seconds(times: Iterable[float]) -> float:
    """Median of a non-empty collection of durations (robust to the odd slow run on a shared machine)."""
    times = list(times)
    if not times:
        raise ValueError("median_seconds needs at least one duration, got none")
    return float(statistics.median(times))


def check_count(name: str, value: object, minimum: int) -> None:
    """Raise a clear error unless ``value`` is an ``int`` (not bool) that is ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
