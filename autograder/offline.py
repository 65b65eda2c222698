"""What an offline page needs next to it: MathJax and reveal.js, copied from installed packages.

The kit's lecture pages (:mod:`autograder.notebooks`) and slide decks (:mod:`autograder.slides`)
must read on a closed network and from the file system (``file://``), so nothing they load may
come from a CDN. Each output folder gets a ``_static/`` folder beside its HTML files:

* ``_static/mathjax/``: MathJax 2 as the ``jupyter-server-mathjax`` package ships it (a course
  dependency; the same copy serves the formgrader), without the translations of its menus;
* ``_static/reveal.js/``: reveal.js's ``dist/`` and ``plugin/`` folders, from the npm package that
  ``bash kit.sh setup`` installs into the virtual environment (:data:`REVEAL_JS_VERSION`), or from
  ``$ADCOURSE_REVEAL_JS`` (a folder holding reveal.js's ``dist/reveal.js``).

A copy is refreshed only when its source changed (a stamp file records where it came from).
The nbconvert templates that load these copies live in ``jupyter_data/nbconvert/templates/``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

#: The nbconvert templates of the kit (``adlib-lecture``, ``adlib-slides`` and their shared macro).
TEMPLATES = Path(__file__).resolve().parent / "jupyter_data" / "nbconvert" / "templates"
#: The macros both templates import (``offline_mathjax.html.j2``): an extra template path.
OFFLINE_MACROS = TEMPLATES / "adlib-offline"
#: Where the assets go, relative to the folder of the HTML files.
STATIC = "_static"
#: The reveal.js release the decks are made for (nbconvert's template targets 4.x; 5.x keeps its layout).
REVEAL_JS_VERSION = "5.2.1"
#: Where ``bash kit.sh setup`` installs it: ``npm install --prefix <venv>/share/adlib-reveal``.
REVEAL_JS_PREFIX = Path(sys.prefix) / "share" / "adlib-reveal"
_STAMP = ".adlib-source.json"


class AssetMissing(FileNotFoundError):
    """A package the offline pages need is not installed; the message says how to install it."""


def mathjax_source() -> Path:
    """The folder of ``MathJax.js`` in the installed ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:
        raise AssetMissing(
            "jupyter-server-mathjax is not installed (a course dependency): pip install -e '.[course]'"
        ) from exc
    folder = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
    if not (folder / "MathJax.js").is_file():
        raise AssetMissing(f"jupyter-server-mathjax has no MathJax.js in {folder}")
    return folder


def reveal_source() -> Path:
    """The installed reveal.js package folder (it holds ``dist/reveal.js`` and ``plugin/``).

    ``$ADCOURSE_REVEAL_JS`` wins when set; otherwise the npm package under :data:`REVEAL_JS_PREFIX`.
    """
    configured = os.environ.get("ADCOURSE_REVEAL_JS")
    folder = Path(configured) if configured else REVEAL_JS_PREFIX / "node_modules" / "reveal.js"
    if not (folder / "dist" / "reveal.js").is_file():
        where = "$ADCOURSE_REVEAL_JS" if configured else "the virtual environment"
        raise AssetMissing(
            f"reveal.js is not installed in {where} ({folder} has no dist/reveal.js). "
            f"Run `bash kit.sh setup` (it needs npm), or: "
            f"npm install --prefix {REVEAL_JS_PREFIX} reveal.js@{REVEAL_JS_VERSION}"
        )
    return folder


def reveal_version(folder: Path) -> str:
    """The version in a reveal.js package folder's ``package.json`` (``"unknown"`` without one)."""
    try:
        return str(json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def _copy_once(source: Path, target: Path, ignore: shutil.IgnorePattern | None = None) -> Path:
    """Copy the folder ``source`` to ``target`` unless ``target`` holds a copy of it; return ``target``."""
    stamp = {"source": str(source), "modified": (source / ".").stat().st_mtime}
    stamp_file = target / _STAMP
    try:
        if json.loads(stamp_file.read_text(encoding="utf-8")) == stamp:
            return target
    except (OSError, ValueError):
        pass
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=ignore)
    stamp_file.write_text(json.dumps(stamp), encoding="utf-8")
    return target


def _mathjax_ignore(folder: str, names: list[str]) -> list[str]:
    # The menus' translations (2 MB, 48 languages): keep English only.
    if Path(folder).name == "localization":
        return [n for n in names if n != "en"]
    return []


def install_mathjax(out_dir: Path) -> str:
    """Copy MathJax into ``out_dir/_static/mathjax``; return the URL of MathJax.js relative to ``out_dir``."""
    _copy_once(mathjax_source(), Path(out_dir) / STATIC / "mathjax", ignore=_mathjax_ignore)
    return f"{STATIC}/mathjax/MathJax.js"


def install_reveal(out_dir: Path) -> str:
    """Copy reveal.js's ``dist/`` and ``plugin/`` to ``out_dir/_static/reveal.js``; return the folder's URL.

    The URL is relative to ``out_dir``; the decks load ``<url>/dist/reveal.js`` and ``<url>/plugin/...``.
    """
    source = reveal_source()
    target = Path(out_dir) / STATIC / "reveal.js"
    _copy_once(source, target, ignore=lambda folder, names: _reveal_ignore(source, folder, names))
    return f"{STATIC}/reveal.js"


def _reveal_ignore(source: Path, folder: str, names: list[str]) -> list[str]:
    # Only what a deck loads: dist/ (script, styles, themes) and plugin/ (speaker notes); no sources or maps.
    if Path(folder) == source:
        return [n for n in names if n not in ("dist", "plugin", "LICENSE", "package.json")]
    return [n for n in names if n.endswith(".map")]
