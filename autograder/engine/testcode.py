"""What a student's kernel runs of a test cell: the test without its answers.

Before a submission's notebook runs, every autograded test cell's code is rewritten (here, in the
trusted grader) so that the student's kernel never sees what the test expects:

* a check's expected value, hint and tolerances go: ``check_close(what, got, expected, hint=...,
  rtol=...)`` becomes ``check_close(what, got)`` (also under an alias, or as
  ``adlib.grading.check_close``), and every ``expected=`` or ``hint=`` keyword of any call goes
  (a test's own helper takes them as keywords);
* every ``with reference():`` block goes (the code that computes expected values, with adlib or
  torch).

What is left computes the student's values and hands them to the checks, which only record them;
the grader compares them with the answer key's run of the whole test. :func:`lint` finds test code
that would still compute an expected value in the student's kernel (a name assigned by the test
and used only inside a removed argument): ``adcourse check`` refuses such a test.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from adlib.grading.checks import CHECKS

#: Keyword arguments removed from every call of a test cell.
STRIPPED_KEYWORDS = ("expected", "hint")
#: ... and, in a check's call, also these.
CHECK_KEYWORDS = ("expected", "hint", "rtol", "atol")
#: Positional arguments a check keeps (the label and the checked value, or the object and its name).
KEPT_POSITIONAL = 2
#: The helper modules test cells import checks from.
GRADING_MODULES = ("adlib.grading", "adlib.grading.checks")


class UnstrippableTest(ValueError):
    """A test cell the grader cannot rewrite safely (it does not parse, or hides a check's arguments)."""


@dataclass
class Names:
    """The names under which a notebook's test cells reach the checks."""

    checks: set[str] = field(default_factory=set)  # check_close, cc, ...
    calls: set[str] = field(default_factory=set)  # call
    references: set[str] = field(default_factory=set)  # reference
    modules: set[str] = field(default_factory=lambda: {"adlib.grading", "grading"})  # dotted prefixes


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def collect_names(trees: Iterable[ast.AST]) -> Names:
    """The aliases the test cells import checks, ``call`` and ``reference`` under."""
    names = Names(set(CHECKS), {"call"}, {"reference"})
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in GRADING_MODULES:
                for alias in node.names:
                    bound = alias.asname or alias.name
                    if alias.name in CHECKS:
                        names.checks.add(bound)
                    elif alias.name == "call":
                        names.calls.add(bound)
                    elif alias.name == "reference":
                        names.references.add(bound)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in GRADING_MODULES and alias.asname:
                        names.modules.add(alias.asname)
            elif isinstance(node, ast.ImportFrom) and node.module == "adlib":
                for alias in node.names:
                    if alias.name == "grading":
                        names.modules.add(alias.asname or "grading")
    return names


def _role(func: ast.expr, names: Names) -> str | None:
    """``"check"``, ``"call"``, ``"reference"`` or None for what ``func`` names."""
    dotted = _dotted(func)
    if dotted is None:
        return None
    head, _, last = dotted.rpartition(".")
    if head and head not in names.modules and not head.endswith(".grading"):
        return None
    if (head and last in CHECKS) or (not head and dotted in names.checks):
        return "check"
    if (head and last == "call") or (not head and dotted in names.calls):
        return "call"
    if (head and last == "reference") or (not head and dotted in names.references):
        return "reference"
    return None


class _Strip(ast.NodeTransformer):
    def __init__(self, names: Names) -> None:
        self.names = names
        self.removed: list[ast.AST] = []  # argument expressions taken out

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        role = _role(node.func, self.names)
        drop = CHECK_KEYWORDS if role == "check" else STRIPPED_KEYWORDS
        if role == "check":
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                raise UnstrippableTest(
                    f"line {node.lineno}: a check called with *args or **kwargs cannot be stripped of "
                    "its expected value; pass the label and the value as its first two arguments"
                )
            self.removed += node.args[KEPT_POSITIONAL:]
            node.args = node.args[:KEPT_POSITIONAL]
        kept = []
        for keyword in node.keywords:
            if keyword.arg in drop:
                self.removed.append(keyword.value)
            else:
                kept.append(keyword)
        node.keywords = kept
        return node

    def visit_With(self, node: ast.With | ast.AsyncWith) -> ast.AST | None:
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Call) and _role(expr.func, self.names) == "reference":
                self.removed.append(node)
                return None
        return self.generic_visit(node)

    visit_AsyncWith = visit_With

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if not isinstance(node, ast.Module) and getattr(node, "body", None) == []:
            node.body = [ast.Pass()]  # a block whose only statements were reference blocks
        return node


def python_source(source: str) -> str:
    """``source`` as IPython runs it (magics become calls)."""
    from ..integrity.cells import python_source as transform

    return transform(source)


def _parse(source: str, where: str) -> ast.Module:
    try:
        return ast.parse(python_source(source))
    except SyntaxError as exc:
        raise UnstrippableTest(
            f"{where}: the test cell is not valid Python ({exc.msg}, line {exc.lineno})"
        ) from None


@dataclass(frozen=True)
class Stripped:
    """One test cell rewritten: the code the student's kernel runs, and what was removed."""

    source: str
    removed: tuple[ast.AST, ...]
    tree: ast.Module


def strip_cells(sources: Sequence[tuple[str, str]]) -> dict[str, Stripped]:
    """Rewrite a notebook's test cells (``[(grade_id, source), ...]``, in notebook order)."""
    trees = [(grade_id, _parse(source, grade_id)) for grade_id, source in sources]
    names = collect_names(tree for _, tree in trees)
    out = {}
    for grade_id, tree in trees:
        stripper = _Strip(names)
        new = stripper.visit(tree)
        ast.fix_missing_locations(new)
        out[grade_id] = Stripped(ast.unparse(new) + "\n", tuple(stripper.removed), new)
    return out


def visible_names(source: str, begin: str = "BEGIN HIDDEN TESTS", end: str = "END HIDDEN TESTS") -> set[str]:
    """The names the visible part of a test cell (its hidden region removed) binds."""
    lines, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            lines.append(line)
    try:
        return _bound(ast.parse(python_source("\n".join(lines))))
    except SyntaxError:
        return set()


def _loads(nodes: Iterable[ast.AST]) -> set[str]:
    return {
        n.id
        for node in nodes
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _bound(tree: ast.AST) -> set[str]:
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def lint(stripped: dict[str, Stripped], public: Iterable[str] = ()) -> list[str]:
    """Problems that would leave an expected value computed in the student's kernel: a name the
    remaining test code binds (an assignment, an import, a def) but uses only inside removed
    arguments. Move such code into a ``with reference():`` block. Names in ``public`` (bound by
    the visible part of the tests, which students see anyway) are not problems."""
    removed_args = [node for s in stripped.values() for node in s.removed if not isinstance(node, ast.With)]
    used_in_removed = _loads(removed_args)
    remaining_loads = _loads(s.tree for s in stripped.values())
    problems = []
    for grade_id, s in stripped.items():
        for name in sorted(_bound(s.tree) & used_in_removed - remaining_loads - set(public)):
            problems.append(
                f"{grade_id}: {name!r} is computed in the student's kernel but only used as an expected "
                "value or hint; compute it inside a `with reference():` block"
            )
    return problems
