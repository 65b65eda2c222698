"""Gradient checkpointing: keep a few activations, recompute the rest during backward.

Reverse mode needs every layer's saved values when the backward pass reaches that layer. For a deep MLP
``a_l = relu(a_{l-1} W_l^T + b_l)``, l = 1..L, plain backprop keeps all L hidden activations (each
``batch x width`` numbers) from the forward pass until backward. ``torch.utils.checkpoint`` instead runs a
segment of layers without saving its intermediates, remembers only the segment's input, and in backward
reruns that segment's forward (with saving on) just before differentiating it. With the network cut into
``s`` segments, memory for activations drops from about ``L`` to about ``s + L/s`` activations (least at
``s ~ sqrt(L)``), for the price of about one extra forward pass of the checkpointed segments.

``checkpoint_sequential(net, s, x, use_reentrant=False)`` checkpoints the first ``s - 1`` segments and runs
the last one normally (its backward comes first, so recomputing it would gain nothing).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint_sequential

from adlib.experiments._torch_memory import check_count, measured_step, median_seconds, time_interleaved

__all__ = ["CheckpointingResult", "checkpointing_experiment", "make_deep_mlp"]


def make_deep_mlp(depth: int, width: int, seed: int = 0) -> nn.Sequential:
    """``depth`` blocks of ``Linear(width, width) -> ReLU`` as one flat ``nn.Sequential`` (2 depth modules).

    Weights ``~ N(0, 2 / width)`` (He initialisation: keeps ``E[a^2]`` constant through ReLU layers, so a
    deep stack neither vanishes nor explodes), biases zero; drawn from a private ``torch.Generator``.
    """
    check_count("depth", depth, minimum=1)
    check_count("width", width, minimum=1)
    check_count("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    mods: list[nn.Module] = []
    for _ in range(depth):
        lin = nn.Linear(width, width)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(width, width, generator=gen) * math.sqrt(2.0 / width))
            lin.bias.zero_()
        mods += [lin, nn.ReLU()]
    return nn.Sequential(*mods)


@dataclass(frozen=True)
class CheckpointingResult:
    """Plain backprop vs ``checkpoint_sequential`` on the same network and batch.

    ``bytes_*``: distinct storages saved for backward (see ``_torch_memory``), weights and input included.
    ``extra_bytes_*``: the same without the storages that are alive anyway (parameters, input batch): the
    activation memory that checkpointing is about. ``ratio`` / ``extra_ratio``: plain over checkpointed
    (> 1 means checkpointing saved memory). ``time_ratio``: checkpointed over plain median time of one
    forward+backward (> 1 is the price). ``grads_equal``: every parameter gradient bitwise equal;
    ``max_grad_diff``: the largest absolute difference.
    """

    depth: int
    width: int
    batch: int
    segments: int
    repeats: int
    bytes_plain: int
    bytes_checkpointed: int
    ratio: float
    extra_bytes_plain: int
    extra_bytes_checkpointed: int
    extra_ratio: float
    param_bytes: int
    time_plain: float
    time_checkpointed: float
    time_ratio: float
    times_plain: tuple[float, ...]
    times_checkpointed: tuple[float, ...]
    grads_equal: bool
    max_grad_diff: float
    max_output_diff: float

    def as_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of all fields."""
        return asdict(self)


def checkpointing_experiment(
    depth: int = 16,
    width: int = 1024,
    batch: int = 128,
    segments: int = 4,
    repeats: int = 5,
    seed: int = 0,
) -> CheckpointingResult:
    """Saved bytes and forward+backward time of a deep MLP with and without gradient checkpointing.

    Loss ``mean(y^2)``; the batch does not require grad. Expected saved storages (B = batch, w = width,
    L = depth, s = segments dividing L): plain keeps the L ReLU outputs (the next ``addmm`` saves the same
    tensor as its input) plus the weights of layers 2..L (the first layer's ``addmm`` needs only its input,
    since the batch needs no gradient); checkpointed keeps the s - 1 segment inputs and, for the normal last
    segment, its L/s ReLU outputs and L/s weights. The first segment input is the batch itself (alive
    anyway), so ``extra_bytes`` goes from L B w to (s - 1 + L/s) B w numbers: 16 -> 7 activations of
    512 KiB at the defaults.
    """
    for name, value, minimum in (
        ("depth", depth, 1),
        ("width", width, 1),
        ("batch", batch, 1),
        ("segments", segments, 1),
        ("repeats", repeats, 1),
        ("seed", seed, 0),
    ):
        check_count(name, value, minimum)
    if segments > depth:
        raise ValueError(
            f"segments must be <= depth (one block per segment at least), got {segments} > {depth}"
        )

    net = make_deep_mlp(depth, width, seed=seed)
    params = list(net.parameters())
    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed + 1))

    def forward_plain() -> torch.Tensor:
        return net(x)

    def forward_ckpt() -> torch.Tensor:
        return checkpoint_sequential(net, segments, x, use_reentrant=False)

    stats, outputs, grads = {}, {}, {}
    for name, fwd in (("plain", forward_plain), ("checkpointed", forward_ckpt)):
        stats[name], outputs[name], grads[name] = measured_step(
            fwd, lambda y: y.square().mean(), params, alive=[x, *params]
        )

    pairs = list(zip(grads["plain"], grads["checkpointed"], strict=True))
    grads_equal = all(torch.equal(a, b) for a, b in pairs)
    max_grad_diff = max(float((a - b).abs().max()) for a, b in pairs)
    max_output_diff = float((outputs["plain"] - outputs["checkpointed"]).abs().max())

    def step(fwd: Any) -> None:
        net.zero_grad(set_to_none=True)
        fwd().square().mean().backward()

    times = time_interleaved(
        {"plain": lambda: step(forward_plain), "checkpointed": lambda: step(forward_ckpt)}, repeats=repeats
    )
    t_plain, t_ckpt = median_seconds(times["plain"]), median_seconds(times["checkpointed"])
    sp, sc = stats["plain"], stats["checkpointed"]
    return CheckpointingResult(
        depth=depth,
        width=width,
        batch=batch,
        segments=segments,
        repeats=repeats,
        bytes_plain=sp.saved_bytes,
        bytes_checkpointed=sc.saved_bytes,
        ratio=sp.saved_bytes / sc.saved_bytes if sc.saved_bytes else math.inf,
        extra_bytes_plain=sp.extra_bytes,
        extra_bytes_checkpointed=sc.extra_bytes,
        extra_ratio=sp.extra_bytes / sc.extra_bytes if sc.extra_bytes else math.inf,
        param_bytes=sum(p.nbytes for p in params),
        time_plain=t_plain,
        time_checkpointed=t_ckpt,
        time_ratio=t_ckpt / t_plain,
        times_plain=times["plain"],
        times_checkpointed=times["checkpointed"],
        grads_equal=grads_equal,
        max_grad_diff=max_grad_diff,
        max_output_diff=max_output_diff,
    )
