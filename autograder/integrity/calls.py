"""The static tamper check's look at calls: setattr and friends, dynamic imports, exec, magics,
hooks, mock patches and paths given to file functions (see :mod:`.scan`)."""

from __future__ import annotations

import ast

from . import rules
from .findings import DYNAMIC_CODE, MONKEYPATCH, OUTSIDE_FILE, SYS_MODULES
from .names import GLOBALS, SHELL, dotted
from .resolver import Resolver, protected, show, text_of

#: Calls that import (or look up) a module given by name, besides ``__import__``.
_DYNAMIC_IMPORTS = ("importlib.import_module", "importlib.__import__", "sys.modules.get")


class CallChecks(Resolver):
    """The checks of :class:`~.resolver.Resolver` for calls."""

    def visit_Call(self, node: ast.Call) -> None:
        self.check_call(node)
        self.generic_visit(node)

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        forigin = self.origin(func)
        args = node.args
        first = args[0] if args else None
        if builtin := self.is_builtin(func, "setattr", "delattr"):
            base = self.origin(first) if first is not None else None
            if protected(base):
                attr = text_of(args[1]) if len(args) > 1 else None
                self.attribute_write(f"{base}.{attr or '<computed>'}", builtin == "delattr", node)
        if isinstance(func, ast.Attribute):
            self.check_method(func, args, node)
        if forigin in rules.TRACE_HOOKS:
            self.flag(MONKEYPATCH, f"installs a hook on all code that runs ({forigin})", node)
        if forigin is not None and forigin.startswith("unittest.mock.patch"):
            target = text_of(first)
            if protected(target) or protected(self.origin(first) if first is not None else None):
                self.flag(MONKEYPATCH, f"patches {target or show(self.origin(first) or '')}", node)
        if self.is_builtin(func, "__import__") or forigin in (
            "importlib.import_module",
            "importlib.__import__",
        ):
            self.module_lookup(first, node)
        if forigin == "sys.modules.get":
            self.module_lookup(first, node)
        if builtin := self.is_builtin(func, "exec", "eval", "compile"):
            code = text_of(first)
            if code is not None:
                self.embedded(code, node.lineno - 1, "eval" if builtin == "eval" else "exec")
            elif first is not None:
                self.flag(
                    DYNAMIC_CODE, f"runs code built at run time ({builtin}): the scan cannot read it", node
                )
        self.check_paths(func, node)

    def check_method(self, func: ast.Attribute, args: list[ast.expr], node: ast.Call) -> None:
        owner = self.origin(func.value)
        if func.attr in ("__setattr__", "__delattr__"):
            delete = func.attr == "__delattr__"
            if protected(owner):
                self.attribute_write(f"{owner}.{text_of(args[0]) if args else '?'}", delete, node)
            elif args and protected(target := self.origin(args[0])):
                attr = text_of(args[1]) if len(args) > 1 else None
                self.attribute_write(f"{target}.{attr or '<computed>'}", delete, node)
        if owner == "sys.modules" and func.attr in rules.DICT_MUTATORS:
            self.flag(SYS_MODULES, f"changes sys.modules ({func.attr})", node)
        elif owner in rules.IMPORT_SYSTEM and func.attr in rules.LIST_MUTATORS:
            self.flag(SYS_MODULES, f"changes the import system ({owner}.{func.attr})", node)
        elif owner is not None and func.attr in rules.DICT_MUTATORS:
            if owner == GLOBALS or (owner.endswith(".__dict__") and protected(owner)):
                self.flag(MONKEYPATCH, f"changes {show(owner)} ({func.attr})", node)
            elif owner == "builtins" and isinstance(func.value, ast.Name):
                self.flag(MONKEYPATCH, f"changes the builtins ({func.attr})", node)
        if owner == SHELL and func.attr in ("run_line_magic", "run_cell_magic"):
            self.magic(func.attr, args, node)

    def magic(self, kind: str, args: list[ast.expr], node: ast.Call) -> None:
        name = text_of(args[0]) if args else None
        if name not in rules.PYTHON_MAGICS:
            return
        if kind == "run_line_magic" and len(args) > 1 and (code := text_of(args[1])) is not None:
            self.embedded(code, node.lineno - 1, "exec")
        elif kind == "run_cell_magic" and len(args) > 2 and (code := text_of(args[2])) is not None:
            self.embedded(code, node.lineno, "exec")

    def embedded(self, code: str, offset: int, mode: str) -> None:
        """Check ``code`` (a literal string the cell runs) as part of the cell, lines shifted."""
        try:
            tree = ast.parse(code, mode=mode)
        except (SyntaxError, ValueError):
            return
        saved = self.offset
        self.offset = saved + offset
        try:
            self.visit(tree)
        finally:
            self.offset = saved

    def check_paths(self, func: ast.expr, node: ast.Call) -> None:
        name = dotted(func) or (func.attr if isinstance(func, ast.Attribute) else "")
        last = name.split(".")[-1]
        if not (last in rules.FILE_CALLS or name.endswith("path.join")):
            return
        if last in ("run_line_magic", "run_cell_magic") and text_of(node.args[0] if node.args else None) in (
            rules.PYTHON_MAGICS
        ):
            return
        command = last in rules.COMMAND_CALLS
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for sub in ast.walk(arg):
                text = text_of(sub)
                for path in rules.absolute_paths(text, command) if text else []:
                    self.flag(OUTSIDE_FILE, f"opens {path}, outside the submission folder", node)
