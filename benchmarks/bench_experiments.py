"""The lecture experiments' measured numbers, as tables for RESULTS.md.

Not speed races: each table reports what the experiment measures on this machine (memory saved
for backward, time ratios, gradient norms, losses), next to the seed's claim where it makes one.
"""

from __future__ import annotations

from _report import Table

import adlib.experiments as ex


def _mib(n: int) -> str:
    return f"{n / 2**20:.2f}"


def grad_modes_table(quick: bool) -> Table:
    sizes = (64, 128, 128, 1) if quick else (256, 512, 512, 512, 1)
    result = ex.grad_modes_timing(sizes=sizes, batch=64 if quick else 256, repeats=3 if quick else 20)
    rows = [
        [
            m.mode,
            f"{m.median_seconds * 1e3:.2f}",
            _mib(m.saved_bytes),
            str(m.has_grad_fn),
            str(m.is_inference),
        ]
        for m in result.modes.values()
    ]
    return Table(
        f"Grad modes: forward of a {'-'.join(map(str, sizes))} network, batch {result.batch}",
        ["mode", "forward ms (median)", "saved for backward MiB", "has grad_fn", "inference tensor"],
        rows,
        notes=[
            "The seed times Net3 (4096-8192-8192-8192-1) once each; this is a CPU-sized version. "
            "The lesson is memory: no_grad and inference_mode save nothing for backward."
        ],
    )


def quaternion_table(quick: bool) -> Table:
    r = ex.quaternion_memory_experiment(
        batch=8 if quick else 64,
        features=64 if quick else 512,
        layers=2 if quick else 4,
        repeats=2 if quick else 10,
    )
    return Table(
        f"Memory-saving custom autograd.Function: quaternion linear, {r.layers} layers of {r.features}, "
        f"batch {r.batch}",
        ["path", "saved for backward MiB", "graph-only MiB", "forward+backward ms"],
        [
            [
                "default autograd",
                _mib(r.bytes_default),
                _mib(r.extra_bytes_default),
                f"{r.time_default * 1e3:.2f}",
            ],
            [
                "custom Function",
                _mib(r.bytes_custom),
                _mib(r.extra_bytes_custom),
                f"{r.time_custom * 1e3:.2f}",
            ],
            [
                "default / custom",
                f"{r.ratio:.2f}x",
                f"{r.extra_ratio:.2f}x",
                f"time custom/default {r.time_ratio:.2f}",
            ],
        ],
        notes=[
            "The seed claims 2-3x less memory for about 20% more time. Saved bytes are counted with "
            "torch.autograd.graph.saved_tensors_hooks, each storage once; gradcheck passes in float64 "
            "(tests).",
        ],
    )


def checkpointing_table(quick: bool) -> Table:
    r = ex.checkpointing_experiment(
        depth=8 if quick else 16,
        width=128 if quick else 1024,
        batch=16 if quick else 128,
        segments=2 if quick else 4,
        repeats=2 if quick else 5,
    )
    return Table(
        f"Gradient checkpointing: MLP depth {r.depth}, width {r.width}, batch {r.batch}, "
        f"{r.segments} segments",
        ["run", "saved for backward MiB", "activations only MiB", "forward+backward ms"],
        [
            ["plain", _mib(r.bytes_plain), _mib(r.extra_bytes_plain), f"{r.time_plain * 1e3:.1f}"],
            [
                "checkpointed",
                _mib(r.bytes_checkpointed),
                _mib(r.extra_bytes_checkpointed),
                f"{r.time_checkpointed * 1e3:.1f}",
            ],
            [
                "plain / checkpointed",
                f"{r.ratio:.2f}x",
                f"{r.extra_ratio:.2f}x",
                f"time ratio {r.time_ratio:.2f}",
            ],
        ],
        notes=[f"Gradients equal with and without checkpointing: {r.grads_equal}."],
    )


def vanishing_table(quick: bool) -> Table:
    results = ex.compare_activations(n_samples=8 if quick else 16)
    rows = []
    for name, r in results.items():
        norms = r.grad_norms
        rows.append([name, *(f"{n:.2e}" for n in norms), f"{norms[0] / norms[-1]:.3g}"])
    depth = len(next(iter(results.values())).grad_norms)
    return Table(
        "Vanishing gradients (the seed's Figure 5): gradient norm per layer, input layer first",
        ["activation", *(f"layer {i + 1}" for i in range(depth)), "input / output"],
        rows,
        notes=["5 hidden layers, weights U[-0.5, 0.5], cross-entropy on a few digits, seed 0."],
    )


def batch_size_table(quick: bool) -> Table:
    r = ex.batch_size_experiment(
        batch_sizes=(8, 64) if quick else (8, 32, 128, 512), epochs=2 if quick else 10
    )
    rows = []
    for m in r.batch_sizes:
        h = r.histories[m]
        rows.append(
            [str(m), f"{h.initial_train_loss:.3f}", f"{h.train_loss[-1]:.3f}", f"{sum(h.epoch_seconds):.2f}"]
        )
    return Table(
        f"Batch size: MLP on the digits, {r.epochs} epochs, lr {r.lr}",
        ["batch size", "training loss before", f"after epoch {r.epochs}", "wall time s"],
        rows,
        notes=["Smaller batches take more, noisier steps per epoch; larger ones fewer, cheaper per sample."],
    )


def run(quick: bool = False) -> list[Table]:
    """Every experiment table."""
    return [
        grad_modes_table(quick),
        quaternion_table(quick),
        checkpointing_table(quick),
        vanishing_table(quick),
        batch_size_table(quick),
    ]
