"""Every entry of the ``slow`` list names a test module and function that exist, and gets the marker."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from helpers.slow import SLOW, is_slow

TESTS = Path(__file__).parent


@pytest.mark.parametrize("entry", sorted(SLOW))
def test_every_slow_entry_names_a_test_that_exists(entry: str) -> None:
    module, _, function = entry.partition("::")
    assert module.startswith("test_") and (TESTS / module).is_file(), f"no test module {module}"
    if function:
        found = getattr(importlib.import_module(module.removesuffix(".py")), function, None)
        assert callable(found), f"{module} has no test function {function}"
    assert SLOW[entry], f"{entry} does not say why it is slow"


def test_the_marker_is_added_to_what_the_list_names(request: pytest.FixtureRequest) -> None:
    assert is_slow("test_postgres.py", "test_anything")
    assert is_slow("test_adcourse.py", "test_check") and not is_slow("test_adcourse.py", "test_release_all")
    assert not is_slow("test_slow_marker.py", request.node.originalname)
    assert request.node.get_closest_marker("slow") is None
