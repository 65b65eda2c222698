"""The grading pipeline is declared once and is nbgrader's; a course that changes it is refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from traitlets.config import Config

from autograder.engine import pipeline
from autograder.paths import CourseError

ENGINE = Path(pipeline.__file__).parent


def test_the_declared_steps_are_nbgraders_own_defaults() -> None:
    assert pipeline.declared_steps() == pipeline.nbgrader_steps()


def test_every_declared_step_can_be_built() -> None:
    for names in (pipeline.SANITIZE, pipeline.AFTER_EXECUTE, pipeline.RECORD):
        assert [type(s).__name__ for s in pipeline.build(names, Config())] == list(names)


@pytest.mark.parametrize("trait", ["sanitize_preprocessors", "autograde_preprocessors"])
def test_a_course_that_changes_the_steps_is_refused_loudly(trait: str) -> None:
    config = Config({"Autograde": {trait: ["ClearOutput"]}})
    with pytest.raises(CourseError, match=f"c.Autograde.{trait}"):
        pipeline.check_config(config)


def test_restating_the_defaults_is_accepted() -> None:
    sanitize, autograde = pipeline.nbgrader_steps()
    pipeline.check_config(Config({"Autograde": {"sanitize_preprocessors": list(sanitize)}}))
    pipeline.check_config(Config({"Autograde": {"autograde_preprocessors": list(autograde)}}))


def test_no_engine_module_names_an_nbgrader_step_itself() -> None:
    """The steps are named in pipeline.py only: nowhere else is a preprocessor list written out."""
    steps = set(pipeline.SANITIZE + pipeline.AFTER_EXECUTE + pipeline.RECORD) - {"CheckCellMetadata"}
    for path in ENGINE.glob("*.py"):
        if path.name == "pipeline.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith(("nbgrader.preprocessors", "nbconvert"))
            for alias in node.names
        }
        assert not imported & steps, (path.name, imported & steps)
