"""The recorded seed-size grad-mode timing: the shipped record, its round trip, and the benchmark script.

The shipped record must describe the seed's Net3 (4096-8192-8192-8192-1, batch 256, from seed
001): its saved bytes are checked against a hand count (three hidden ReLU outputs of 256 x 8192
float32 numbers in default mode, nothing otherwise). No timing is asserted anywhere.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from adlib.experiments import GRAD_MODES, SEED_NET3_SIZES, grad_modes_timing
from adlib.experiments.recorded import (
    GRAD_MODES_SEED_RECORD,
    SEED_GRAD_MODE_SECONDS,
    load_grad_modes_record,
    save_grad_modes_record,
)

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))


def test_the_shipped_record_is_the_seed_network() -> None:
    record = load_grad_modes_record()
    result = record.result
    assert result.sizes == SEED_NET3_SIZES == (4096, 8192, 8192, 8192, 1)
    assert result.batch == 256
    assert result.param_bytes == 4 * (4096 * 8192 + 8192 * 8192 + 8192 * 8192 + 8192 * 1)
    assert set(result.modes) == set(GRAD_MODES)
    assert result.modes["default"].extra_bytes == 3 * 256 * 8192 * 4
    assert result.modes["no_grad"].saved_bytes == result.modes["inference_mode"].saved_bytes == 0
    assert result.modes["default"].has_grad_fn and not result.modes["no_grad"].has_grad_fn
    assert result.modes["inference_mode"].is_inference
    for m in result.modes.values():
        assert len(m.times) == result.repeats and min(m.times) <= m.median_seconds <= max(m.times)
    assert record.command.startswith("python benchmarks/bench_grad_modes.py")
    assert {"date", "CPU", "load average 1/5/15 min at start"} <= set(record.machine)
    assert sorted(record.ordering()) == sorted(GRAD_MODES)


def test_the_seed_figures_are_the_decks() -> None:
    # Seed 001, "Compare different modes": 0.5174, 0.4768 and 0.4341 seconds.
    assert SEED_GRAD_MODE_SECONDS == {"default": 0.5174, "no_grad": 0.4768, "inference_mode": 0.4341}


def test_a_record_round_trips(tmp_path: Path) -> None:
    result = grad_modes_timing(sizes=(8, 16, 4, 1), batch=3, repeats=2)
    path = save_grad_modes_record(result, {"date": "today"}, "cmd", tmp_path / "r.json")
    back = load_grad_modes_record(path)
    assert back.result == result
    assert (back.machine, back.command) == ({"date": "today"}, "cmd")
    assert back.ordering() == sorted(result.modes, key=lambda m: -result.modes[m].median_seconds)


def test_a_missing_or_foreign_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"run python benchmarks/bench_grad_modes\.py"):
        load_grad_modes_record(tmp_path / "none.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"experiment": "something else"}))
    with pytest.raises(ValueError, match="not a grad_modes_timing record"):
        load_grad_modes_record(other)
    payload = json.loads(GRAD_MODES_SEED_RECORD.read_text())
    del payload["result"]["modes"]["no_grad"]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="no measurement for no_grad"):
        load_grad_modes_record(partial)


def test_the_benchmark_writes_its_table_and_leaves_the_record_alone_when_quick(tmp_path: Path) -> None:
    bench = importlib.import_module("bench_grad_modes")
    before = GRAD_MODES_SEED_RECORD.read_bytes()
    out = tmp_path / "GRAD_MODES.md"
    bench.main(["--quick", "--out", str(out), "--record", str(tmp_path / "r.json")])
    text = out.read_text()
    assert "Quick smoke run" in text
    assert "64-128-128-128-1 network, batch 32" in text
    assert all(f"| {mode} |" in text for mode in GRAD_MODES)
    assert not (tmp_path / "r.json").exists()
    assert GRAD_MODES_SEED_RECORD.read_bytes() == before


def test_the_benchmark_refuses_bad_counts() -> None:
    bench = importlib.import_module("bench_grad_modes")
    with pytest.raises(SystemExit):
        bench.main(["--quick", "--repeats", "0"])
