"""Names a cell binds and uses, and where an expression's value comes from (its *origin*).

An origin is a dotted name: ``"numpy.allclose"`` for ``np.allclose`` after ``import numpy as np``,
``"adlib.grading.check_close"`` for a helper the tests imported, ``"<tests>.seed_cubic"`` for a
function an instructor cell defines. The tamper check follows origins to see what code touches
whatever name it is reached by.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

#: The origin prefix of functions the instructor's cells define (the tests' helpers).
TESTS = "<tests>"
#: The origin prefix of classes the instructor's cells define: the students' material, whose
#: attributes they may set (``Node.visits = 0``), so not protected.
CLASSES = "<classes>"
#: The origin of the notebook's global namespace (``globals()``).
GLOBALS = "<globals>"
#: The origin of IPython's shell object (``get_ipython()``).
SHELL = "IPython.<shell>"

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def import_origins(node: ast.Import | ast.ImportFrom) -> list[tuple[str, str, str]]:
    """``(bound name, origin, module imported)`` for each name an import statement binds.

    ``import a.b`` binds ``a`` (origin ``a``, module ``a.b``); ``import a.b as c`` binds ``c``
    (origin and module ``a.b``); ``from a import b`` binds ``b`` (origin and module ``a.b``).
    Relative imports (the student's own modules) give origins starting with ``.``.
    """
    out = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out.append((alias.asname, alias.name, alias.name))
            else:
                top = alias.name.split(".")[0]
                out.append((top, top, alias.name))
        return out
    base = "." * node.level + (node.module or "")
    for alias in node.names:
        full = f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
        out.append((alias.asname or alias.name, full, full))
    return out


def target_names(target: ast.AST) -> Iterator[str]:
    """The plain names an assignment target binds (``a, (b, *c)`` gives a, b, c)."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)


def top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run at module level: the body, and bodies of if/for/while/try/with in it."""
    stack = list(reversed(tree.body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, _SCOPES):
            continue
        inner: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            inner += getattr(stmt, name, []) or []
        for handler in getattr(stmt, "handlers", []) or []:
            inner += handler.body
        for case in getattr(stmt, "cases", []) or []:
            inner += case.body
        stack.extend(reversed(inner))


def module_bindings(tree: ast.Module) -> list[tuple[str, str | None, str]]:
    """``(name, origin or None, how)`` for every module-level binding of ``tree``, in order.

    ``how`` is "import", "def", "class" or "assign" (any other binding: assignment, for target,
    with ... as, del, walrus at module level).
    """
    out: list[tuple[str, str | None, str]] = []
    for stmt in top_level(tree):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            out += [(name, origin, "import") for name, origin, _ in import_origins(stmt)]
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((stmt.name, f"{TESTS}.{stmt.name}", "def"))
        elif isinstance(stmt, ast.ClassDef):
            out.append((stmt.name, f"{CLASSES}.{stmt.name}", "class"))
        else:
            for target in _statement_targets(stmt):
                out += [(name, None, "assign") for name in target_names(target)]
    return out


def _statement_targets(stmt: ast.stmt) -> list[ast.AST]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        return [stmt.target]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [stmt.target]
    if isinstance(stmt, (ast.With, ast.AsyncWith)):
        return [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    if isinstance(stmt, ast.Delete):
        return list(stmt.targets)
    if isinstance(stmt, ast.Try):
        return [ast.Name(h.name) for h in stmt.handlers if h.name]
    return []


def free_names(tree: ast.Module) -> set[str]:
    """Names ``tree`` reads that it binds nowhere (not at module level, not as a local): the names
    it relies on earlier cells for."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(name for name, _, _ in import_origins(node))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


def global_declarations(body: list[ast.stmt]) -> set[str]:
    """Names a function body declares ``global`` (not looking into nested functions)."""
    found: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            found.update(node.names)
        if isinstance(node, _SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, ``None`` for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def is_docstring(stmt: ast.stmt) -> bool:
    """A statement that is only a string (a docstring, or a string left as a comment)."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def local_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef) -> set[str]:
    """Names a function (or class body) binds for itself: parameters, assignment targets,
    imports and nested definitions, without its ``global`` names and without looking into
    nested scopes."""
    found: set[str] = set()
    if not isinstance(node, ast.ClassDef):
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                found.add(arg.arg)
    body = [node.body] if isinstance(node, ast.Lambda) else node.body
    stack: list[ast.AST] = list(body)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Name) and not isinstance(item.ctx, ast.Load):
            found.add(item.id)
        elif isinstance(item, (ast.Import, ast.ImportFrom)):
            found.update(name for name, _, _ in import_origins(item))
        elif isinstance(item, ast.ExceptHandler) and item.name:
            found.add(item.name)
        if isinstance(item, (*_SCOPES, *_COMPREHENSIONS)):
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(item.name)
            continue
        stack.extend(ast.iter_child_nodes(item))
    if not isinstance(node, (ast.Lambda, ast.ClassDef)):
        found -= global_declarations(node.body)
    return found
