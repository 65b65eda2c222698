"""pytest's hooks and the fixtures several test modules share; the helpers are in :mod:`helpers`.

The hooks: the hypothesis profile, warning filters, and the ``slow`` marker (the tests
:mod:`helpers.slow` lists).
The fixtures:

* ``seed_trace``: the trace of the lecture's example :func:`helpers.programs.seed_f` at (2, 5);
* ``toy``: the toy class of :mod:`helpers.toycourse`, released once per test process;
* ``pg_server``: a PostgreSQL server (:mod:`helpers.pgserver`), one per test process.

Heavy imports (nbgrader, PostgreSQL) happen inside the fixtures, so collecting the fast adlib
tests does not pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from helpers.pgserver import PgServer
    from helpers.toycourse import Toy

    from adlib.trace import Trace

# CI runs one fixed set of examples (HYPOTHESIS_PROFILE=ci, set by .ci/run): a submission lands or
# not on its own merits, never on a random draw. Locally every run draws new examples and reports
# any failure with a blob that replays it. Loaded here, before any test module builds its settings.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """torch.func.jvp calls the deprecated torch.jit.script internally; that is torch's business."""
    config.addinivalue_line("filterwarnings", "ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``slow`` the tests :data:`helpers.slow.SLOW` names."""
    from helpers.slow import is_slow

    for item in items:
        if is_slow(item.path.name, getattr(item, "originalname", item.name)):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def seed_trace() -> Trace:
    """The lecture's trace of ln x1 + x1 x2 - sin x2 at (2, 5)."""
    from helpers.programs import seed_f

    from adlib.trace import trace

    return trace(seed_f, 2, 5)


@pytest.fixture(scope="session")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Toy:
    """The toy class, released once; tests grade copies of it (``toy.copy``), never the original."""
    from helpers.toycourse import released_toy

    return released_toy(tmp_path_factory.mktemp("toy"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for this test process (one per xdist worker), stopped at the end.

    Missing binaries or a server that does not start fail the tests that use it, with the reason.
    """
    from helpers.pgserver import PgServer, PgServerError

    try:
        server = PgServer().start()
    except PgServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
