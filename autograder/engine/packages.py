"""Which Python packages a student's kernel can import: the reference out of reach by construction.

A student's sandbox shows the virtual environment read-only, minus

* the reference library: ``adlib`` is replaced by a stand-in package (:func:`build_stand_in`)
  holding only its test helpers (``adlib.grading``) and the modules the assignment allows
  (``adlib_modules`` in its ``integrity.toml``), copied with the adlib modules they import; and
* every package that could do a student's work for them (:data:`HIDDEN_PACKAGES`: automatic
  and symbolic differentiation, numerical derivatives), unless the assignment allows it
  (``packages = ["torch"]``), and the system's and the base interpreter's site folders.

Hidden folders are covered by empty read-only mounts (:func:`masks`), so no import path, loader
trick or ``open`` reaches them. The answer key's trusted run sees everything.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

#: Packages no student kernel can import unless its assignment allows them, by the name an
#: assignment allows them under (``packages = ["torch"]``): each with the packages it needs.
HIDDEN_PACKAGES: dict[str, tuple[str, ...]] = {
    "adlib": ("adlib",),  # the reference implementation (a stand-in takes its place)
    "autograder": ("autograder",),
    "nbgrader": ("nbgrader",),
    "torch": ("torch", "functorch", "torchgen", "sympy", "mpmath"),  # torch imports sympy (optim, func)
    "sympy": ("sympy", "mpmath"),
    "mpmath": ("mpmath",),
    "scipy": ("scipy",),
    "micrograd": ("micrograd",),
    "jax": ("jax", "jaxlib"),
    "autograd": ("autograd",),
    "tensorflow": ("tensorflow",),
    "numdifftools": ("numdifftools",),
    "findiff": ("findiff",),
}

#: The stand-in package's ``__init__``.
STAND_IN_INIT = '''"""adlib while grading: only its test helpers (adlib.grading) and the modules
this assignment allows are here. The rest of the course library is not available to answers."""
'''

#: adlib modules every kernel has: the test helpers.
ALWAYS = ("adlib.grading",)


class PackageError(ValueError):
    """An allowed module that does not exist, or cannot be shown without the rest of adlib."""


def _adlib_root() -> Path:
    spec = importlib.util.find_spec("adlib")
    if spec is None or not spec.submodule_search_locations:
        raise PackageError("adlib is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _module_file(root: Path, dotted: str) -> Path | None:
    parts = dotted.split(".")[1:]
    base = root.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _imports(path: Path, dotted: str) -> set[str]:
    """The adlib modules the module ``dotted`` (file ``path``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "adlib")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "adlib":
                continue
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # a submodule, if it is one
    return found


def closure(allowed: Iterable[str]) -> dict[str, Path]:
    """``{module: file}`` of the allowed adlib modules and every adlib module they import."""
    root = _adlib_root()
    todo = list(dict.fromkeys([*ALWAYS, *allowed]))
    found: dict[str, Path] = {}
    for name in todo:
        if name == "adlib":
            raise PackageError("adlib as a whole cannot be allowed; name its modules (adlib.data)")
        path = _module_file(root, name)
        if path is None:
            if name in allowed:
                raise PackageError(f"{name} is not a module of adlib")
            continue  # a name imported from a module, not a module
        if name in found:
            continue
        found[name] = path
        for imported in sorted(_imports(path, name)):
            if imported == "adlib":
                raise PackageError(f"{name} imports from adlib's top level; it cannot be shown alone")
            if imported not in found:
                todo.append(imported)
    return found


def build_stand_in(target: Path, allowed: Iterable[str]) -> Path:
    """Write the stand-in ``adlib`` package into ``target`` (a folder for the kernel's path)."""
    root = _adlib_root()
    package = target / "adlib"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(STAND_IN_INIT, encoding="utf-8")
    for path in closure(allowed).values():
        rel = path.relative_to(root)
        dest = package / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        for parent in rel.parents:  # packages on the way hold only what is allowed
            init = package / parent / "__init__.py"
            if parent != Path(".") and not init.exists():
                init.write_text('"""Only some modules of this package are available while grading."""\n')
        shutil.copyfile(path, dest)
        if path.name == "__init__.py":  # a package's data files (e.g. the digits)
            for data in path.parent.iterdir():
                if data.is_file() and data.suffix not in (".py", ".pyc"):
                    shutil.copyfile(data, dest.parent / data.name)
    return target


def _locations(name: str) -> list[Path]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    return [Path(spec.origin)] if spec.origin and spec.origin not in ("built-in", "frozen") else []


def _site_folders() -> list[Path]:
    """Site folders the kernel's Python does not use but whose files the sandbox would show: the base
    interpreter's (when grading from a virtual environment) and the system's."""
    found = []
    if sys.prefix != sys.base_prefix:
        found.append(
            Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"])
        )
        found.append(
            Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["platlib"])
        )
    found += [Path("/usr/lib/python3/dist-packages"), *Path("/usr/local/lib").glob("python3*/dist-packages")]
    found += list(Path("/usr/local/lib").glob("python3*/site-packages")) if sys.prefix != "/usr/local" else []
    here = {Path(p).resolve() for p in sys.path if p}
    return [p for p in dict.fromkeys(found) if p.is_dir() and p.resolve() not in here]


def masks(allowed_packages: Iterable[str]) -> list[Path]:
    """Folders and files to cover in a student's sandbox: hidden packages not allowed, and the
    unused site folders."""
    shown = {p for name in allowed_packages for p in HIDDEN_PACKAGES.get(name, (name,))}
    found: list[Path] = []
    for group in HIDDEN_PACKAGES.values():
        found += [path for name in group if name not in shown for path in _locations(name)]
    found += _site_folders()
    return [p for p in dict.fromkeys(p.resolve() for p in found) if p.exists()]
