"""The instructor's tooling around stock nbgrader: building releases, grading, and the checks
that prove each assignment's tests are right."""

__version__ = "0.1.0"
