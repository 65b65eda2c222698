"""The tests marked ``slow``, and why: each needs minutes of both cores, or a server.

``bash kit.sh test -m "not slow"`` is the fast inner loop; plain ``bash kit.sh test`` runs
everything. An entry is a whole module (``test_x.py``) or one test function of it, with all its
parameters (``test_x.py::test_y``); ``tests/conftest.py`` adds the marker, and
``tests/test_slow_marker.py`` checks that every entry still names a module and function.
"""

from __future__ import annotations

SLOW = {
    "test_postgres.py": "a PostgreSQL server, the class graded into it",
    "test_writer.py::test_batches_write_the_rows_nbgrader_writes_on_postgresql": "a PostgreSQL server",
    "test_cluster.py": "a Dask cluster of worker processes",
    "test_feedback.py::test_a_cluster_s_workers_make_stock_nbgrader_s_pages": "a Dask cluster",
    "test_feedback.py::test_a_page_the_cluster_made_from_other_entries_is_made_here": "a Dask cluster",
    "test_feedback.py::test_adcourse_feedback_on_a_cluster_says_who_made_the_pages": "a Dask cluster",
    "test_sandbox.py": "every fault of the sandbox corpus, graded in bubblewrap",
    "test_browser.py": "headless Chromium against a real JupyterLab",
    "test_lectures.py": "every lecture executed top to bottom",
    "test_assignments.py": "the proof of every assignment's tests (key, blank, mutants)",
    "test_check_harness.py": "the assignment proof on a toy course, one grading per mutant",
    "test_a1_alternatives.py": "a1's correct alternatives and one-task slips, graded",
    "test_a3_alternatives.py": "a3's correct alternatives and one-task slips, graded",
    "test_a4_alternatives.py": "a4's correct alternatives and one-task slips, graded",
    "test_a6_alternatives.py": "a6's correct alternatives and one-task slips, graded",
    "test_adcourse.py::test_check": "adcourse check on a toy course, one grading per mutant",
    # The course demo (adcourse demo); tests/test_demo.py, adlib's worked examples, takes seconds.
    "test_adcourse.py::test_demo_on_one_real_assignment": "the demo's class graded on a real assignment",
    "test_benchmarks.py::test_autograde_benchmark_quick_run_grades_like_stock_nbgrader": "a timed grading",
    "test_benchmarks.py::test_watch_benchmark_quick_run_finishes_every_arrival_as_autograde_scores_it": (
        "a watched class graded as submissions arrive, then by autograde"
    ),
    "test_benchmarks.py::test_scale_benchmark_quick_run_records_like_the_per_result_path": "a2 graded",
    "test_benchmarks.py::test_quick_run_writes_every_table_with_its_columns": "all benchmarks, quick",
    "test_benchmarks.py::test_quick_run_records_the_machine_and_the_agreement_checks": "benchmarks, quick",
    "test_benchmarks.py::test_quick_run_reports_every_experiment": "all benchmarks, quick",
    "test_benchmarks.py::test_sizing_benchmark_quick_run_writes_every_table_with_its_columns": (
        "all six assignments graded in the sandbox"
    ),
    "test_integrity_engine.py": "the tamper corpus graded end to end (test_integrity.py: the fast checks)",
    # The engine against stock nbgrader: each grades the class twice, once by nbgrader itself.
    "test_engine_config.py": "stock nbgrader and the engine, under three course configs",
    "test_engine_structure.py": "stock nbgrader and the engine, on every structural fault",
    "test_engine.py::test_stock_nbgrader_gives_the_hand_worked_scores": "stock nbgrader grades the class",
    "test_engine.py::test_engine_grades_exactly_like_stock_nbgrader": "stock nbgrader grades the class",
    "test_engine.py::test_engine_totals_match_stock_nbgrader_totals": "stock nbgrader grades the class",
    "test_attacks.py": "the attack corpus graded in sandboxes, with feedback",
    "test_sandbox_limits.py": "forking allocators, disk fillers and CPU spreaders in sandboxes",
    "test_browser_lectures.py": "headless Chromium on every lecture page and deck",
    "test_watch.py::test_sigterm_finishes_the_batch_and_a_restart_grades_the_rest": "two adcourse watch runs",
}


def is_slow(module: str, function: str) -> bool:
    """Whether the test ``function`` of the file ``module`` (``test_x.py``) is marked ``slow``."""
    return module in SLOW or f"{module}::{function}" in SLOW
