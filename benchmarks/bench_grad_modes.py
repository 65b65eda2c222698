"""Grad modes on the seed's Net3 (4096-8192-8192-8192-1, batch 256): default vs no_grad vs inference_mode.

The seed times one forward pass per mode with ``time.time()`` and reports 0.5174 s, 0.4768 s and
0.4341 s. This script measures the same network with :func:`adlib.experiments.grad_modes_timing`:
every mode warmed up twice, then ``--repeats`` forward passes per mode taken round-robin (so load
from other processes hits all three), medians reported, and the bytes the graph saves for backward
measured with saved-tensor hooks. It takes a few minutes on 2 cores, which is why lecture 5 does not
run it: the script writes

* ``benchmarks/GRAD_MODES.md``: the table, with the machine it ran on;
* ``adlib/experiments/records/grad_modes_seed.json``: the full result, which lecture 5 loads with
  ``adlib.experiments.load_grad_modes_record()`` and shows beside a live run at a smaller size.

The peer is the seed's own figures (the ratio columns compare each mode with default mode in the same
run). One torch thread by default (``--threads``), as in ``run_all.py``: on 2 shared cores, two threads
mostly measure contention. ``--quick`` runs a tiny network, writes only the markdown (to ``--out``)
and leaves the record alone.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch
from _report import Table, machine_info, write_results

from adlib.experiments import SEED_NET3_SIZES, grad_modes_timing
from adlib.experiments.grad_modes import GradModesResult
from adlib.experiments.recorded import (
    GRAD_MODES_SEED_RECORD,
    SEED_GRAD_MODE_SECONDS,
    save_grad_modes_record,
)

REPO = Path(__file__).resolve().parents[1]
METHOD = (
    "Written by `python benchmarks/bench_grad_modes.py`: each grad mode warmed up twice, then timed "
    "round-robin with the other modes; every figure is a median (see `benchmarks/README.md`)."
)
QUICK_SIZES = (64, 128, 128, 128, 1)


def grad_modes_table(result: GradModesResult, seed_figures: bool) -> Table:
    """The measured modes beside the seed's one-call figures (when the network is the seed's)."""
    rows = []
    for name, m in result.modes.items():
        seed = f"{1e3 * SEED_GRAD_MODE_SECONDS[name]:.1f}" if seed_figures else "-"
        seed_ratio = SEED_GRAD_MODE_SECONDS["default"] / SEED_GRAD_MODE_SECONDS[name]
        rows.append(
            [
                name,
                f"{1e3 * m.median_seconds:.1f}",
                f"{1e3 * min(m.times):.1f} - {1e3 * max(m.times):.1f}",
                f"{result.speedup(name):.3f}",
                seed,
                f"{seed_ratio:.3f}" if seed_figures else "-",
                f"{m.extra_bytes / 2**20:.2f}",
            ]
        )
    ordering = sorted(result.modes, key=lambda m: result.modes[m].median_seconds, reverse=True)
    return Table(
        f"Grad modes: one forward pass of a {'-'.join(map(str, result.sizes))} network, batch {result.batch}",
        [
            "mode",
            "median ms",
            "range ms",
            "default / mode",
            "seed ms (one call)",
            "seed default / mode",
            "graph-only MiB saved",
        ],
        rows,
        notes=[
            f"{result.repeats} timed repeats per mode; "
            f"{result.param_bytes / 2**20:.0f} MiB of float32 weights.",
            "Slowest to fastest here: " + " > ".join(ordering) + "; the seed's order is "
            "default > no_grad > inference_mode.",
            "Memory is the robust difference: default mode keeps every hidden activation for backward, "
            "no_grad and inference_mode keep nothing.",
        ],
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: ``[--quick] [--repeats N] [--out FILE] [--record FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny network: a smoke run, not a measurement")
    parser.add_argument("--repeats", type=int, default=15, help="timed forward passes per mode (default 15)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: the kit's 2 cores are shared)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "GRAD_MODES.md")
    parser.add_argument(
        "--record", type=Path, default=GRAD_MODES_SEED_RECORD, help="where the JSON record goes"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error(f"--repeats and --threads must be at least 1, got {args.repeats} and {args.threads}")
    torch.set_num_threads(args.threads)
    sizes = QUICK_SIZES if args.quick else SEED_NET3_SIZES
    info = machine_info()
    result = grad_modes_timing(
        sizes=sizes, batch=32 if args.quick else 256, repeats=2 if args.quick else args.repeats
    )
    table = grad_modes_table(result, seed_figures=not args.quick)
    print(write_results(args.out, [table], info, args.quick, METHOD))
    if not args.quick:
        command = "python benchmarks/bench_grad_modes.py " + shlex.join(
            sys.argv[1:] if argv is None else argv
        )
        print(f"record: {save_grad_modes_record(result, info, command.strip(), args.record)}")


if __name__ == "__main__":
    main()
