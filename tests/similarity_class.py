"""A class for the similarity report: honest, independent solutions and planted copies.

The exercise (one solution cell, ``forward``): a dual number class ``Dual`` with ``+`` and ``*``
(both sides), ``sin`` that works on numbers and dual numbers, ``derivative(f, x)`` by one forward
pass, and ``descend(f, x0, rate, steps)``, gradient descent with it.

* :data:`KEY` is the answer key.
* :data:`HONEST`: four students who solved it on their own, each in their own way (tuple slots
  and a ``lift`` helper; a static ``wrap`` and try/except; a numpy vector; a frozen dataclass and
  recursion). They share what the exercise dictates (the product rule, ``Dual(x, 1.0)``).
* :data:`COPIES`: who copied from whom, and how, written out by hand as a student would:

  - ``eve`` copied ``ben``: every name renamed, comments rewritten, lines re-wrapped;
  - ``finn`` copied ``cleo``: functions and methods reordered, comments and blank lines added;
  - ``gus`` copied ``ana``: reformatted (one statement per line, parentheses, trailing commas) and
    split over the solution cell and a cell of his own;
  - ``hana`` copied the answer key, with renamed variables and a docstring added.

``ivan`` (:data:`FROM_ADLIB`) pasted functions of the kit's reference library (``adlib``) into
his cell and renamed their arguments; the test builds his code from adlib's own source.
"""

from __future__ import annotations

KEY = """import math


class Dual:
    def __init__(self, value, tangent=0.0):
        self.value = value
        self.tangent = tangent

    def __add__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, Dual) else Dual(other)
        return Dual(self.value * other.value, self.value * other.tangent + self.tangent * other.value)

    __rmul__ = __mul__


def sin(x):
    if isinstance(x, Dual):
        return Dual(math.sin(x.value), math.cos(x.value) * x.tangent)
    return math.sin(x)


def derivative(f, x):
    return f(Dual(x, 1.0)).tangent


def descend(f, x0, rate=0.1, steps=100):
    x = x0
    for _ in range(steps):
        x = x - rate * derivative(f, x)
    return x
"""

ANA = """import math


def lift(v):
    return v if isinstance(v, Dual) else Dual(v, 0.0)


class Dual:
    __slots__ = ("re", "eps")

    def __init__(self, re, eps):
        self.re, self.eps = re, eps

    def __add__(self, o):
        o = lift(o)
        return Dual(self.re + o.re, self.eps + o.eps)

    def __radd__(self, o):
        return self + o

    def __mul__(self, o):
        o = lift(o)
        return Dual(self.re * o.re, self.re * o.eps + o.re * self.eps)

    def __rmul__(self, o):
        return self * o

    def __repr__(self):
        return f"Dual({self.re}, {self.eps})"


def sin(z):
    if not isinstance(z, Dual):
        return math.sin(z)
    return Dual(math.sin(z.re), z.eps * math.cos(z.re))


def derivative(f, x):
    out = f(Dual(float(x), 1.0))
    return out.eps if isinstance(out, Dual) else 0.0


def descend(f, x0, rate=0.1, steps=100):
    history = [x0]
    for step in range(steps):
        g = derivative(f, history[-1])
        history.append(history[-1] - rate * g)
    return history[-1]
"""

BEN = """from math import sin as _sin, cos as _cos


class Dual(object):
    def __init__(self, a, b=0):
        self.a = a
        self.b = b

    @staticmethod
    def wrap(x):
        if isinstance(x, Dual):
            return x
        return Dual(x)

    def __add__(self, y):
        y = Dual.wrap(y)
        total = Dual(0)
        total.a = self.a + y.a
        total.b = self.b + y.b
        return total

    def __radd__(self, y):
        return self.__add__(y)

    def __mul__(self, y):
        y = Dual.wrap(y)
        prod = Dual(0)
        prod.a = self.a * y.a
        # product rule
        prod.b = self.b * y.a + self.a * y.b
        return prod

    def __rmul__(self, y):
        return self.__mul__(y)


def sin(x):
    try:
        return Dual(_sin(x.a), _cos(x.a) * x.b)
    except AttributeError:
        return _sin(x)


def derivative(f, x):
    seed = Dual(x, 1)
    return f(seed).b


def descend(f, x0, rate=0.1, steps=100):
    x = x0
    n = 0
    while n < steps:
        slope = derivative(f, x)
        x -= rate * slope
        n += 1
    return x
"""

CLEO = """import numpy as np


class Dual:
    def __init__(self, parts):
        self.parts = np.asarray(parts, dtype=float)

    @property
    def value(self):
        return self.parts[0]

    @property
    def deriv(self):
        return self.parts[1]

    def _coerce(self, other):
        return other if isinstance(other, Dual) else Dual([other, 0.0])

    def __add__(self, other):
        return Dual(self.parts + self._coerce(other).parts)

    def __mul__(self, other):
        other = self._coerce(other)
        u, du = self.parts
        v, dv = other.parts
        return Dual([u * v, u * dv + du * v])

    __radd__ = __add__
    __rmul__ = __mul__


def sin(x):
    if isinstance(x, Dual):
        u, du = x.parts
        return Dual([np.sin(u), np.cos(u) * du])
    return np.sin(x)


def derivative(f, x):
    result = f(Dual([x, 1.0]))
    return float(result.deriv)


def descend(f, x0, rate=0.1, steps=100):
    points = np.empty(steps + 1)
    points[0] = x0
    for i in range(steps):
        points[i + 1] = points[i] - rate * derivative(f, points[i])
    return float(points[-1])
"""

DEV = """import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Dual:
    val: float
    der: float = 0.0

    def __add__(self, rhs):
        if not isinstance(rhs, Dual):
            return Dual(self.val + rhs, self.der)
        return Dual(self.val + rhs.val, self.der + rhs.der)

    def __radd__(self, lhs):
        return self.__add__(lhs)

    def __mul__(self, rhs):
        if not isinstance(rhs, Dual):
            return Dual(self.val * rhs, self.der * rhs)
        return Dual(self.val * rhs.val, self.der * rhs.val + self.val * rhs.der)

    def __rmul__(self, lhs):
        return self.__mul__(lhs)


def sin(x):
    return Dual(math.sin(x.val), math.cos(x.val) * x.der) if isinstance(x, Dual) else math.sin(x)


def derivative(f, x):
    return f(Dual(x, 1.0)).der


def descend(f, x0, rate=0.1, steps=100):
    def go(x, left):
        if left == 0:
            return x
        return go(x - rate * derivative(f, x), left - 1)

    return go(x0, steps)
"""

HONEST = {"ana": ANA, "ben": BEN, "cleo": CLEO, "dev": DEV}

# eve copied ben: names renamed, comments rewritten, lines re-wrapped.
EVE = """from math import sin as sine, cos as cosine


class Dual(object):
    # a dual number: real part and derivative part
    def __init__(self, re, du=0):
        self.re = re
        self.du = du

    @staticmethod
    def make(v):
        if isinstance(v, Dual):
            return v
        return Dual(v)

    def __add__(self, other):
        other = Dual.make(other)
        res = Dual(0)
        res.re = self.re + other.re
        res.du = self.du + other.du
        return res

    def __radd__(self, other):
        return self.__add__(other)

    def __mul__(self, other):
        other = Dual.make(other)
        res = Dual(0)
        res.re = self.re * other.re
        # d(uv) = u' v + u v'
        res.du = (self.du * other.re
                  + self.re * other.du)
        return res

    def __rmul__(self, other):
        return self.__mul__(other)


def sin(t):
    try:
        return Dual(sine(t.re), cosine(t.re) * t.du)
    except AttributeError:
        return sine(t)


def derivative(func, point):
    start = Dual(point, 1)
    return func(start).du


def descend(func, x0, rate=0.1, steps=100):
    cur = x0
    count = 0
    while count < steps:
        grad = derivative(func, cur)
        cur -= rate * grad
        count += 1
    return cur
"""

# finn copied cleo: functions and methods reordered, comments and blank lines added.
FINN = """import numpy as np


def descend(f, x0, rate=0.1, steps=100):
    # keep every iterate
    points = np.empty(steps + 1)
    points[0] = x0

    for i in range(steps):
        points[i + 1] = points[i] - rate * derivative(f, points[i])

    return float(points[-1])


def derivative(f, x):
    # seed the tangent with 1
    result = f(Dual([x, 1.0]))
    return float(result.deriv)


def sin(x):
    if isinstance(x, Dual):
        u, du = x.parts
        return Dual([np.sin(u), np.cos(u) * du])

    return np.sin(x)


class Dual:
    def __mul__(self, other):
        other = self._coerce(other)
        u, du = self.parts
        v, dv = other.parts
        # product rule
        return Dual([u * v, u * dv + du * v])

    def __add__(self, other):
        return Dual(self.parts + self._coerce(other).parts)

    def __init__(self, parts):
        self.parts = np.asarray(parts, dtype=float)

    def _coerce(self, other):
        return other if isinstance(other, Dual) else Dual([other, 0.0])

    @property
    def deriv(self):
        return self.parts[1]

    @property
    def value(self):
        return self.parts[0]

    __rmul__ = __mul__
    __radd__ = __add__
"""

# gus copied ana: reformatted and split over the solution cell and a cell of his own.
GUS_SOLUTION = """import math


def lift(v):
    return (v
            if isinstance(v, Dual)
            else Dual(v, 0.0))


class Dual:
    __slots__ = ("re", "eps",)

    def __init__(self, re, eps):
        self.re = re
        self.eps = eps

    def __add__(self, o):
        o = lift(o)
        return Dual(
            self.re + o.re,
            self.eps + o.eps,
        )

    def __radd__(self, o):
        return self + o

    def __mul__(self, o):
        o = lift(o)
        return Dual(
            self.re * o.re,
            self.re * o.eps + o.re * self.eps,
        )

    def __rmul__(self, o):
        return self * o

    def __repr__(self):
        return f"Dual({self.re}, {self.eps})"
"""

GUS_OWN_CELL = """def sin(z):
    if not isinstance(z, Dual):
        return math.sin(z)
    return Dual(math.sin(z.re),
                z.eps * math.cos(z.re))


def derivative(f, x):
    out = f(Dual(float(x), 1.0))
    return (out.eps
            if isinstance(out, Dual)
            else 0.0)


def descend(f, x0, rate=0.1, steps=100):
    history = [x0]
    for step in range(steps):
        g = derivative(f, history[-1])
        history.append(
            history[-1] - rate * g
        )
    return history[-1]
"""

# hana copied the answer key: renamed variables, a docstring added.
HANA = '''import math


class Dual:
    """Dual numbers for forward mode."""

    def __init__(self, v, t=0.0):
        self.v = v
        self.t = t

    def __add__(self, rhs):
        rhs = rhs if isinstance(rhs, Dual) else Dual(rhs)
        return Dual(self.v + rhs.v, self.t + rhs.t)

    __radd__ = __add__

    def __mul__(self, rhs):
        rhs = rhs if isinstance(rhs, Dual) else Dual(rhs)
        return Dual(self.v * rhs.v, self.v * rhs.t + self.t * rhs.v)

    __rmul__ = __mul__


def sin(a):
    if isinstance(a, Dual):
        return Dual(math.sin(a.v), math.cos(a.v) * a.t)
    return math.sin(a)


def derivative(fn, a):
    return fn(Dual(a, 1.0)).t


def descend(fn, start, rate=0.1, steps=100):
    a = start
    for _ in range(steps):
        a = a - rate * derivative(fn, a)
    return a
'''

#: Who copied (the key) from whom (the value): the pairs the report must find.
COPIES = {"eve": "ben", "finn": "cleo", "gus": "ana"}
#: The answer key's copy, found by the comparison with the key.
KEY_COPY = "hana"

#: ivan's own glue around the adlib functions he pasted (the test adds those).
IVAN_GLUE = """class Dual:
    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent


def derivative(f, x):
    return float(central_difference(f, x))
"""
#: The adlib functions ivan pasted, and the renames he made in them.
FROM_ADLIB = ("adlib.numerical.differences", ("_steps", "_difference_columns", "central_difference"))
IVAN_RENAMES = {"method": "how", "columns": "cols"}
