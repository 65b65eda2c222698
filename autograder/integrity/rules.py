"""The lists the static tamper check works from: protected modules, file functions, magics.

Kept apart from the scanner so that an instructor can read, in one place, what is flagged.
"""

from __future__ import annotations

import builtins
import re

#: Modules whose attributes student code must not assign, delete or patch: numpy and the math
#: the tests compute with, builtins, the import system, the reference library and its test
#: helpers, torch (the reference of several tests) and IPython (which runs the tests).
PROTECTED = frozenset(
    {
        "numpy",
        "math",
        "cmath",
        "builtins",
        "sys",
        "importlib",
        "inspect",
        "adlib",
        "torch",
        "sympy",
        "IPython",
        "ipykernel",
        "unittest",
        "<tests>",
    }
)

#: Names of Python's builtins (``len``, ``abs``, ...).
BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))

#: Methods that change a mapping or list in place.
DICT_MUTATORS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"})
LIST_MUTATORS = frozenset({"append", "insert", "extend", "remove", "pop", "clear", "__setitem__"})

#: Attributes of ``sys`` that hold the import system (sys.modules itself is checked on its own).
IMPORT_SYSTEM = frozenset({"sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"})

#: ``sys`` functions that let code watch or rewrite everything that runs after it.
TRACE_HOOKS = frozenset({"sys.settrace", "sys.setprofile", "sys.addaudithook", "threading.settrace"})

#: What IPython's input transformer makes of magics and shell escapes: safe to call.
SHELL_CALLS = frozenset({"run_line_magic", "run_cell_magic", "system", "getoutput"})

#: Magics whose argument (or cell body) is Python code run in the kernel.
PYTHON_MAGICS = frozenset({"time", "timeit", "prun", "capture", "debug"})

#: Calls whose string arguments are command lines: every word is checked as a path.
COMMAND_CALLS = frozenset(
    {
        "system",
        "popen",
        "getoutput",
        "getstatusoutput",
        "run",
        "call",
        "check_call",
        "check_output",
        "Popen",
        "run_line_magic",
        "run_cell_magic",
    }
)

#: Functions that take a file or folder path (or a command line), by their last name.
FILE_CALLS = (
    frozenset(
        {
            "open",
            "Path",
            "PurePath",
            "PosixPath",
            "PurePosixPath",
            "listdir",
            "scandir",
            "walk",
            "chdir",
            "stat",
            "lstat",
            "exists",
            "isfile",
            "isdir",
            "getsize",
            "readlink",
            "glob",
            "iglob",
            "copy",
            "copy2",
            "copyfile",
            "copytree",
            "move",
            "load",
            "loadtxt",
            "genfromtxt",
            "fromfile",
            "memmap",
            "read_csv",
            "read_table",
            "read_pickle",
            "read_json",
            "imread",
            "ZipFile",
            "run_path",
        }
    )
    | COMMAND_CALLS
)

#: Absolute paths that hold nothing of anybody's.
HARMLESS_PATHS = frozenset({"/dev/null"})

_ADLIB_NAME = re.compile(r"^adlib(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SEGMENTS = re.compile(r"[/\\]")


def names_adlib(text: str) -> bool:
    """``text`` is the name of adlib or one of its modules (``"adlib.nn"``)."""
    return bool(_ADLIB_NAME.match(text))


def climbs_out(text: str) -> bool:
    """``text`` holds a ``..`` path segment (``"../x"``, ``"a/../../b"``, ``".."``)."""
    return ".." in _SEGMENTS.split(text)


def absolute_paths(text: str, command: bool) -> list[str]:
    """The absolute (or home-relative) paths in ``text``: the whole text, or for a command line
    each word. ``/dev/null`` does not count."""
    words = text.split() if command else [text]
    found = []
    for word in words:
        word = word.strip("'\"")
        if word in HARMLESS_PATHS:
            continue
        if (word.startswith("/") and len(word) > 1 and not word[1].isspace()) or word.startswith("~"):
            found.append(word)
    return found
