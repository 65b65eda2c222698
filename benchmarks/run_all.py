"""Run every adlib benchmark and write ``benchmarks/RESULTS.md``.

Usage::

    python benchmarks/run_all.py            # full run, about a minute or two
    python benchmarks/run_all.py --quick    # smoke run, a few seconds (tiny sizes, no real numbers)
    python benchmarks/run_all.py --threads 2 --out /tmp/results.md

``--threads N`` (default 1) sets the thread count of both peers in the torch comparison: torch via
``torch.set_num_threads(N)``, numpy's OpenBLAS via ``OPENBLAS_NUM_THREADS`` (and ``OMP_NUM_THREADS``),
which OpenBLAS only reads when numpy is first imported. So this script sets the environment
*before* importing numpy; if numpy was already imported by the caller (a test, say), the BLAS count
stays what it is and the results file reports the count actually in use.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "RESULTS.md"


def set_blas_threads(threads: int) -> bool:
    """Ask OpenBLAS/OpenMP for ``threads`` threads via the environment.

    Returns ``True`` if that can still take effect (numpy not imported yet), ``False`` otherwise.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if "numpy" in sys.modules:
        return False
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    return True


def run_all(quick: bool = False, threads: int = 1, out: Path = DEFAULT_OUT) -> str:
    """Run the benchmarks and the experiments, write the markdown results to ``out`` and return its text."""
    env_applied = set_blas_threads(threads)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    # Imported here, after the environment is set: these import numpy.
    import bench_backward_scaling
    import bench_experiments
    import bench_micrograd
    import bench_mlp_torch
    import torch
    from _report import machine_info, write_results

    torch.set_num_threads(threads)
    info = machine_info()
    start = time.perf_counter()
    tables = [
        *bench_micrograd.run(quick=quick),
        *bench_mlp_torch.run(quick=quick, threads=threads),
        *bench_backward_scaling.run(quick=quick),
        *bench_experiments.run(quick=quick),
    ]
    info["threads requested (--threads)"] = str(threads) + (
        "" if env_applied else " (numpy was already imported: BLAS threads left as they were)"
    )
    info["benchmark wall time"] = f"{time.perf_counter() - start:.1f} s"
    return write_results(Path(out), tables, info, quick=quick)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Run adlib's benchmarks and write a markdown report.")
    parser.add_argument("--quick", action="store_true", help="fast smoke run (a few seconds)")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads for torch and numpy's BLAS (default 1)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    text = run_all(quick=args.quick, threads=args.threads, out=args.out)
    print(text)
    print(f"\nwritten to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
