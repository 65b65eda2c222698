"""The static tamper check: read every student cell's syntax tree and flag what tampers.

What is flagged (see :mod:`.rules` for the lists):

* **monkeypatch**: assigning, deleting or ``setattr``-ing an attribute of numpy, math, builtins,
  sys, torch, adlib (its test helpers included) or of a function an instructor cell defines;
  writing into such a module's ``__dict__``; rebinding a test helper (``check_close = ...``), a
  name the later test cells rely on, or a builtin they call; trace and audit hooks; reaching into
  the IPython shell that runs the tests (``get_ipython().events``) or patching with ``mock``.
* **sys.modules**: writing to ``sys.modules`` (item assignment, ``update``, ``setdefault``,
  ``pop``, ``del``) or to the import system (``sys.meta_path``, ``sys.path_hooks``).
* **file outside the folder**: a path that climbs out of the folder (``..``) anywhere, or an
  absolute path given to a file, folder or shell function (``open``, ``Path``, ``np.load``, ``!cat``).
* **reference implementation**: importing or using ``adlib`` (other than its test helpers
  ``adlib.grading`` and the modules the assignment's policy allows) outside the cells the policy
  allows; naming an adlib module in a string; importing a module whose name is computed.
* **hidden code**: ``exec``/``eval``/``compile`` of a string built at run time (a literal string is
  read and checked like the rest).

Code inside magics (``%time``, ``%%capture``) and literal ``exec`` strings is checked too. A cell
that does not parse is not flagged: the kernel cannot run it either.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence

import nbformat

from . import rules
from .calls import CallChecks
from .cells import CodeCell, code_cells, parse
from .findings import (
    MONKEYPATCH,
    OUTSIDE_FILE,
    Finding,
    unique,
)
from .names import (
    SHELL,
    dotted,
    free_names,
    global_declarations,
    import_origins,
    is_docstring,
    local_names,
    module_bindings,
    target_names,
)
from .policy import IntegrityPolicy
from .resolver import NotebookState


class _Scanner(CallChecks):
    """The static tamper check of one student cell (or file): statements and expressions."""

    # ------------------------------------------------------------ statements

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for name, origin, module in import_origins(node):
            self.check_module(module, "imports", node)
            if name != "*":
                self.bind(name, origin, "import", node)

    visit_ImportFrom = visit_Import

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        origin = self.origin(node.value)
        how = "lambda" if isinstance(node.value, ast.Lambda) else "alias" if origin else "assign"
        if isinstance(node.value, (ast.Name, ast.Attribute)):
            how = "alias"
        for target in node.targets:
            self.store(target, origin, how, node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        self.store(node.target, None, "assign", node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.store(node.target, self.origin(node.value) if node.value else None, "assign", node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.store(target, None, "del", node)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self.store(node.target, None, "assign", node)
        for stmt in [*node.body, *node.orelse]:
            self.visit(stmt)

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.store(item.optional_vars, None, "assign", node)
        for stmt in node.body:
            self.visit(stmt)

    visit_AsyncWith = visit_With

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.store(node.target, None, "assign", node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.bind(node.name, None, "assign", node)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not is_docstring(node):
            self.visit(node.value)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self.bind(node.name, None, "def", node)
        self.in_scope(node, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for expr in [*node.args.defaults, *node.args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        self.in_scope(node, [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expr)
        self.bind(node.name, None, "class", node)
        self.in_scope(node, node.body)

    def in_scope(self, node: ast.AST, body: Sequence[ast.AST]) -> None:
        declared = set() if isinstance(node, (ast.Lambda, ast.ClassDef)) else global_declarations(node.body)
        self.scopes.append(({name: None for name in local_names(node)}, declared))
        try:
            for stmt in body:
                self.visit(stmt)
        finally:
            self.scopes.pop()

    def visit_comprehension_scope(self, node: ast.AST) -> None:
        names = {n for gen in node.generators for n in target_names(gen.target)}
        self.scopes.append(({n: None for n in names}, set()))
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_comprehension_scope

    # ------------------------------------------------------------ expressions

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.check_use(self.origin(node), node, node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not isinstance(node.ctx, ast.Load):
            self.generic_visit(node)
            return
        base = self.origin(node.value)
        if base == SHELL and node.attr not in rules.SHELL_CALLS:
            self.flag(
                MONKEYPATCH, f"reaches into the kernel that runs the tests (get_ipython().{node.attr})", node
            )
        full = f"{base}.{node.attr}" if base else None
        chain = dotted(node)
        if full is not None and chain is not None:  # a plain a.b.c: judged as a whole
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            self.check_use(full, node, root)
            return
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and self.origin(node.value) == "sys.modules":
            self.module_lookup(node.slice, node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str):
            return
        if rules.climbs_out(node.value):
            self.flag(OUTSIDE_FILE, f"names a path out of the submission folder ({node.value[:60]!r})", node)
        if rules.names_adlib(node.value):
            self.check_module(node.value, "names", node)


# ---------------------------------------------------------------- notebooks and files


def _prepare(nb: NotebookState, cells: list[CodeCell]) -> None:
    """What the instructor's cells bind and rely on, and what the student's cells bind."""
    for cell in cells:
        if cell.tree is None:
            continue
        if cell.student:
            nb.student_globals.update(name for name, _, _ in module_bindings(cell.tree))
            continue
        nb.relied.append((cell.index, free_names(cell.tree)))
        for name, origin, how in module_bindings(cell.tree):
            if how != "assign" and origin is not None:
                nb.helpers.setdefault(name, set()).add(origin)


def scan_cells(cells: list[CodeCell], policy: IntegrityPolicy, notebook: str) -> list[Finding]:
    """Findings in the student cells of ``cells`` (a notebook's code cells, in order)."""
    nb = NotebookState(policy, notebook)
    _prepare(nb, cells)
    for cell in cells:
        if cell.tree is None:
            continue
        if not cell.student:  # the instructor's bindings, as the kernel will have them
            for name, origin, _ in module_bindings(cell.tree):
                nb.env[name] = origin
            continue
        allow = cell.solution and cell.grade_id in policy.adlib_cells
        _Scanner(nb, cell, allow, cell.source.splitlines()).visit(cell.tree)
    return unique(nb.findings)


def scan_notebook(
    nb: nbformat.NotebookNode,
    policy: IntegrityPolicy | None = None,
    notebook: str = "notebook",
    instructor: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Findings in the student cells of notebook ``nb`` (named ``notebook`` in them).

    ``instructor`` is :func:`~.cells.instructor_sources` for it, when grading; without it,
    nbgrader's metadata tells the instructor's cells from the student's.
    """
    return scan_cells(code_cells(nb, instructor), policy or IntegrityPolicy(), notebook)


def scan_module(source: str, path: str, policy: IntegrityPolicy | None = None) -> list[Finding]:
    """Findings in a Python file the student submitted (it runs when a cell imports it)."""
    tree = parse(source)
    if tree is None:
        return []
    nb = NotebookState(policy or IntegrityPolicy(), path)
    _Scanner(nb, None, False, source.splitlines()).visit(tree)
    return unique(nb.findings)
