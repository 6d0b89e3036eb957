"""The one check of column names shared by every source: no name twice.

Columns are found by name (Parquet, CSV, pandas, Spark): a name that appears
twice makes "the column ``a``" ambiguous, and reading it fails deep inside the
fit (a ``KeyError``, or Spark's ``AMBIGUOUS_REFERENCE``). It is refused up
front, naming the column(s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..exceptions import DataError

__all__ = ["check_unique_columns", "duplicated_names"]


def duplicated_names(names: Iterable[Any]) -> list[Any]:
    """The names that appear more than once in ``names``, in order of first appearance."""
    counts = Counter(names)
    return [name for name, count in counts.items() if count > 1]


def check_unique_columns(
    names: Sequence[Any], *, where: str, used: Iterable[Any] | None = None
) -> None:
    """Refuse a source whose columns repeat a name that the fit would read.

    Parameters
    ----------
    names : sequence
        The source's column names, in order.
    where : str
        Description of the source, for the message (``"file '/p/a.csv'"``).
    used : iterable, optional
        The columns the fit reads (features and target); a repeated name that
        is not among them is harmless. None: every column is read.

    Raises
    ------
    DataError
        Naming the duplicated column(s), how many times each appears, and
        the source.
    """
    duplicated = duplicated_names(names)
    if used is not None:
        wanted = set(used)
        duplicated = [name for name in duplicated if name in wanted]
    if not duplicated:
        return
    counts = Counter(names)
    listed = ", ".join(f"{name!r} ({counts[name]} times)" for name in duplicated[:10])
    more = f" and {len(duplicated) - 10} more" if len(duplicated) > 10 else ""
    label = "name" if len(duplicated) == 1 else "names"
    raise DataError(
        f"duplicate column {label} in {where}: {listed}{more}; each column must have a "
        "unique name (rename or drop the duplicates)"
    )
