"""What a student's kernel runs of a test cell: the test without its answers (autograder.engine.testcode)."""

from __future__ import annotations

import pytest

from autograder.engine.testcode import UnstrippableTest, lint, strip_cells, visible_names

TEST = """from adlib.grading import call, check_close, check_equal as same, reference
import adlib.grading as g

check_close("x2.grad", x2.grad, 1.7163, hint="summed over both uses?", rtol=1e-3)
same("keys", sorted(d), ["a", "b"], hint="two keys")
g.check_true("is a dict", isinstance(d, dict), hint="return a dict")
with reference():
    import adlib
    _want = adlib.ForwardDiff(2.0, 1.0).sin()
for _i in range(3):
    with reference():
        _r = _want.grad * _i
    check_close(f"grad {_i}", f(_i), _r)


def _same(what, mine, expected=None, hint=""):
    check_close(what, mine.value, expected=expected.value, hint=hint)


_same("u + w", u + w, expected=adlib.ForwardDiff(1.0, 2.0), hint="tangents add")
_x = call("f(2)", f, 2, hint="look at f")
"""


def stripped() -> str:
    return strip_cells([("t", TEST)])["t"].source


def test_no_expected_value_hint_or_tolerance_is_left() -> None:
    code = stripped()
    for gone in (
        "1.7163",
        "summed",
        "rtol",
        "'a', 'b'",
        "two keys",
        "return a dict",
        "tangents add",
        "look at f",
    ):
        assert gone not in code, gone
    assert "check_close('x2.grad', x2.grad)" in code
    assert "same('keys', sorted(d))" in code  # an alias of a check
    assert "g.check_true('is a dict', isinstance(d, dict))" in code  # a check through its module
    assert "call('f(2)', f, 2)" in code  # a call keeps its arguments


def test_reference_blocks_are_removed_and_blocks_stay_valid() -> None:
    code = stripped()
    assert "adlib.ForwardDiff" not in code and "_want" not in code and "_r" not in code
    compile(code, "<test>", "exec")  # the loop whose body held a reference block still parses


def test_magics_are_stripped_too() -> None:
    code = strip_cells([("t", "%time check_close('a', f(1), 2.0)\ncheck_close('b', f(2), 4.0)")])["t"].source
    assert "4.0" not in code


def test_a_check_with_star_arguments_is_refused() -> None:
    with pytest.raises(UnstrippableTest, match="cannot be stripped"):
        strip_cells([("t", "from adlib.grading import check_close\ncheck_close(*args)")])


def test_lint_finds_an_expected_value_computed_in_the_students_kernel() -> None:
    source = "from adlib.grading import check_close\n_expected = 2 * _x\ncheck_close('f', f(_x), _expected)\n"
    assert "'_expected' is computed in the student's kernel" in lint(strip_cells([("t", source)]))[0]
    inside = source.replace("_expected = 2 * _x", "with reference():\n    _expected = 2 * _x")
    assert lint(strip_cells([("t", "from adlib.grading import reference\n" + inside)])) == []


def test_lint_lets_public_names_be() -> None:
    source = "from adlib.grading import check_close\n_e = 3.0\ncheck_close('f', f(1), _e)\n"
    assert lint(strip_cells([("t", source)]), public=visible_names(source)) == []
