"""What a student's kernel can import: a stand-in adlib with only what the assignment allows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.engine.packages import PackageError, build_stand_in, closure, masks


def _run(path: Path, code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run with the stand-in first on the path and site-packages after it, without the
    site module (so no .pth file installs the editable adlib's finder, as in the sandbox, where
    the real adlib is not there to find)."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    env = {"PYTHONPATH": f"{path}:{site}", "PYTHONSAFEPATH": "1", "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-S", "-c", code]
    return subprocess.run(run, capture_output=True, text=True, env=env, cwd="/", check=False)


def test_the_stand_in_has_the_helpers_and_the_allowed_modules_only(tmp_path: Path) -> None:
    build_stand_in(tmp_path, ["adlib.data"])
    ok = _run(tmp_path, "import adlib.grading, adlib.data; print(adlib.data.load_digits()[0].shape)")
    assert ok.returncode == 0 and "(1797, 64)" in ok.stdout, ok.stderr
    for missing in ("from adlib import ForwardDiff", "import adlib.reverse", "import adlib.nn"):
        run = _run(tmp_path, missing)
        assert run.returncode != 0 and ("ImportError" in run.stderr or "ModuleNotFoundError" in run.stderr), (
            missing
        )


def test_a_module_comes_with_the_adlib_modules_it_imports() -> None:
    found = closure(["adlib.data"])
    assert {"adlib.grading", "adlib.grading.values", "adlib.data", "adlib.data.idx"} <= set(found)
    assert "adlib.forward" not in found


def test_allowing_a_module_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(PackageError, match="not a module of adlib"):
        closure(["adlib.nope"])
    with pytest.raises(PackageError, match="as a whole"):
        closure(["adlib"])


def test_hidden_packages_are_covered_unless_allowed() -> None:
    import torch

    torch_dir = Path(torch.__file__).parent.resolve()
    assert torch_dir in masks([])
    assert torch_dir not in masks(["torch"])
