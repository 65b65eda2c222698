"""The grader's side of trusted grading, from plain data: parsing, comparing, deciding, writing verdicts.

No kernel runs here: observation streams are built by hand (honest ones with adlib.grading's own
encoder, hostile ones of every shape), and the verdicts are worked out by hand.
"""

from __future__ import annotations

import base64

import nbformat
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adlib.grading.values import Num, ObservationError, compare, decode, encode
from autograder.engine.observations import (
    MAX_BYTES_PER_CELL,
    MAX_OBSERVATIONS_PER_CELL,
    CellStream,
    Collector,
    parse,
)
from autograder.engine.verdicts import KeyCell, NotebookOracle, apply_verdicts, judge


def key_obs(label, value, kind="close", rtol=1e-6, atol=1e-9, hint="", agree=True):
    return {
        "label": label,
        "value": encode(value),
        "kind": kind,
        "rtol": rtol,
        "atol": atol,
        "hint": hint,
        "agree": agree,
        "detail": "",
    }


def student(*pairs) -> CellStream:
    collector = Collector()
    for label, value in pairs:
        collector.take(0, {"label": label, "value": encode(value)})
    return collector.streams.get(0, CellStream())


KEY = KeyCell((key_obs("double(2)", 4.0, "equal", hint="twice x"), key_obs("f(0.1)", 0.30000000000000004)))


# ---------------------------------------------------------------- honest streams


def test_a_matching_stream_passes() -> None:
    assert judge(KEY, student(("double(2)", 4), ("f(0.1)", 0.3))) is None


def test_a_wrong_value_fails_with_what_expected_got_and_hint() -> None:
    verdict = judge(KEY, student(("double(2)", 6), ("f(0.1)", 0.3)))
    assert verdict == "double(2): expected 4, got 6: twice x"


def test_enough_digits_to_see_the_difference() -> None:
    key = KeyCell((key_obs("p", 0.98721234, rtol=1e-9),))
    verdict = judge(key, student(("p", np.float32(0.98721234))))
    assert verdict is not None and "0.9872123" in verdict and "0.9872124" in verdict


def test_a_check_not_reached_says_what_stopped_the_test() -> None:
    verdict = judge(KEY, student(("double(2)", 4)), error="TypeError: unsupported operand")
    assert verdict == "f(0.1): the test stopped before checking it (TypeError: unsupported operand)"


def test_an_error_after_all_checks_fails() -> None:
    assert "stopped with an error" in judge(KEY, student(("double(2)", 4), ("f(0.1)", 0.3)), error="X: y")


def test_an_exception_in_a_call_is_explained() -> None:
    key = KeyCell((key_obs("linear_backward(dY (2, 3))", None, "call", hint="look at the shapes"),))
    collector = Collector()
    collector.take(
        0,
        {
            "label": "linear_backward(dY (2, 3))",
            "value": {"t": "error", "type": "ValueError", "msg": "matmul: size 3 is different from 4"},
        },
    )
    verdict = judge(key, collector.streams[0])
    assert verdict == (
        "linear_backward(dY (2, 3)): your code raised ValueError: "
        "matmul: size 3 is different from 4: look at the shapes"
    )


def test_a_key_that_fails_its_own_test_fails_every_student_loudly() -> None:
    assert "answer key does not pass" in judge(KeyCell((), "AssertionError: x"), student())
    assert "records no checks" in judge(KeyCell(()), student())


# ---------------------------------------------------------------- hostile streams


@pytest.mark.parametrize(
    "stream",
    [
        student(),  # nothing observed: the checks were switched off
        student(("double(2)", 4)),  # one missing
        student(("double(2)", 4), ("f(0.1)", 0.3), ("extra", 1)),  # one extra
        student(("f(0.1)", 0.3), ("double(2)", 4)),  # reordered
        student(("double(2)", "4"), ("f(0.1)", 0.3)),  # a string for a number
        student(("double(2)", [4]), ("f(0.1)", 0.3)),  # a shape for a number
        student(("double(2)", 4), ("f(0.1)", float("nan"))),  # NaN
    ],
)
def test_any_stream_but_the_keys_fails(stream: CellStream) -> None:
    assert judge(KEY, stream) is not None


BAD_PAYLOADS = [
    "not an object",
    42,
    None,
    [1, 2],
    {"label": "double(2)"},
    {"value": encode(4)},
    {"label": "double(2)", "value": encode(4), "agree": True},  # a student may not claim agreement
    {"label": 7, "value": encode(4)},
    {"label": "x" * 501, "value": encode(4)},
    {"label": "x", "value": {"t": "num", "shape": [2], "dtype": "f", "py": "x", "b64": "AAAA"}},
    {"label": "x", "value": {"t": "num", "shape": [-1], "dtype": "f", "py": "x", "b64": ""}},
    {"label": "x", "value": {"t": "num", "shape": [1], "dtype": "f", "py": "x", "b64": "!!!!"}},
    {"label": "x", "value": {"t": "pickle", "v": "gASVAAAAAA=="}},
    {"label": "x", "value": {"t": "bool", "v": "yes"}},
    {"label": "x", "value": {"t": "map", "v": [[encode("a")]]}},
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_a_malformed_observation_makes_the_cell_fail(payload: object) -> None:
    collector = Collector()
    collector.take(0, {"label": "double(2)", "value": encode(4)})
    collector.take(0, payload)
    stream = collector.streams[0]
    assert stream.malformed and stream.observations == []
    assert "could not be read" in judge(KEY, stream)


def test_deep_nesting_is_refused() -> None:
    value: dict = {"t": "none"}
    for _ in range(50):
        value = {"t": "seq", "v": [value]}
    with pytest.raises(ObservationError):
        decode(value)


def test_a_flood_of_observations_is_cut_and_fails() -> None:
    collector = Collector()
    one = {"label": "double(2)", "value": {"t": "bool", "v": True}}
    for _ in range(MAX_OBSERVATIONS_PER_CELL + 5):
        collector.take(0, one)
    assert "more than" in collector.streams[0].malformed and collector.streams[0].observations == []


def test_a_huge_observation_is_cut_and_fails() -> None:
    collector = Collector()
    blob = base64.b64encode(bytes(8 * 600_000)).decode()
    big = {"label": "x", "value": {"t": "num", "shape": [600_000], "dtype": "f", "py": "x", "b64": blob}}
    for _ in range(MAX_BYTES_PER_CELL // len(blob) + 2):
        collector.take(0, big)
    assert "too large" in collector.streams[0].malformed


def test_a_student_payload_cannot_carry_the_keys_settings() -> None:
    with pytest.raises(ObservationError):
        parse({"label": "x", "value": encode(1), "rtol": 1e9}, trusted=False)
    assert parse({"label": "x", "value": encode(1)}, trusted=False).rtol == 1e-6  # the key's would apply


# ---------------------------------------------------------------- values round-trip


@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**40), 2**40)
        | st.floats(allow_nan=False)
        | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
        max_leaves=20,
    )
)
def test_plain_values_compare_equal_to_themselves(value: object) -> None:
    assert compare("equal", decode(encode(value)), decode(encode(value))) is None


def test_a_students_object_is_recorded_by_its_type_only() -> None:
    class Liar(float):
        def __eq__(self, other):
            return True

    recorded = decode(encode(Liar(4.0)))
    assert not isinstance(recorded, Num) and "Liar" in recorded.value
    assert compare("close", decode(encode(4.0)), recorded) is not None


def test_ints_lists_and_arrays_of_the_same_numbers_agree() -> None:
    for got in ([1, 2, 3], (1.0, 2.0, 3.0), np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0], dtype=np.float32)):
        assert compare("close", decode(encode(np.array([1.0, 2.0, 3.0]))), decode(encode(got))) is None


# ---------------------------------------------------------------- writing verdicts into the notebook


def _test_cell(outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("check_equal('double(2)', double(2), 4)")
    cell.metadata["nbgrader"] = {
        "grade": True,
        "solution": False,
        "grade_id": "t",
        "points": 2,
        "locked": True,
    }
    cell.outputs = outputs
    return cell


def _score(cell: nbformat.NotebookNode) -> float:
    from nbgrader.utils import determine_grade

    return determine_grade(cell)[0]


def test_what_the_kernel_says_about_itself_is_neutralised() -> None:
    forged = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "2.0"}, execution_count=1),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[_test_cell(forged)])
    oracle = NotebookOracle({"t": KeyCell((key_obs("double(2)", 4, "equal"),))})
    apply_verdicts(nb, oracle, {0: student(("double(2)", 4))})
    assert _score(nb.cells[0]) == 2  # passed: the warning no longer costs the points
    assert [o.output_type for o in nb.cells[0].outputs] == ["display_data", "stream"]
    nb = nbformat.v4.new_notebook(cells=[_test_cell(forged)])
    apply_verdicts(nb, oracle, {0: student(("double(2)", 5))})
    assert _score(nb.cells[0]) == 0  # failed, whatever the kernel displayed
    assert nb.cells[0].outputs[-1].evalue == "double(2): expected 4, got 5"


def test_a_test_the_key_never_ran_fails() -> None:
    nb = nbformat.v4.new_notebook(cells=[_test_cell([])])
    found = apply_verdicts(nb, NotebookOracle({}), {})
    assert "no answer-key run" in found["t"] and _score(nb.cells[0]) == 0


def test_a_batch_of_observations_reads_like_one_message_each() -> None:
    one = [{"label": "double(2)", "value": encode(4)}, {"label": "f(0.1)", "value": encode(0.3)}]
    collector = Collector()
    collector.take(0, one)
    assert collector.streams[0].observations == student(("double(2)", 4), ("f(0.1)", 0.3)).observations
    assert judge(KEY, collector.streams[0]) is None


@pytest.mark.parametrize("payload", [*BAD_PAYLOADS, [[{"label": "x", "value": encode(1)}]]])
def test_a_batch_with_a_malformed_entry_makes_the_cell_fail(payload: object) -> None:
    collector = Collector()
    collector.take(0, [{"label": "double(2)", "value": encode(4)}, payload])
    stream = collector.streams[0]
    assert stream.malformed and stream.observations == []


def test_the_checks_send_a_cells_observations_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    import adlib.grading.checks as checks

    shell = InteractiveShell.instance()
    sent: list = []
    monkeypatch.setenv(checks.MODE_VARIABLE, "observe")
    monkeypatch.setattr(checks, "_hooked", [])
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: sent.append(obj))
    try:
        shell.run_cell("from adlib.grading import check_close\nfor i in range(3): check_close(f'x{i}', i)")
        assert [len(message[checks.MIME]) for message in sent] == [3]
        assert [o["label"] for o in sent[0][checks.MIME]] == ["x0", "x1", "x2"]
    finally:
        shell.events.unregister("post_run_cell", checks._flush)
        InteractiveShell.clear_instance()
