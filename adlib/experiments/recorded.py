"""Measurements too slow for a lecture cell: taken once by a benchmark script, shipped as records.

The seed times the grad modes on its ``Net3``, ``4096 -> 8192 -> 8192 -> 8192 -> 1`` at batch 256
(:data:`~adlib.experiments.grad_modes.SEED_NET3_SIZES`). That network runs fine on a laptop CPU, but a
careful measurement of it (warm-up, several round-robin repeats per mode) takes minutes, too long
for a lecture that should run in seconds. ``benchmarks/bench_grad_modes.py`` runs
:func:`~adlib.experiments.grad_modes.grad_modes_timing` at that size and writes the result here, as
JSON beside this module (``records/grad_modes_seed.json``, package data); lecture 5 shows it with
:func:`load_grad_modes_record`.

A record holds the whole :class:`~adlib.experiments.grad_modes.GradModesResult` (every timed repeat,
the saved bytes), the machine it ran on, the date and the command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .grad_modes import GRAD_MODES, GradModesResult, ModeMeasurement

#: The folder of the shipped records.
RECORDS = Path(__file__).resolve().parent / "records"
#: The grad-mode timing of the seed's Net3, written by ``benchmarks/bench_grad_modes.py``.
GRAD_MODES_SEED_RECORD = RECORDS / "grad_modes_seed.json"
#: The seed's own numbers: one un-warmed ``time.time()`` call per mode, in seconds.
SEED_GRAD_MODE_SECONDS: dict[str, float] = {"default": 0.5174, "no_grad": 0.4768, "inference_mode": 0.4341}


@dataclass(frozen=True)
class GradModesRecord:
    """A stored grad-mode measurement: the result, and where, when and how it was taken."""

    result: GradModesResult
    machine: dict[str, str]
    command: str

    def ordering(self) -> list[str]:
        """The modes from slowest to fastest median forward time."""
        modes = self.result.modes
        return sorted(modes, key=lambda m: modes[m].median_seconds, reverse=True)


def save_grad_modes_record(
    result: GradModesResult, machine: dict[str, str], command: str, path: Path = GRAD_MODES_SEED_RECORD
) -> Path:
    """Write ``result`` with its machine and command as JSON at ``path``; return ``path``."""
    payload = {"experiment": "grad_modes_timing", "command": command, "machine": machine}
    payload["result"] = result.as_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


def load_grad_modes_record(path: Path = GRAD_MODES_SEED_RECORD) -> GradModesRecord:
    """Read a record written by :func:`save_grad_modes_record`.

    Raises:
        FileNotFoundError: no record at ``path`` (run ``python benchmarks/bench_grad_modes.py``).
        ValueError: the file is not a grad-mode record, or a mode is missing.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no grad-mode record at {path}: run python benchmarks/bench_grad_modes.py")
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if payload.get("experiment") != "grad_modes_timing":
        raise ValueError(
            f"{path} is not a grad_modes_timing record (experiment={payload.get('experiment')!r})"
        )
    raw = payload["result"]
    missing = [m for m in GRAD_MODES if m not in raw["modes"]]
    if missing:
        raise ValueError(f"{path} has no measurement for {', '.join(missing)}")
    modes = {name: ModeMeasurement(**{**m, "times": tuple(m["times"])}) for name, m in raw["modes"].items()}
    result = GradModesResult(
        sizes=tuple(raw["sizes"]),
        batch=raw["batch"],
        repeats=raw["repeats"],
        param_bytes=raw["param_bytes"],
        modes=modes,
    )
    return GradModesRecord(result=result, machine=dict(payload["machine"]), command=payload["command"])
