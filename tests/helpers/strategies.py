"""What the property tests draw: hypothesis strategies, domains, example counts, random directions.

The hypothesis profile (``ci`` derandomized, ``dev`` random) is loaded by ``tests/conftest.py``,
which pytest imports before any test module, so :data:`FAST` inherits it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Modest example counts: the whole core suite runs in well under a minute on two cores.
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def reals(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite float64 numbers in the closed interval [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def away_from_zero(margin: float, hi: float) -> st.SearchStrategy[float]:
    """Numbers with margin <= |x| <= hi: for functions with a kink at 0 (abs, relu)."""
    return st.tuples(st.sampled_from((-1.0, 1.0)), reals(margin, hi)).map(lambda sx: sx[0] * sx[1])


def arrays_of(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` whose entries come from ``elements``."""
    return hnp.arrays(np.float64, shape, elements=elements)


def scalar_or_array(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    """A Python float for ``shape == ()`` (the scalar code path), else a float64 array."""
    return elements if shape == () else arrays_of(shape, elements)


# Domains on which each elementary function is smooth and its derivatives stay moderate.
DOMAINS: dict[str, st.SearchStrategy[float]] = {
    "any": reals(-3.0, 3.0),
    "positive": reals(0.1, 10.0),
    "tan": reals(-1.3, 1.3),
    "kink": away_from_zero(0.05, 3.0),
    "base": reals(0.2, 5.0),
    "exponent": reals(-3.0, 3.0),
    "denominator": away_from_zero(0.3, 3.0),
}


def random_like(shape: tuple[int, ...], seed: int) -> Any:
    """A reproducible random direction (tangent or cotangent) of ``shape``; a float for ``()``."""
    rng = np.random.default_rng(seed)
    value = rng.uniform(-1.0, 1.0, size=shape)
    return float(value) if shape == () else value
