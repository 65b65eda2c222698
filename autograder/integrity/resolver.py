"""Name resolution and the findings' bookkeeping of the static tamper check (see :mod:`.scan`).

:class:`Resolver` walks a cell's tree knowing, at each point, where every name comes from (its
origin, :mod:`.names`), records findings, and judges bindings and writes; :mod:`.calls` and
:mod:`.scan` add the checks of calls, statements and expressions on top.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import rules
from .cells import CodeCell
from .findings import MONKEYPATCH, REFERENCE, SYS_MODULES, Finding
from .names import GLOBALS, SHELL
from .policy import IntegrityPolicy

#: adlib.grading helpers that no answer has a reason to define.
_GRADING = "adlib.grading."


@dataclass
class NotebookState:
    """What the scan of one notebook knows across its cells."""

    policy: IntegrityPolicy
    name: str
    env: dict[str, str | None] = field(default_factory=dict)  # module-level name -> origin
    helpers: dict[str, set[str]] = field(default_factory=dict)  # instructor-bound name -> origins
    student_globals: set[str] = field(default_factory=set)
    relied: list[tuple[int, set[str]]] = field(default_factory=list)  # instructor cell -> free names
    findings: list[Finding] = field(default_factory=list)

    def relied_after(self, index: int, name: str) -> bool:
        """Does an instructor cell after cell ``index`` read ``name`` without binding it?"""
        return any(j > index and name in free for j, free in self.relied)


def protected(origin: str | None) -> bool:
    return origin is not None and origin.split(".")[0] in rules.PROTECTED


def is_adlib(origin: str | None) -> bool:
    return origin is not None and origin.split(".")[0] == "adlib"


def show(origin: str) -> str:
    return origin.replace("<tests>.", "the test cells' ")


def text_of(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class Resolver(ast.NodeVisitor):
    """Walks one student cell (or file), resolving names to origins as it goes."""

    def __init__(
        self, nb: NotebookState, cell: CodeCell | None, allow_adlib: bool, lines: Sequence[str]
    ) -> None:
        self.nb = nb
        self.cell = cell
        self.allow_adlib = allow_adlib
        self.lines = lines
        self.offset = 0
        self.scopes: list[tuple[dict[str, str | None], set[str]]] = []

    # ------------------------------------------------------------ findings and names

    def flag(self, kind: str, what: str, node: ast.AST) -> None:
        line = getattr(node, "lineno", None)
        line = line + self.offset if line is not None else None
        evidence = self.lines[line - 1] if line is not None and 0 < line <= len(self.lines) else ""
        cell = self.cell
        self.nb.findings.append(
            Finding(
                kind,
                what,
                self.nb.name,
                cell.index if cell else None,
                cell.grade_id if cell else "",
                line,
                evidence,
            )
        )

    def lookup(self, name: str) -> tuple[bool, str | None]:
        """``(found, origin)`` of a name here: local scopes first, then the notebook's globals."""
        for names, declared_global in reversed(self.scopes):
            if name in declared_global:
                break
            if name in names:
                return True, names[name]
        if name in self.nb.env:
            return True, self.nb.env[name]
        if self.scopes and name in self.nb.helpers:  # read at call time, when tests may have bound it
            origins = sorted(self.nb.helpers[name])
            return True, next((o for o in origins if is_adlib(o)), origins[0])
        if name == "adlib":  # bound by no cell (the grader strips the tests' reference imports):
            return False, "adlib"  # code reading it counts on the reference being there
        return False, "builtins" if name == "__builtins__" else None

    def is_builtin(self, node: ast.AST, *names: str) -> str | None:
        """The builtin ``node`` names (one of ``names``) when nothing rebinds it here."""
        if isinstance(node, ast.Name) and node.id in names and not self.lookup(node.id)[0]:
            return node.id
        return None

    def origin(self, node: ast.AST) -> str | None:
        """Where the value of ``node`` comes from (see :mod:`.names`), or ``None``."""
        if isinstance(node, ast.Name):
            return self.lookup(node.id)[1]
        if isinstance(node, ast.Attribute):
            base = self.origin(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            key = text_of(node.slice)
            return key if self.origin(node.value) == "sys.modules" and key else None
        if isinstance(node, ast.Call):
            func = self.origin(node.func)
            first = node.args[0] if node.args else None
            if self.is_builtin(node.func, "globals", "locals") or (
                self.is_builtin(node.func, "vars") and first is None
            ):
                return GLOBALS
            if self.is_builtin(node.func, "vars") and first is not None:
                base = self.origin(first)
                return f"{base}.__dict__" if base else None
            if self.is_builtin(node.func, "get_ipython"):
                return SHELL
            if self.is_builtin(node.func, "__import__") or func == "importlib.import_module":
                return text_of(first)
        return None

    def late_bound(self, name_node: ast.AST) -> bool:
        """A global read inside a function, of a name some student cell binds: at call time it may
        well be the student's own, so it is not held against them."""
        if not isinstance(name_node, ast.Name) or not self.scopes:
            return False
        found_locally = any(name_node.id in names for names, _ in self.scopes)
        return not found_locally and name_node.id in self.nb.student_globals

    # ------------------------------------------------------------ bindings

    def bind(self, name: str, origin: str | None, how: str, node: ast.AST) -> None:
        if self.scopes and name not in self.scopes[-1][1]:
            self.scopes[-1][0][name] = origin
            return
        self.check_rebind(name, origin, how, node)
        self.nb.env[name] = origin

    def check_rebind(self, name: str, origin: str | None, how: str, node: ast.AST) -> None:
        if self.cell is None:
            return
        helper = self.nb.helpers.get(name)
        if helper:
            if origin in helper:
                return
            named_helper = any(
                o.startswith(_GRADING)
                and (o.split(".")[-1].startswith("check_") or o.endswith("no_autograd"))
                for o in helper
            )
            if named_helper or self.nb.relied_after(self.cell.index, name):
                self.flag(MONKEYPATCH, f"rebinds {name}, which the test cells use", node)
            return
        if (
            name in rules.BUILTIN_NAMES
            and how in ("def", "class", "lambda", "alias")
            and self.nb.relied_after(self.cell.index, name)
        ):
            self.flag(MONKEYPATCH, f"replaces the builtin {name}, which the test cells call", node)

    def store(self, target: ast.AST, origin: str | None, how: str, node: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, origin, how, node)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.store(elt, None, "assign", node)
        elif isinstance(target, ast.Starred):
            self.store(target.value, None, "assign", node)
        elif isinstance(target, ast.Attribute):
            base = self.origin(target.value)
            if protected(base):
                self.attribute_write(f"{base}.{target.attr}", how == "del", node)
            else:
                self.visit(target.value)
        elif isinstance(target, ast.Subscript):
            self.item_write(target, how == "del", node)

    def attribute_write(self, full: str, delete: bool, node: ast.AST) -> None:
        if full == "sys.modules" or full in rules.IMPORT_SYSTEM:
            self.flag(SYS_MODULES, f"replaces {full}", node)
        else:
            self.flag(MONKEYPATCH, f"{'deletes' if delete else 'assigns'} {show(full)}", node)

    def item_write(self, target: ast.Subscript, delete: bool, node: ast.AST) -> None:
        base = self.origin(target.value)
        key = text_of(target.slice)
        verb = "deletes" if delete else "writes"
        if base == "sys.modules":
            self.flag(SYS_MODULES, f"{verb} sys.modules[{key!r}]" if key else f"{verb} sys.modules", node)
        elif base == GLOBALS:
            if key is None or key in self.nb.helpers or key in rules.BUILTIN_NAMES:
                self.flag(MONKEYPATCH, f"{verb} globals()[{key!r}]" if key else f"{verb} globals()", node)
        elif protected(base):
            self.flag(MONKEYPATCH, f"{verb} an entry of {show(base)}", node)
        else:
            self.visit(target.value)
        self.visit(target.slice)

    def check_module(self, module: str, verb: str, node: ast.AST) -> None:
        if not self.allow_adlib and is_adlib(module) and not self.nb.policy.module_allowed(module):
            self.flag(REFERENCE, f"{verb} {module}, the reference implementation", node)

    def check_use(self, origin: str | None, node: ast.AST, root: ast.AST) -> None:
        if self.allow_adlib or not is_adlib(origin) or self.nb.policy.module_allowed(origin or ""):
            return
        if not self.late_bound(root):
            self.flag(REFERENCE, f"uses {origin}, the reference implementation", node)

    def module_lookup(self, key: ast.AST | None, node: ast.AST) -> None:
        name = text_of(key)
        if name is not None:
            self.check_module(name, "looks up", node)
        elif not self.allow_adlib:
            self.flag(REFERENCE, "looks up a module by a name computed at run time", node)
