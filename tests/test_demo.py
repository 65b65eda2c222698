"""The demo runs and prints the lectures' numbers (written here from hand calculation)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adlib import demo


def test_main_prints_the_worked_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    # ln 2 + 10 - sin 5 = 11.652; dy/dx1 = 1/2 + 5 = 5.5; dy/dx2 = 2 - cos 5 = 1.716
    for piece in ("11.652", "= -0.959", "= 5.5", "= 1.716", "= -0.284"):
        assert piece in out
    for heading in ("Forward primal trace", "Forward tangent trace", "Reverse adjoint trace"):
        assert heading in out
    # 6 (x1 + x2^2 x3) at (1, 2, 3): (6, 12 x2 x3, 6 x2^2) = (6, 72, 24)
    assert "reverse mode: gradient (6, 72, 24) in 1 reverse pass" in out
    assert "forward mode: gradient (6, 72, 24) in 3 forward passes" in out
    # 6x^2 - 12x + 1 at 2 = 1
    assert "f'(2) = 1 " in out
    # (4x, 6y) at (4, 5) = (16, 30); the seed's (15, 30) is flagged as an erratum
    assert "grad f(4, 5) = (16, 30)" in out
    assert "(15, 30)" in out and "Erratum" in out


def test_module_runs_as_a_script() -> None:
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.fspath(root)}
    done = subprocess.run(
        [sys.executable, "-m", "adlib.demo"],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "11.652" in done.stdout and "(16, 30)" in done.stdout


def test_unknown_option_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        demo.main(["--frobnicate"])
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
