"""The benchmarks' correctness parts: the peers compute the same thing, the tables are well formed.

No timing is asserted anywhere. Expected values come from independent computations: closed forms,
numpy float64 re-implementations, central differences and hand-derived counts.
"""

from __future__ import annotations

import importlib
import itertools
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adlib import ReverseDiff, topological_order

pytest.importorskip("micrograd", reason="micrograd (a dev dependency) is the peer of bench_micrograd")
torch = pytest.importorskip("torch")

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

harness = importlib.import_module("_harness")
report = importlib.import_module("_report")
bm = importlib.import_module("bench_micrograd")
bt = importlib.import_module("bench_mlp_torch")
bs = importlib.import_module("bench_backward_scaling")
run_all = importlib.import_module("run_all")


# ---------------------------------------------------------------- moons data


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 300))
def test_noise_free_moons_lie_on_their_half_circles(n: int) -> None:
    X, y = bm.make_moons(n_samples=n, noise=0.0, seed=3)
    assert X.shape == (n, 2) and y.shape == (n,)
    outer, inner = X[y == -1], X[y == 1]
    assert len(outer) == n // 2 and len(inner) == n - n // 2
    # Outer moon: the upper unit half circle; inner moon: the lower unit half circle around (1, 0.5).
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-12)
    assert np.all(outer[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1.0, inner[:, 1] - 0.5), 1.0, atol=1e-12)
    assert np.all(inner[:, 1] <= 0.5 + 1e-12)


def test_moons_noise_has_the_requested_standard_deviation() -> None:
    clean, _ = bm.make_moons(n_samples=4000, noise=0.0, seed=5)
    noisy, _ = bm.make_moons(n_samples=4000, noise=0.1, seed=5)
    # Same seed, same shuffle: the difference is the noise alone, 8000 draws of N(0, 0.1^2).
    assert abs(np.std(noisy - clean) - 0.1) < 0.005
    assert abs(np.mean(noisy - clean)) < 0.005


def test_moons_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        bm.make_moons(n_samples=1)
    with pytest.raises(ValueError, match="noise"):
        bm.make_moons(noise=-0.1)


# ---------------------------------------------------------------- micrograd vs adlib


def _numpy_svm_loss(params: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """The demo's loss from a flat parameter vector in micrograd's order, in numpy float64."""
    sizes = [2, *bm.LAYER_SIZES]
    h, k = X, 0
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        block = params[k : k + n_out * (n_in + 1)].reshape(n_out, n_in + 1)  # per neuron: w..., b
        k += block.size
        h = h @ block[:, :-1].T + block[:, -1]
        if i < len(sizes) - 2:
            h = np.maximum(h, 0.0)
    scores = h[:, 0]
    return float(np.mean(np.maximum(0.0, 1.0 - y * scores)) + bm.ALPHA * np.sum(params**2))


@pytest.fixture(scope="module")
def small_setup():
    return bm.make_setup(n_samples=16)


def test_micrograd_and_adlib_agree_on_loss_and_gradients(small_setup) -> None:
    s = small_setup
    agreement = bm.check_agreement(s.micrograd, s.adlib, s.X, s.y)
    assert agreement.loss_diff <= 1e-12
    assert agreement.max_grad_diff <= 1e-12
    assert len(agreement.grads_adlib) == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1  # 337 parameters
    # Independently: the loss recomputed in numpy from the same weights.
    params = np.array([float(p.data) for p in s.micrograd.parameters()])
    expected = _numpy_svm_loss(params, np.array(s.X), np.array(s.y))
    assert agreement.loss_adlib == pytest.approx(expected, rel=1e-12)


def test_adlib_gradients_match_central_differences_of_the_numpy_loss(small_setup) -> None:
    s = small_setup
    bm.adlib_step(s.adlib, s.X, s.y)
    params = np.array([float(p.value) for p in s.adlib.parameters()])
    grads = np.array([float(p.grad) for p in s.adlib.parameters()])
    X, y = np.array(s.X), np.array(s.y)
    h = 1e-6
    for i in np.random.default_rng(0).choice(len(params), size=25, replace=False):
        e = np.zeros_like(params)
        e[i] = h
        fd = (_numpy_svm_loss(params + e, X, y) - _numpy_svm_loss(params - e, X, y)) / (2 * h)
        assert grads[i] == pytest.approx(fd, rel=1e-5, abs=1e-8), f"parameter {i}"


def test_array_mode_network_agrees_with_micrograd_and_the_numpy_loss(small_setup) -> None:
    s = small_setup
    arr = bm.AdlibArrayMLP.from_micrograd(s.micrograd)
    agreement = bm.check_array_agreement(s.micrograd, arr, s.X, s.y)
    assert agreement.loss_diff <= 1e-12 and agreement.max_grad_diff <= 1e-12
    params = np.array([float(p.data) for p in s.micrograd.parameters()])
    assert agreement.loss_adlib == pytest.approx(
        _numpy_svm_loss(params, np.array(s.X), np.array(s.y)), rel=1e-12
    )
    # flat_grads must follow micrograd's order: perturbing one bias changes exactly that entry's meaning.
    arr.biases[0].value[3] += 1e-3
    with pytest.raises(bm.BenchmarkMismatch):
        bm.check_array_agreement(s.micrograd, arr, s.X, s.y)


def test_check_agreement_notices_a_different_weight() -> None:
    s = bm.make_setup(n_samples=8)
    s.adlib.parameters()[5].value += 1e-6
    with pytest.raises(bm.BenchmarkMismatch, match="differ"):
        bm.check_agreement(s.micrograd, s.adlib, s.X, s.y)


def test_micrograd_model_leaves_global_random_state_alone() -> None:
    import random

    random.seed(42)
    expected = random.random()
    random.seed(42)
    bm.micrograd_model(seed=7)
    assert random.random() == expected


# ---------------------------------------------------------------- torch vs adlib


def test_torch_and_adlib_agree_on_the_mlp_step() -> None:
    problem = bt.make_problem(batch=8, seed=1)
    agreement = bt.check_agreement(problem)
    assert agreement.loss_rel_diff <= 1e-4
    assert max(agreement.max_rel_grad_diff) <= 1e-4
    # Independently, in float64 numpy: the loss, and dL/dW3 = H2^T (softmax(Z) - onehot) / B.
    W1, W2, W3 = (w.astype(np.float64) for w in problem.weights)
    X = problem.X.astype(np.float64)
    H2 = np.maximum(np.maximum(X @ W1, 0) @ W2, 0)
    Z = H2 @ W3
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    rows = np.arange(len(problem.labels))
    assert agreement.loss_adlib == pytest.approx(-np.mean(np.log(P[rows, problem.labels])), rel=1e-5)
    onehot = np.zeros_like(P)
    onehot[rows, problem.labels] = 1.0
    expected_g3 = H2.T @ (P - onehot) / len(rows)
    model = bt.AdlibMLP(problem.weights)
    model.step(problem.X, problem.labels, lr=0.0)
    assert model.weights[2].grad.dtype == np.float32
    np.testing.assert_allclose(model.weights[2].grad, expected_g3, rtol=1e-4, atol=1e-6)


def test_adlib_sgd_update_moves_weights_against_the_gradient() -> None:
    problem = bt.make_problem(batch=4, seed=2)
    model = bt.AdlibMLP(problem.weights)
    before = [w.value.copy() for w in model.weights]
    model.step(problem.X, problem.labels, lr=0.5)
    for w, w0 in zip(model.weights, before, strict=True):
        np.testing.assert_allclose(w.value, w0 - np.float32(0.5) * w.grad, rtol=1e-6, atol=1e-7)


def test_torch_check_agreement_notices_a_different_loss(monkeypatch) -> None:
    original = bt.AdlibMLP.loss
    monkeypatch.setattr(bt.AdlibMLP, "loss", lambda self, X, labels: original(self, X, labels) * 1.01)
    with pytest.raises(bt.BenchmarkMismatch, match="differ"):
        bt.check_agreement(bt.make_problem(batch=4))


# ---------------------------------------------------------------- backward scaling


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_chain_derivative_matches_central_differences_and_adlib(n: int) -> None:
    def forward(x: float) -> float:
        for k in range(n):
            x = math.sin(x) if k % 2 == 0 else x * bs.CHAIN_FACTOR
        return x

    h = 1e-6
    fd = (forward(0.5 + h) - forward(0.5 - h)) / (2 * h)
    assert bs.chain_derivative(n) == pytest.approx(fd, rel=1e-7)
    assert bs.check_chain(n) <= 1e-12
    _, out = bs.build_chain(n)
    assert len(topological_order(out)) == n + 1  # n operation nodes and the input


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_logistic_derivative_matches_central_differences(n: int) -> None:
    def forward(x: float) -> float:
        for _ in range(n - 1):
            x = 4 * x * (1 - x)
        return x

    h = 1e-8
    fd = (forward(0.3 + h) - forward(0.3 - h)) / (2 * h)
    assert bs.logistic_derivative(0.3, n) == pytest.approx(fd, rel=1e-5)


@pytest.mark.parametrize("n", range(2, 13))
def test_recursive_backward_walks_every_path_adlib_every_node_once(n: int) -> None:
    bs.check_logistic(n)
    bs.CountingNode.calls = 0
    bs.logistic(bs.CountingNode(0.3), n).backward(1.0)
    # By hand: C(1) = 1 (the input), and l_{k+1} = (4 l_k)(1 - l_k) calls itself, 4 l_k and 1 - l_k,
    # each of the last two calling l_k: C(k+1) = 3 + 2 C(k), so C(n) = 4 * 2^(n-1) - 3.
    assert bs.CountingNode.calls == 4 * 2 ** (n - 1) - 3
    assert len(topological_order(bs.logistic(ReverseDiff(0.3), n))) == 3 * (n - 1) + 1


def test_recursive_node_accumulates_over_several_paths() -> None:
    x = bs.RecursiveNode(3.0)
    (x * x).backward(1.0)  # d(x^2)/dx = 2x = 6; assigning instead of adding would give 3
    assert x.grad == 6.0


# ---------------------------------------------------------------- harness and tables


def test_interleaved_takes_turns_after_warmup() -> None:
    calls: list[str] = []
    times = harness.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, warmup=2)
    assert calls == ["a", "a", "b", "b", "a", "b", "a", "b", "a", "b"]
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3}
    with pytest.raises(ValueError, match="repeats"):
        harness.interleaved({"a": lambda: None}, 0)


def test_rounds_ratio_is_slow_over_fast_and_median_over_rounds() -> None:
    r = harness.Rounds(slow="m", fast="a", slow_ms=[2.0, 9.0, 4.0], fast_ms=[1.0, 3.0, 1.0])
    assert r.ratios == [2.0, 3.0, 4.0]
    assert r.median_ratio == 3.0


def test_prepared_rounds_prepare_untimed_before_every_call_and_take_turns() -> None:
    events: list[str] = []

    def prepare(key: str):
        events.append(f"prepare {key}")
        return lambda: events.append(f"call {key}")

    times = harness.prepared_rounds(
        {"a": lambda: prepare("a"), "b": lambda: prepare("b")}, rounds=2, calls_per_round={"a": 2, "b": 1}
    )
    one_round = ["prepare a", "call a", "prepare a", "call a", "prepare b", "call b"]
    assert events == one_round * 2
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 2}
    with pytest.raises(ValueError, match="rounds"):
        harness.prepared_rounds({"a": lambda: prepare("a")}, rounds=0)


def test_table_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row 0 has 1 cells but there are 2 columns"):
        report.Table(title="t", columns=["a", "b"], rows=[["x"]])


# ---------------------------------------------------------------- the quick run end to end

EXPECTED_COLUMNS = {
    "GC paused: adlib vs micrograd": [
        "round",
        "micrograd ms/step",
        "adlib ms/step",
        "speed-up (micrograd / adlib)",
    ],
    "GC on (training-loop blocks)": [
        "micrograd ms/step in GC",
        "adlib ms/step in GC",
        "speed-up (micrograd / adlib)",
    ],
    "adlib arrays vs torch": ["round", "torch ms/step", "adlib ms/step", "adlib / torch"],
    "Backward time on chains": ["nodes", "forward ns/node", "backward ns/node", "backward / forward"],
    "Logistic map": ["n", "paths 2^(n-1)", "nodes", "recursive backward ms", "adlib backward ms"],
}


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> str:
    threads = torch.get_num_threads()
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    try:
        text = run_all.run_all(quick=True, threads=1, out=out)
    finally:
        torch.set_num_threads(threads)
    assert out.read_text() == text
    return text


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    return {part.splitlines()[0]: part for part in parts[1:]}


def _section_with_columns(sections: dict[str, str], key: str, columns: list[str]) -> str:
    """The one section whose title starts with ``key``; its table has every one of ``columns``."""
    matching = [body for title, body in sections.items() if title.startswith(key)]
    assert len(matching) == 1, f"expected one section titled {key!r}, got {list(sections)}"
    header = next(line for line in matching[0].splitlines() if line.startswith("| "))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert all(column in cells for column in columns), (key, cells)
    return matching[0]


def test_quick_run_writes_every_table_with_its_columns(quick_results: str) -> None:
    sections = _sections(quick_results)
    for key, columns in EXPECTED_COLUMNS.items():
        matching = [body for title, body in sections.items() if key in title]
        assert len(matching) == 1, f"expected one section titled with {key!r}, got {list(sections)}"
        header = next(line for line in matching[0].splitlines() if line.startswith("| "))
        cells = [c.strip() for c in header.strip("|").split("|")]
        for column in columns:
            assert column in cells, f"{key}: column {column!r} missing from {cells}"
        assert re.search(r"\*\*Goal:\*\* .+ — \*\*(met|NOT met)\*\*", matching[0]), key


def test_quick_run_records_the_machine_and_the_agreement_checks(quick_results: str) -> None:
    for fact in ("CPU count", "numpy", "torch", "micrograd", "date", "torch threads", "numpy BLAS threads"):
        assert f"| {fact}" in quick_results, fact
    assert "Quick smoke run" in quick_results
    assert "Checked first: losses equal" in quick_results
    assert "Checked first: loss torch" in quick_results


EXPERIMENT_COLUMNS = {
    "Grad modes": ["mode", "saved for backward MiB", "has grad_fn"],
    "Memory-saving custom autograd.Function": ["path", "saved for backward MiB", "forward+backward ms"],
    "Gradient checkpointing": ["run", "saved for backward MiB", "activations only MiB"],
    "Vanishing gradients": ["activation", "layer 1", "input / output"],
    "Batch size": ["batch size", "training loss before", "wall time s"],
}


def test_quick_run_reports_every_experiment(quick_results: str) -> None:
    sections = _sections(quick_results)
    for key, columns in EXPERIMENT_COLUMNS.items():
        _section_with_columns(sections, key, columns)
    modes = _sections(quick_results)
    grad_modes = next(body for title, body in modes.items() if title.startswith("Grad modes"))
    rows = {line.split("|")[1].strip(): line for line in grad_modes.splitlines() if line.startswith("| ")}
    # Under no_grad and inference_mode nothing is saved for backward: the row says 0.00 MiB.
    assert "| 0.00 |" in rows["no_grad"] and "| 0.00 |" in rows["inference_mode"], rows


def test_autograde_benchmark_quick_run_grades_like_stock_nbgrader(tmp_path: Path) -> None:
    # bench_autograde refuses to time unless stock nbgrader and the engine give equal totals; the
    # key (s01) scores above every mutant (s02..s04), each caught by some test.
    ba = importlib.import_module("bench_autograde")
    timing = ba.measure(4, tmp_path)
    assert sorted(timing.totals) == ["s01", "s02", "s03", "s04"]
    assert all(timing.totals[s] < timing.totals["s01"] for s in ("s02", "s03", "s04")), timing.totals
    table = ba.autograde_table(timing)
    assert table.rows[0][0] == "4" and table.met == (timing.ratio >= 1.8)


def test_scale_benchmark_quick_run_records_like_the_per_result_path(tmp_path: Path) -> None:
    # bench_scale refuses to time unless both writers leave the same rows for the peer's students.
    bs = importlib.import_module("bench_scale")
    course, variants, bundle = bs.graded_variants(tmp_path, quick=True)
    cost = bs.page_cost(course, bundle)  # each variant graded again without and with its page
    assert (cost.submissions, cost.pages) == (3, 3) and cost.plain_seconds > 0
    assert bs.page_table(cost).rows[0][0] == "3"
    assert len(variants) == 3 and len({v.score for v in variants}) > 1  # the key and two mutants
    results = bs.the_class(variants, 12)
    assert [r.student for r in results[:2]] == ["s0001", "s0002"] and results[6].timestamp == bs.LATE
    timing = bs.measure(
        "SQLite", course, results, 8, len(variants), lambda c: f"sqlite:///{c / 'gradebook.db'}"
    )
    assert (timing.n, timing.peer_n, len(timing.round_ratios)) == (12, 8, 1)
    table = bs.scale_table([timing])
    assert table.rows[0][:2] == ["SQLite", "12"] and table.met == (timing.batched_rate >= bs.GOAL)
    # the report and feedback of the two classes the writers filled (8 and 12 students), each
    # refused unless its CSV rows and pages equal stock nbgrader's
    classes = bs.measure_classes(course, 2)
    assert [(t.task, t.students) for t in classes] == [
        ("report", 8),
        ("feedback", 8),
        ("report", 12),
        ("feedback", 12),
        ("feedback, up to date", 12),
        ("feedback, on a cluster", 12),  # refused unless every page came from a worker, unchanged
    ]
    assert [t.peer_measured_here for t in classes] == [True, True, True, False, False, False]
    assert classes[-1].jobs == 2 and classes[-1].client_cpu > 0
    table = importlib.import_module("_scale_class").class_table(classes, bs.ASSIGNMENT, 2)
    assert [row[:2] for row in table.rows] == [[t.task, str(t.students)] for t in classes]
    assert any("worker-seconds a page" in note for note in table.notes)


SCALE_SAMPLE = """# adlib benchmark results

| machine | |
|---|---|
| date | 2026-01-01 00:00 UTC |

## Recording graded results

| gradebook | results | batched results/s | peer results |
|---|---|---|---|
| SQLite | 2000 | 100 | 200 |
| PostgreSQL | 2000 | 50 | 200 |
"""


def test_sizing_reads_the_recording_rates_from_scale_results(tmp_path: Path) -> None:
    bz = importlib.import_module("bench_sizing")
    (tmp_path / "SCALE.md").write_text(SCALE_SAMPLE)
    rates, date = bz.scale_rates(tmp_path / "SCALE.md")
    assert (rates, date) == ({"SQLite": 100.0, "PostgreSQL": 50.0}, "2026-01-01 00:00 UTC")
    rates, _ = bz.scale_rates(bz.SCALE_FILE)  # the committed results: both gradebooks measured
    assert set(rates) == {"SQLite", "PostgreSQL"} and all(r > 0 for r in rates.values())
    (tmp_path / "empty.md").write_text("# nothing measured\n")
    with pytest.raises(ValueError, match="batched results/s"):
        bz.scale_rates(tmp_path / "empty.md")


SIZING_COLUMNS = {
    "Steady worker-seconds per submission": [
        "assignment",
        "steady worker-s/submission (median)",
        "vs a2_forward_mode (median of rounds)",
        "first result s",
        "bundle KiB (once per run)",
        "upload KiB/submission",
    ],
    "On paper: 2,000 students": [
        "cluster workers W (1 core each)",
        "grading minutes (worker-bound)",
        "recording minutes, SQLite (100 results/s)",
        "recording minutes, PostgreSQL (50 results/s)",
    ],
}


def _rows(section: str) -> list[list[str]]:
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[1:]]


def test_sizing_benchmark_quick_run_writes_every_table_with_its_columns(tmp_path: Path) -> None:
    # Every assignment graded in the sandbox (the key full marks, each mutant less, or no table at
    # all); the sizing table is the formula applied to the first table's figures and the given rates.
    bz = importlib.import_module("bench_sizing")
    (tmp_path / "SCALE.md").write_text(SCALE_SAMPLE)
    out = tmp_path / "SIZING.md"
    text = bz.main(["--quick", "--scale", str(tmp_path / "SCALE.md"), "--out", str(out)])
    assert out.read_text() == text and "Quick smoke run" in text
    assert "| load average 1/5/15 min at start" in text and "| load average 1/5/15 min at end" in text
    sections = _sections(text)
    found = {}
    for key, columns in SIZING_COLUMNS.items():
        found[key] = _rows(_section_with_columns(sections, key, columns))
    costs = {row[0]: row for row in found["Steady worker-seconds per submission"]}
    assert sorted(costs) == [
        "a1_numerical_symbolic",
        "a2_forward_mode",
        "a3_reverse_mode",
        "a4_linear_layer",
        "a5_pytorch_autograd",
        "a6_activations_sgd",
    ]
    assert costs["a2_forward_mode"][3] == "1.00x"
    total = sum(float(row[1]) for row in costs.values())
    sizing = found["On paper: 2,000 students"]
    assert [row[0] for row in sizing] == ["2", "16", "64", "128"]
    for workers, grading, sqlite, postgres in sizing:
        # the printed worker-s are rounded to 0.01 s (6 x 0.005 s of slack), the minutes to 0.1
        slack = 2000 * 0.03 / int(workers) / 60 + 0.05
        assert float(grading) == pytest.approx(2000 * total / int(workers) / 60, abs=slack)
        assert (sqlite, postgres) == ("2.0", "4.0")  # 12,000 / 100 and / 50 results/s, in minutes


WATCH_COLUMNS = [
    "contender",
    "submissions",
    "start-up client CPU s (once)",
    "client CPU s/submission",
    "worker CPU s/submission",
    "workers for 10/s",
    "latency p50 s",
]


def test_watch_benchmark_quick_run_finishes_every_arrival_as_autograde_scores_it(tmp_path: Path) -> None:
    # bench_watch refuses to report unless the watcher finished each arrival once, with its
    # feedback, with the score autograde gives the same submission.
    bw = importlib.import_module("bench_watch")
    out = tmp_path / "WATCH.md"
    text = bw.main(["--quick", "--out", str(out)], say=lambda line: None)
    assert out.read_text() == text and "Quick smoke run" in text
    rows = _rows(_section_with_columns(_sections(text), "adcourse watch at 10 arrivals/s", WATCH_COLUMNS))
    assert [row[:2] for row in rows] == [["adcourse watch", "6"], ["adcourse autograde --feedback", "6"]]
    assert rows[1][2] == "-" and float(rows[0][2]) > 0 and float(rows[0][3]) > 0
    assert "class of 50" in text


def test_watch_benchmark_refuses_scores_that_differ() -> None:
    bw = importlib.import_module("bench_watch")
    cost = bw.Cost(1.0, 1.0, 1.0)
    batch = bw.Run("autograde", 3, cost, {"a1": 10.0, "a2": 4.0, "a3": 10.0}, max_score=10.0)
    variant_of = {"a1": 0, "a2": 1, "a3": 0}
    bw.check_scores(bw.Run("watch", 3, cost, dict(batch.scores)), batch, variant_of, 10.0)  # agree
    with pytest.raises(bw.BenchmarkMismatch, match="scored differently"):
        bw.check_scores(bw.Run("watch", 3, cost, {**batch.scores, "a2": 5.0}), batch, variant_of, 10.0)
    with pytest.raises(bw.BenchmarkMismatch, match="copies of one variant"):
        bw.check_scores(batch, bw.Run("autograde", 3, cost, {**batch.scores, "a3": 9.0}), variant_of, 10.0)
    with pytest.raises(bw.BenchmarkMismatch, match="the answer key scored"):
        bw.check_scores(batch, batch, variant_of, 12.0)
