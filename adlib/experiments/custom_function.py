"""Why AD internals matter: a custom ``torch.autograd.Function`` that trades compute for memory.

The quaternion linear layer
---------------------------
A quaternion layer with ``n_in = 4 a`` inputs and ``n_out = 4 b`` outputs owns four component matrices
``r, i, j, k`` of shape ``(a, b)`` and multiplies by the real ``(n_in, n_out)`` matrix of the Hamilton
product, built from 16 blocks (block row p, block column q; the input is split ``x = [x_r, x_i, x_j, x_k]``)::

            q=0   q=1   q=2   q=3
    p=0  [   r     i     j     k ]
    p=1  [  -i     r     k    -j ]
    p=2  [  -j    -k     r     i ]
    p=3  [  -k     j    -i     r ]

so ``y = x W`` gives ``y_r = x_r r - x_i i - x_j j - x_k k``, ``y_i = x_r i + x_i r - x_j k + x_k j``,
and so on: the Hamilton product ``w ⊗ x`` with ``w = r + i·i + j·j + k·k`` acting block-wise. Every
component appears once in every block row and once in every block column, with the signs above
(``HAMILTON_BLOCKS``).

Two ways to differentiate it
----------------------------
*Default path* (``quaternion_linear_autograd``): build ``W`` with ``torch.neg`` / ``torch.cat`` and compute
``x @ W``. Autograd's matmul node saves both factors, so the graph keeps the big ``W`` (16 a b numbers)
alive until backward although it is a cheap function of the 4 a b numbers in ``r, i, j, k``.

*Custom path* (``QuaternionLinearFunction``): forward saves only ``x`` and the four components; backward
rebuilds ``W`` and applies the VJPs of ``Y = X W`` (with ``G = dL/dY``)::

    dL/dX = G W^T,            dL/dW = X^T G            (an (n_in, n_out) matrix of 16 blocks D_pq)
    dL/dc = sum over the four blocks (p, q) that hold component c of  sign_pq * D_pq

(the chain rule through the assembly map: ``W_pq = sign_pq * c_pq`` so ``dL/dc`` collects ``sign * D_pq``
from each block where ``c`` appears), and ``dL/db = sum over rows of G`` for the optional bias.

The seed lecture claims this cut VRAM two- to three-fold for about 20 % more training time; measure it with
``quaternion_memory_experiment`` below (saved-tensor hooks for bytes, ``time.perf_counter`` for time).
(The seed's slides also say "4x" and "24 GB to 6-8 GB" for the same change, i.e. 3-4x, and call the layer
a "ComplexLinear" transformation; it is the quaternion one. The measured ratio depends on batch size and
depth, see ``quaternion_memory_experiment``.)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from adlib.experiments._torch_memory import check_count, measured_step, median_seconds, time_interleaved

__all__ = [
    "HAMILTON_BLOCKS",
    "QuaternionLinear",
    "QuaternionLinearFunction",
    "QuaternionMemoryResult",
    "assemble_quaternion_weight",
    "quaternion_linear_autograd",
    "quaternion_memory_experiment",
    "reduce_quaternion_grad",
]

#: ``HAMILTON_BLOCKS[p][q] = (component, sign)``: block (p, q) of ``W`` is ``sign * [r, i, j, k][component]``.
HAMILTON_BLOCKS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, +1), (1, +1), (2, +1), (3, +1)),
    ((1, -1), (0, +1), (3, +1), (2, -1)),
    ((2, -1), (3, -1), (0, +1), (1, +1)),
    ((3, -1), (2, +1), (1, -1), (0, +1)),
)

BlockTable = tuple[tuple[tuple[int, int], ...], ...]


def _check_components(components: tuple[torch.Tensor, ...]) -> None:
    """Four tensors, 2-D, one shape, one dtype, one device; otherwise a clear error."""
    if len(components) != 4:
        raise ValueError(f"expected 4 quaternion components (r, i, j, k), got {len(components)}")
    names = "rijk"
    for name, c in zip(names, components, strict=True):
        if not isinstance(c, torch.Tensor):
            raise TypeError(f"component {name} must be a torch.Tensor, got {type(c).__name__}")
        if c.dim() != 2:
            raise ValueError(f"component {name} must be 2-D (in/4, out/4), got shape {tuple(c.shape)}")
    shape, dtype, device = components[0].shape, components[0].dtype, components[0].device
    for name, c in zip(names[1:], components[1:], strict=True):
        if c.shape != shape:
            raise ValueError(
                f"all components must share one shape; r has {tuple(shape)} but {name} has {tuple(c.shape)}"
            )
        if c.dtype != dtype or c.device != device:
            raise ValueError(
                f"all components must share dtype and device; r is {dtype} on {device}, "
                f"{name} is {c.dtype} on {c.device}"
            )


def _check_table(table: BlockTable) -> None:
    if len(table) != 4 or any(len(row) != 4 for row in table):
        raise ValueError("a block table must be 4 x 4")
    for row in table:
        for comp, sign in row:
            if comp not in (0, 1, 2, 3) or sign not in (-1, 1):
                raise ValueError(f"block entries must be (component in 0..3, sign ±1), got {(comp, sign)}")


def assemble_quaternion_weight(
    r: torch.Tensor,
    i: torch.Tensor,
    j: torch.Tensor,
    k: torch.Tensor,
    table: BlockTable = HAMILTON_BLOCKS,
) -> torch.Tensor:
    """Build the real ``(4a, 4b)`` matrix ``W`` from the ``(a, b)`` components (block layout: module doc).

    Uses only differentiable torch ops (``neg``, ``cat``), so autograd can trace it.
    """
    comps = (r, i, j, k)
    _check_components(comps)
    _check_table(table)
    rows = [torch.cat([comps[c] if s > 0 else -comps[c] for c, s in row], dim=1) for row in table]
    return torch.cat(rows, dim=0)


def reduce_quaternion_grad(
    grad_w: torch.Tensor, table: BlockTable = HAMILTON_BLOCKS
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pull ``dL/dW`` (shape ``(4a, 4b)``) back to the components.

    ``dL/dc = sum over blocks (p, q) holding c of sign_pq * D_pq``, where ``D_pq`` is block (p, q) of
    ``grad_w`` and ``(c, sign_pq) = table[p][q]``.
    """
    if not isinstance(grad_w, torch.Tensor) or grad_w.dim() != 2:
        raise ValueError("grad_w must be a 2-D torch.Tensor")
    n_in, n_out = grad_w.shape
    if n_in % 4 or n_out % 4:
        raise ValueError(f"grad_w must have both dimensions divisible by 4, got shape {(n_in, n_out)}")
    _check_table(table)
    a, b = n_in // 4, n_out // 4
    out: list[torch.Tensor | None] = [None, None, None, None]
    for p, row in enumerate(table):
        for q, (c, s) in enumerate(row):
            block = grad_w[p * a : (p + 1) * a, q * b : (q + 1) * b]
            term = block if s > 0 else -block
            out[c] = term if out[c] is None else out[c] + term
    if any(o is None for o in out):
        raise ValueError("the block table must use every component r, i, j, k at least once")
    return out[0], out[1], out[2], out[3]  # type: ignore[return-value]


def _check_input(x: torch.Tensor, r: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 1 or x.shape[-1] != 4 * r.shape[0]:
        raise ValueError(
            f"x must have shape (..., {4 * r.shape[0]}) to match components of shape {tuple(r.shape)}, "
            f"got {tuple(x.shape)}"
        )
    if x.dtype != r.dtype or x.device != r.device:
        raise ValueError(f"x is {x.dtype} on {x.device} but the weights are {r.dtype} on {r.device}")


def _check_bias(bias: torch.Tensor | None, r: torch.Tensor) -> None:
    if bias is None:
        return
    if not isinstance(bias, torch.Tensor):
        raise TypeError(f"bias must be a torch.Tensor or None, got {type(bias).__name__}")
    if bias.shape != (4 * r.shape[1],):
        raise ValueError(f"bias must have shape ({4 * r.shape[1]},), got {tuple(bias.shape)}")


def quaternion_linear_autograd(
    x: torch.Tensor,
    r: torch.Tensor,
    i: torch.Tensor,
    j: torch.Tensor,
    k: torch.Tensor,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Default path: ``x @ W + bias`` with ``W`` assembled by torch ops; autograd saves ``x`` and ``W``."""
    _check_components((r, i, j, k))
    _check_input(x, r)
    _check_bias(bias, r)
    out = x @ assemble_quaternion_weight(r, i, j, k)
    return out if bias is None else out + bias


class QuaternionLinearFunction(torch.autograd.Function):
    """Memory-lean quaternion linear map: saves ``x, r, i, j, k`` (not ``W``) and rebuilds ``W`` in backward.

    ``QuaternionLinearFunction.apply(x, r, i, j, k, bias)`` with ``x`` of shape ``(..., 4a)``, components
    of shape ``(a, b)`` and ``bias`` of shape ``(4b,)`` or ``None``; returns ``x W + bias`` with shape
    ``(..., 4b)``.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        r: torch.Tensor,
        i: torch.Tensor,
        j: torch.Tensor,
        k: torch.Tensor,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        _check_components((r, i, j, k))
        _check_input(x, r)
        _check_bias(bias, r)
        ctx.save_for_backward(x, r, i, j, k)
        ctx.has_bias = bias is not None
        w = assemble_quaternion_weight(r, i, j, k)  # a temporary: freed when forward returns
        out = x @ w
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, r, i, j, k = ctx.saved_tensors
        need_x, need_r, need_i, need_j, need_k, need_b = ctx.needs_input_grad
        n_in, n_out = x.shape[-1], grad_out.shape[-1]
        g2 = grad_out.reshape(-1, n_out)
        grad_x = grad_r = grad_i = grad_j = grad_k = grad_b = None
        if need_x:
            w = assemble_quaternion_weight(r, i, j, k)  # recomputed: the price of not saving it
            grad_x = (g2 @ w.T).reshape(x.shape)
        if need_r or need_i or need_j or need_k:
            grad_w = x.reshape(-1, n_in).T @ g2
            grad_r, grad_i, grad_j, grad_k = reduce_quaternion_grad(grad_w)
        if need_b and ctx.has_bias:
            grad_b = g2.sum(dim=0)
        return grad_x, grad_r, grad_i, grad_j, grad_k, grad_b


class QuaternionLinear(nn.Module):
    """Quaternion linear layer ``y = x W + b`` with ``W`` the Hamilton block matrix of ``r, i, j, k``.

    Args:
        in_features, out_features: real sizes, both divisible by 4.
        bias: add a learnable bias of shape ``(out_features,)``.
        memory_efficient: use ``QuaternionLinearFunction`` (saves only the components) instead of the
            default autograd path (saves the assembled ``W``). Both compute the same numbers.
        generator: optional ``torch.Generator`` for the initialisation (the global RNG is left alone).
        dtype: parameter dtype.

    Initialisation: each component ``~ N(0, 1 / in_features)`` so that ``Var(y_m) = 1`` for unit-variance
    inputs (every output sums ``in_features`` products), and the bias starts at zero.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        memory_efficient: bool = True,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_count("in_features", in_features, minimum=4)
        check_count("out_features", out_features, minimum=4)
        if in_features % 4 or out_features % 4:
            raise ValueError(
                f"in_features and out_features must be divisible by 4, got {in_features} and {out_features}"
            )
        self.in_features, self.out_features = in_features, out_features
        self.memory_efficient = bool(memory_efficient)
        a, b = in_features // 4, out_features // 4
        std = 1.0 / math.sqrt(in_features)
        for name in "rijk":
            init = torch.randn(a, b, generator=generator, dtype=dtype) * std
            setattr(self, name, nn.Parameter(init))
        if bias:
            self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        comps = (self.r, self.i, self.j, self.k)
        if self.memory_efficient:
            return QuaternionLinearFunction.apply(x, *comps, self.bias)
        return quaternion_linear_autograd(x, *comps, self.bias)

    def assembled_weight(self) -> torch.Tensor:
        """The assembled ``(in_features, out_features)`` matrix ``W`` (for inspection)."""
        return assemble_quaternion_weight(self.r, self.i, self.j, self.k)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, memory_efficient={self.memory_efficient}"
        )


@dataclass(frozen=True)
class QuaternionMemoryResult:
    """Default autograd path vs ``QuaternionLinearFunction`` on the same stack of quaternion layers.

    ``bytes_*``: distinct storages saved for backward (parameters and input included).
    ``extra_bytes_*``: the same without parameter/input storages (memory that exists only for backward).
    ``ratio = bytes_default / bytes_custom`` (memory saved, > 1 is better) and
    ``time_ratio = time_custom / time_default`` (slow-down of forward+backward; the seed says about 1.2).
    Times are medians in seconds. ``max_output_diff`` / ``max_grad_diff``: largest absolute difference
    between the two paths (they must agree up to float rounding).
    """

    batch: int
    features: int
    layers: int
    repeats: int
    bytes_default: int
    bytes_custom: int
    ratio: float
    extra_bytes_default: int
    extra_bytes_custom: int
    extra_ratio: float
    param_bytes: int
    time_default: float
    time_custom: float
    time_ratio: float
    times_default: tuple[float, ...]
    times_custom: tuple[float, ...]
    max_output_diff: float
    max_grad_diff: float

    @property
    def best_time_ratio(self) -> float:
        """``min(times_custom) / min(times_default)``: less sensitive to a busy machine than the medians."""
        return min(self.times_custom) / min(self.times_default)

    def as_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of all fields."""
        return asdict(self)


def _quaternion_stack(features: int, layers: int, memory_efficient: bool, seed: int) -> nn.Sequential:
    gen = torch.Generator().manual_seed(seed)
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods.append(QuaternionLinear(features, features, memory_efficient=memory_efficient, generator=gen))
        mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def quaternion_memory_experiment(
    batch: int = 64, features: int = 512, layers: int = 4, repeats: int = 10, seed: int = 0
) -> QuaternionMemoryResult:
    """Measure saved-for-backward bytes and forward+backward time, default path vs custom Function.

    The seed claims the custom backward cuts (GPU) memory two- to three-fold for about 20 % more time;
    measure with ``SavedTensorMeter`` (saved-tensor hooks, one count per storage, see ``_torch_memory``)
    and ``time.perf_counter`` medians. Both networks are ``layers`` x (QuaternionLinear(features, features)
    -> ReLU) with identical weights; the loss is ``sum(y**2) / 2``.

    Expected saved bytes (float32, so 4 bytes a number; B = batch, n = features, L = layers): every ReLU
    saves its output, which is also the next layer's input (one storage), so activations cost (L + 1) B n
    numbers on both paths, the input batch included. On top, the default path saves the assembled ``W``
    (n^2 numbers) of every layer but the first (the input batch needs no gradient, so the first matmul
    keeps only its input), and the custom path saves the four components of every layer (n^2 / 4 numbers,
    parameters that exist anyway). The ratio is ((L+1) B n + (L-1) n^2) / ((L+1) B n + L n^2 / 4), 2.23 at
    the defaults, tending to 4 (L-1) / L when n >> B. Leaving out what is alive anyway (parameters, input),
    the graph's own memory shrinks from L B n + (L-1) n^2 to L B n numbers: ``extra_ratio`` (7 here).
    The seed's 2-3x is for whole-GPU memory in a training run, where weights, optimiser state and other
    layers dilute the saving; its ~20 % slow-down comes from rebuilding ``W`` in backward.
    """
    for name, value, minimum in (
        ("batch", batch, 1),
        ("features", features, 4),
        ("layers", layers, 1),
        ("repeats", repeats, 1),
        ("seed", seed, 0),
    ):
        check_count(name, value, minimum)
    if features % 4:
        raise ValueError(f"features must be divisible by 4, got {features}")

    nets = {
        flag: _quaternion_stack(features, layers, memory_efficient=flag, seed=seed) for flag in (False, True)
    }
    x = torch.randn(batch, features, generator=torch.Generator().manual_seed(seed + 1))
    params = {flag: list(net.parameters()) for flag, net in nets.items()}
    param_bytes = sum(p.nbytes for p in params[False])

    saved: dict[bool, Any] = {}
    outputs: dict[bool, torch.Tensor] = {}
    grads: dict[bool, list[torch.Tensor]] = {}
    for flag, net in nets.items():
        saved[flag], outputs[flag], grads[flag] = measured_step(
            lambda net=net: net(x), lambda y: 0.5 * y.square().sum(), params[flag], alive=[x, *params[flag]]
        )

    max_output_diff = float((outputs[False] - outputs[True]).abs().max())
    max_grad_diff = max(float((a - b).abs().max()) for a, b in zip(grads[False], grads[True], strict=True))

    def step(net: nn.Sequential) -> None:
        net.zero_grad(set_to_none=True)
        (0.5 * net(x).square().sum()).backward()

    times = time_interleaved(
        {"default": lambda: step(nets[False]), "custom": lambda: step(nets[True])}, repeats=repeats
    )
    times_default, times_custom = times["default"], times["custom"]

    t_def, t_cus = median_seconds(times_default), median_seconds(times_custom)
    return QuaternionMemoryResult(
        batch=batch,
        features=features,
        layers=layers,
        repeats=repeats,
        bytes_default=saved[False].saved_bytes,
        bytes_custom=saved[True].saved_bytes,
        ratio=saved[False].saved_bytes / saved[True].saved_bytes,
        extra_bytes_default=saved[False].extra_bytes,
        extra_bytes_custom=saved[True].extra_bytes,
        extra_ratio=_safe_ratio(saved[False].extra_bytes, saved[True].extra_bytes),
        param_bytes=param_bytes,
        time_default=t_def,
        time_custom=t_cus,
        time_ratio=t_cus / t_def,
        times_default=times_default,
        times_custom=times_custom,
        max_output_diff=max_output_diff,
        max_grad_diff=max_grad_diff,
    )


def _safe_ratio(num: int, den: int) -> float:
    """``num / den``, or ``inf`` when only the denominator is 0 (and ``nan`` for 0 / 0)."""
    if den == 0:
        return math.nan if num == 0 else math.inf
    return num / den
