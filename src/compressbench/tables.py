"""The one markdown table writer of the report and the claims' evidence.

Its own module so claims.py can use it without importing markdown.py (which imports claims)."""
from __future__ import annotations

from tabulate import tabulate


def table(rows, headers="keys") -> str:
    """A GitHub markdown table, every cell printed as given (no number parsing).

    rows: a DataFrame (its columns are the headers) or lists of cells with `headers`."""
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True, showindex=False)
