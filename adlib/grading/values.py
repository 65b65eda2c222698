"""Plain data: what a check observes of a value, and how two observations are compared.

A test check never hands the grader a student's object. It turns the value into *plain data*
(:func:`encode`): numbers and arrays as float64 bytes with their shape, booleans, strings,
``None``, lists, dicts, or only the name of a type it does not know. The grader reads that data
back with :func:`decode`, which accepts nothing else (no pickles, bounded sizes, every field
checked), and compares it with the answer key's observation of the same check (:func:`compare`).
The same comparison decides a check in a student's own JupyterLab, where it compares with the
expected value written in the test.

Two numbers agree under ``close`` when :math:`|g - e| \\le \\mathrm{atol} + \\mathrm{rtol}\\,|e|`
(numpy's ``isclose``; NaN agrees with NaN), entry by entry for arrays of the same shape; under
``equal`` they must be equal exactly.
"""

from __future__ import annotations

import base64
import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The most numbers, items (list entries, dict entries) and characters one observation may hold.
MAX_NUMBERS = 1_000_000
MAX_ITEMS = 10_000
MAX_TEXT = 10_000
#: How deep lists and dicts may nest.
MAX_DEPTH = 8

#: The value types of plain data (the ``"t"`` field).
TYPES = ("num", "bool", "str", "none", "seq", "map", "object", "error", "big")


class ObservationError(ValueError):
    """Data that is not a well-formed observation (wrong fields, types or sizes)."""


# ----------------------------------------------------------------------------- encoding (kernel)


def _number_leaves(x: Any, depth: int) -> Any:
    """``x`` as nested lists of Python floats if it is a regular nest of plain numbers, else None."""
    if type(x) in (int, float) or isinstance(x, np.integer | np.floating):
        return float(x)
    if type(x) in (list, tuple) and depth < MAX_DEPTH and 0 < len(x) <= MAX_ITEMS:
        inner = [_number_leaves(item, depth + 1) for item in x]
        if any(item is None for item in inner):
            return None
        return inner
    return None


def _num(array: np.ndarray, python_type: str) -> dict[str, Any]:
    data = np.asarray(array, dtype="<f8", order="C")
    return {
        "t": "num",
        "shape": [int(n) for n in data.shape],
        "dtype": str(array.dtype),
        "py": python_type,
        "b64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def _tensor(x: Any) -> dict[str, Any] | None:
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(x, torch.Tensor):
        return None
    t = torch.Tensor.detach(x)
    if t.is_complex() or t.numel() > MAX_NUMBERS:
        return {"t": "big", "what": f"a tensor of {t.numel()} entries"} if t.numel() > MAX_NUMBERS else None
    array = t.to("cpu", torch.float64).numpy()
    out = _num(array, "Tensor")
    out["dtype"] = str(t.dtype).replace("torch.", "")
    return out


def _type_name(x: Any) -> str:
    cls = type(x)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", "") or getattr(cls, "__name__", "?")
    text = f"{module}.{name}" if module not in ("builtins", "__main__", "") else str(name)
    return str(text)[:80]


def encode(x: Any, depth: int = 0) -> dict[str, Any]:
    """``x`` as plain data (a JSON-ready dict with a type tag ``"t"``).

    Only values of known, exact types are read: numbers (Python and numpy), numpy arrays of
    numbers or booleans, torch tensors, booleans, strings, ``None``, and lists, tuples, dicts and
    sets of those. Anything else is recorded by its type's name alone: a student's object is never
    asked for its value here (a test reads ``.value`` itself).
    """
    if x is None:
        return {"t": "none"}
    if type(x) is bool or type(x) is np.bool_:
        return {"t": "bool", "v": bool(x)}
    if type(x) in (int, float) or isinstance(x, np.integer | np.floating):
        if type(x) is int and abs(x) > 2**63:
            return {"t": "big", "what": "an integer too large for a float"}
        return _num(np.asarray(float(x)), type(x).__name__)
    if type(x) is np.ndarray:
        if x.dtype.kind not in "biuf":
            return {"t": "object", "type": f"numpy array of {x.dtype}"}
        if x.size > MAX_NUMBERS:
            return {"t": "big", "what": f"an array of {x.size} entries"}
        return _num(x, "ndarray")
    tensor = _tensor(x)
    if tensor is not None:
        return tensor
    if type(x) is str:
        return {"t": "str", "v": x[:MAX_TEXT], "n": len(x)}
    if type(x) in (list, tuple):
        leaves = _number_leaves(x, depth)
        if leaves is not None:
            try:
                array = np.array(leaves, dtype=float)
            except ValueError:  # ragged
                array = None
            if array is not None and array.dtype == np.float64 and array.size <= MAX_NUMBERS:
                return _num(array, type(x).__name__)
        if depth >= MAX_DEPTH or len(x) > MAX_ITEMS:
            return {"t": "big", "what": f"a {type(x).__name__} nested too deep or too long"}
        return {"t": "seq", "py": type(x).__name__, "v": [encode(item, depth + 1) for item in x]}
    if type(x) in (set, frozenset):
        if depth >= MAX_DEPTH or len(x) > MAX_ITEMS:
            return {"t": "big", "what": "a set too large"}
        items = sorted((encode(item, depth + 1) for item in x), key=_sort_key)
        return {"t": "seq", "py": "set", "v": items}
    if type(x) is dict:
        if depth >= MAX_DEPTH or len(x) > MAX_ITEMS:
            return {"t": "big", "what": "a dict too large"}
        pairs = [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in x.items()]
        pairs.sort(key=lambda kv: _sort_key(kv[0]))
        return {"t": "map", "v": pairs}
    return {"t": "object", "type": _type_name(x)}


def _sort_key(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def encode_error(exc: BaseException) -> dict[str, Any]:
    """What an exception raised while computing a checked value is recorded as."""
    return {"t": "error", "type": _type_name(exc)[:80], "msg": str(exc)[:500]}


# ----------------------------------------------------------------------------- decoding (grader)


@dataclass(frozen=True)
class Num:
    """Numbers: a float64 array (0-d for one number), the dtype and Python type they came from."""

    array: np.ndarray
    dtype: str
    py: str


@dataclass(frozen=True)
class Other:
    """Any non-numeric plain value: ``kind`` is the type tag, ``value`` its decoded content."""

    kind: str
    value: Any


Value = Num | Other


def _field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], limit: int | None = None) -> Any:
    if name not in data:
        raise ObservationError(f"missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ObservationError(f"field {name!r} has the wrong type")
    if limit is not None and isinstance(value, str | list) and len(value) > limit:
        raise ObservationError(f"field {name!r} is too long")
    return value


def decode(data: Any, depth: int = 0, budget: list[int] | None = None) -> Value:
    """Plain data back into a :data:`Value`, checking every field; :class:`ObservationError` else."""
    budget = [MAX_NUMBERS, MAX_ITEMS] if budget is None else budget
    if not isinstance(data, dict) or depth > MAX_DEPTH:
        raise ObservationError("a value must be a small JSON object")
    tag = _field(data, "t", str, 16)
    if tag == "num":
        shape = _field(data, "shape", list, 32)
        if not all(type(n) is int and 0 <= n <= MAX_NUMBERS for n in shape):
            raise ObservationError("bad shape")
        size = math.prod(shape)
        budget[0] -= size
        if budget[0] < 0:
            raise ObservationError("too many numbers")
        raw = _field(data, "b64", str, 4 * (8 * MAX_NUMBERS // 3 + 4))
        try:
            blob = base64.b64decode(raw.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError) as exc:
            raise ObservationError("bad number data") from exc
        if len(blob) != 8 * size:
            raise ObservationError("number data does not match the shape")
        array = np.frombuffer(blob, dtype="<f8").reshape(shape).astype(np.float64)
        return Num(array, str(_field(data, "dtype", str, 32)), str(_field(data, "py", str, 32)))
    budget[1] -= 1
    if budget[1] < 0:
        raise ObservationError("too many items")
    if tag == "bool":
        return Other("bool", _field(data, "v", bool))
    if tag == "str":
        text = _field(data, "v", str, MAX_TEXT)
        return Other("str", text)
    if tag == "none":
        return Other("none", None)
    if tag == "seq":
        items = _field(data, "v", list, MAX_ITEMS)
        return Other("seq", tuple(decode(item, depth + 1, budget) for item in items))
    if tag == "map":
        pairs = _field(data, "v", list, MAX_ITEMS)
        out = []
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ObservationError("a map entry must be a pair")
            out.append((decode(pair[0], depth + 1, budget), decode(pair[1], depth + 1, budget)))
        return Other("map", tuple(out))
    if tag == "object":
        return Other("object", _field(data, "type", str, 200))
    if tag == "error":
        return Other("error", (_field(data, "type", str, 200), _field(data, "msg", str, 1000)))
    if tag == "big":
        return Other("big", _field(data, "what", str, 200))
    raise ObservationError(f"unknown value type {tag[:16]!r}")


# ----------------------------------------------------------------------------- comparing


def _digits(e: float, g: float) -> tuple[str, str]:
    """``e`` and ``g`` written with just enough significant digits to tell them apart."""
    for p in range(4, 18):
        fe, fg = f"{e:.{p}g}", f"{g:.{p}g}"
        if fe != fg:
            return fe, fg
    return repr(e), repr(g)


def _one(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}" if 1e-4 <= abs(x) < 1e6 else f"{x:.6e}"


def describe(value: Value, limit: int = 120) -> str:
    """A short, readable rendering of a value for a message (never more than ``limit`` characters)."""
    if isinstance(value, Num):
        a = value.array
        if a.ndim == 0:
            text = _one(float(a))
        else:
            text = np.array2string(a, precision=6, threshold=8, edgeitems=2, separator=", ")
            text = f"{text} (shape {tuple(a.shape)})" if a.ndim > 1 or a.size > 8 else text
    elif value.kind == "str":
        text = repr(value.value)
    elif value.kind == "bool":
        text = str(value.value)
    elif value.kind == "none":
        text = "None"
    elif value.kind == "object":
        text = f"an object of type {value.value}"
    elif value.kind == "error":
        text = f"an error ({value.value[0]}: {value.value[1]})"
    elif value.kind == "big":
        text = f"{value.value} (too large to compare)"
    elif value.kind == "seq":
        text = (
            "["
            + ", ".join(describe(v, 30) for v in value.value[:6])
            + (", ...]" if len(value.value) > 6 else "]")
        )
    else:  # map
        inner = ", ".join(f"{describe(k, 20)}: {describe(v, 30)}" for k, v in value.value[:5])
        text = "{" + inner + (", ...}" if len(value.value) > 5 else "}")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _noun(value: Value) -> str:
    if isinstance(value, Num):
        return "a number" if value.array.ndim == 0 else f"an array of shape {tuple(value.array.shape)}"
    return {
        "bool": "True or False",
        "str": "a string",
        "none": "None",
        "seq": "a list",
        "map": "a dict",
        "object": f"an object of type {value.value}",
        "error": "an error",
        "big": str(value.value),
    }[value.kind]


def _compare_num(kind: str, e: Num, g: Num, rtol: float, atol: float) -> str | None:
    if e.array.shape != g.array.shape:
        if e.array.ndim == 0:
            return f"expected a number, got an array of shape {tuple(g.array.shape)}"
        return f"expected shape {tuple(e.array.shape)}, got shape {tuple(g.array.shape)}"
    if kind == "close":
        ok = np.isclose(g.array, e.array, rtol=rtol, atol=atol, equal_nan=True)
    else:
        ok = (g.array == e.array) | (np.isnan(g.array) & np.isnan(e.array))
    if bool(np.all(ok)):
        return None
    if e.array.ndim == 0:
        fe, fg = _digits(float(e.array), float(g.array))
        return f"expected {fe}, got {fg}"
    bad = np.argwhere(~ok)
    idx = tuple(int(i) for i in bad[0])
    fe, fg = _digits(float(e.array[idx]), float(g.array[idx]))
    return f"{len(bad)} of {e.array.size} entries differ; first at index {idx}: expected {fe}, got {fg}"


def _as_num(value: Value) -> Num | None:
    """Numbers as they are; True/False as 1/0 (numpy's booleans and Python's mix in answers)."""
    if isinstance(value, Num):
        return value
    if value.kind == "bool":
        return Num(np.asarray(float(value.value)), "bool", "bool")
    return None


def _mismatch(expected: Value, got: Value) -> str:
    shown = describe(got) if isinstance(got, Num) or got.kind in ("str", "bool", "none") else _noun(got)
    return f"expected {_noun(expected)}, got {shown}"


def compare(kind: str, expected: Value, got: Value, rtol: float = 1e-6, atol: float = 1e-9) -> str | None:
    """``None`` when ``got`` agrees with ``expected`` under ``kind`` (``"close"``, ``"equal"``,
    ``"true"``), else what differs, in words (``"expected 0.25, got -0.25"``)."""
    if isinstance(got, Other) and got.kind == "error":
        return f"your code raised {got.value[0]}: {got.value[1]}"
    if kind == "true":
        truth = _as_num(got)
        if truth is not None and truth.array.ndim == 0 and truth.dtype == "bool" and bool(truth.array):
            return None
        return (
            "check failed"
            if truth is not None and truth.dtype == "bool"
            else f"expected True, got {describe(got)}"
        )
    if isinstance(expected, Num) or isinstance(got, Num):
        e, g = _as_num(expected), _as_num(got)
        if e is None or g is None:
            return _mismatch(expected, got)
        return _compare_num(kind, e, g, rtol, atol)
    if expected.kind != got.kind:
        return _mismatch(expected, got)
    if expected.kind == "seq":
        if len(expected.value) != len(got.value):
            return f"expected {len(expected.value)} items, got {len(got.value)}: {describe(got)}"
        for i, (e, g) in enumerate(zip(expected.value, got.value, strict=True)):
            differs = compare(kind, e, g, rtol, atol)
            if differs is not None:
                return f"item {i}: {differs}"
        return None
    if expected.kind == "map":
        keys_e = tuple(k for k, _ in expected.value)
        keys_g = tuple(k for k, _ in got.value)
        same = len(keys_e) == len(keys_g) and all(
            compare("equal", ke, kg) is None for ke, kg in zip(keys_e, keys_g, strict=True)
        )
        if not same:
            return f"expected the keys {describe(Other('seq', keys_e))}, got {describe(Other('seq', keys_g))}"
        for (k, e), (_, g) in zip(expected.value, got.value, strict=True):
            differs = compare(kind, e, g, rtol, atol)
            if differs is not None:
                return f"entry {describe(k, 40)}: {differs}"
        return None
    if expected.value == got.value:
        return None
    return f"expected {describe(expected)}, got {describe(got)}"


def message(what: str, detail: str, hint: str = "") -> str:
    """A failed check in one line: ``what: detail: hint``."""
    return f"{what}: {detail}" + (f": {hint}" if hint else "")
