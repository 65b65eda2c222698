"""The command line the benchmark scripts share: a ``--quick`` flag in, markdown tables out."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from _report import Table


def quick_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc`` (a module docstring) with ``--quick``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    return parser


def print_tables(tables: Iterable[Table]) -> None:
    """Print every table as markdown."""
    for table in tables:
        print(table.to_markdown())
