"""The grading pipeline, declared once: nbgrader's own autograde steps, in nbgrader's order.

Stock ``nbgrader autograde`` runs two lists of preprocessors (``Autograde.sanitize_preprocessors``
then ``Autograde.autograde_preprocessors``). The engine runs the same steps, split where they run:

* :data:`SANITIZE` and :data:`AFTER_EXECUTE` in the worker, around the kernel's run
  (:data:`EXECUTE`, nbgrader's ``Execute`` bounded by the limits);
* the kit's one addition, after :data:`AFTER_EXECUTE`: each test cell's verdict is decided from
  the observations against the answer key (:mod:`.verdicts`);
* :data:`RECORD` in the one writer, against the course gradebook: :func:`.writer.record_many`
  writes, in one transaction per batch, exactly the rows these steps write (``tests/test_writer.py``
  compares them row for row with the steps themselves, run by :func:`.writer.record_each`).

``tests/test_pipeline.py`` checks that these lists are exactly nbgrader's defaults. A course whose
``nbgrader_config.py`` changes either list is refused with a sentence that says so
(:func:`check_config`): its steps would not be the ones the engine runs.
"""

from __future__ import annotations

from typing import Any

from ..paths import CourseError

SANITIZE = ("ClearOutput", "DeduplicateIds", "OverwriteKernelspec", "OverwriteCells", "CheckCellMetadata")
EXECUTE = ("Execute",)
AFTER_EXECUTE = ("IgnorePattern", "ClearMetadataPreprocessor", "LimitOutput")
RECORD = ("SaveAutoGrades", "AssignLatePenalties", "CheckCellMetadata")


def _name(step: Any) -> str:
    if isinstance(step, str):
        return step.rsplit(".", 1)[-1]
    return getattr(step, "__name__", type(step).__name__)


def nbgrader_steps() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of nbgrader's default sanitize and autograde steps, read from nbgrader itself."""
    from nbgrader.converters import Autograde

    traits = Autograde.class_traits()
    return (
        tuple(_name(s) for s in traits["sanitize_preprocessors"].default()),
        tuple(_name(s) for s in traits["autograde_preprocessors"].default()),
    )


def declared_steps() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The engine's steps, as nbgrader's two lists."""
    return SANITIZE, EXECUTE + AFTER_EXECUTE + RECORD


def check_config(config: Any) -> None:
    """Refuse a course config that changes nbgrader's autograde steps (the engine would ignore it)."""
    section = config.get("Autograde", {}) if hasattr(config, "get") else {}
    wanted = dict(zip(("sanitize_preprocessors", "autograde_preprocessors"), declared_steps(), strict=True))
    for trait, default in wanted.items():
        if trait in section and tuple(_name(s) for s in section[trait]) != default:
            raise CourseError(
                f"nbgrader_config.py sets c.Autograde.{trait}; adcourse grades with nbgrader's default "
                f"steps ({', '.join(default)}) and would not run yours: remove that setting, or grade "
                "this course with stock `nbgrader autograde`"
            )


def build(names: tuple[str, ...], config: Any, **settings: dict[str, Any]) -> list[Any]:
    """Instances of the named nbgrader (or nbconvert) preprocessors with the course ``config``;
    ``settings`` maps a step's name to extra keyword arguments."""
    import nbconvert.preprocessors as nbconvert_steps
    import nbgrader.preprocessors as nbgrader_steps

    steps = []
    for name in names:
        cls = getattr(nbgrader_steps, name, None) or getattr(nbconvert_steps, name)
        steps.append(cls(config=config, **settings.get(name, {})))
    return steps


def run(steps: list[Any], nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Run ``steps`` as nbconvert does (each only if enabled)."""
    for step in steps:
        nb, resources = step(nb, resources)
    return nb, resources
