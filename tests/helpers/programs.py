"""Programs several test modules trace, differentiate or draw.

:func:`seed_f` is the lecture's :math:`f(x_1, x_2) = \\ln x_1 + x_1 x_2 - \\sin x_2`; at
:math:`(2, 5)` (the fixture ``seed_trace`` of ``conftest.py``) its value is
:math:`\\ln 2 + 10 - \\sin 5 = 11.652` and its gradient :math:`(1/x_1 + x_2, x_1 - \\cos x_2) = (5.5, 1.716)`.
"""

from __future__ import annotations

from typing import Any

import adlib


def seed_f(x1: Any, x2: Any) -> Any:
    """The lecture's example :math:`\\ln x_1 + x_1 x_2 - \\sin x_2`."""
    return adlib.log(x1) + x1 * x2 - adlib.sin(x2)
