"""Command-line value parsing shared by ``scaleout ...`` and the training job.

It lives below both (it imports only :mod:`scaleout.exceptions`) so that the
job, which spark-submit runs on a cluster, never imports the command line,
and the command line never reaches into the job for a helper.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .exceptions import ScaleoutError

__all__ = ["parse_params", "split_names"]


def parse_params(items: Sequence[str], flag: str = "--param") -> dict[str, Any]:
    """Parse ``key=value`` strings; values are JSON when they parse, else strings.

    Parameters
    ----------
    items : sequence of str
        E.g. ``["max_depth=3", "criterion=gini", "class_weight={\\"0\\": 2}"]``.
    flag : str, default "--param"
        The flag named in the error message.

    Returns
    -------
    dict
        ``{"max_depth": 3, "criterion": "gini", ...}``; a later key wins.

    Raises
    ------
    ScaleoutError
        For an item without ``=`` or with an empty key.
    """
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ScaleoutError(f"{flag} expects key=value, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def split_names(value: str | None) -> list[str] | None:
    """``"a,b,c"`` → ``["a", "b", "c"]`` (column lists such as ``--features``); None stays None."""
    return value.split(",") if value else None
