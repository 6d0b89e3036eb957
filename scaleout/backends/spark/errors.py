"""Spark and Py4J failures → scaleout errors with the first useful line.

A failed Spark job surfaces in Python as a Py4J error whose message is a
JVM stack trace. :func:`spark_errors` turns it into a
:class:`~scaleout.exceptions.ScaleoutError` (a
:class:`~scaleout.exceptions.DataError` for analysis errors: a missing path,
an unresolved column) holding the first line that says what went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from ...exceptions import DataError, ScaleoutError

__all__ = ["first_useful_line", "spark_errors"]

_NOISE = (
    re.compile(r"^An error occurred while calling"),
    re.compile(r"^\s*at "),
    re.compile(r"^\s*$"),
    re.compile(r"^Traceback"),
    re.compile(r"^\s*File \""),
    re.compile(r"^(py4j\.protocol\.)?Py4JJavaError"),
    re.compile(r"^JVM stacktrace:"),
)
_PREFIX = re.compile(r"^(?:[\w$.]+(?:Exception|Error):\s*)+")


def first_useful_line(message: str) -> str:
    """The first line of a Spark / Py4J message that is not boilerplate.

    Java exception class prefixes (``org.apache.spark.SparkException: ``)
    are dropped, and a Python worker's own exception line is preferred over
    Spark's "Job aborted" wrapper.
    """
    lines = [line.strip() for line in str(message).splitlines()]
    useful = [line for line in lines if not any(p.search(line) for p in _NOISE)]
    # A Python worker failure: its last "SomeError: ..." line is the real cause.
    python_errors = [
        line for line in useful if re.match(r"^(?:\w+\.)*[A-Z]\w*(?:Error|Exception): ", line)
    ]
    if "An exception was thrown from the Python worker" in message and python_errors:
        return python_errors[-1]
    for line in useful:
        cleaned = _PREFIX.sub("", line.lstrip(": ")).strip()
        if cleaned:
            return cleaned[:500]
    return (lines[0] if lines else "unknown Spark error")[:500]


def _is_spark_failure(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("py4j", "pyspark"))


@contextmanager
def spark_errors(action: str) -> Iterator[None]:
    """Re-raise Spark / Py4J failures inside the block as scaleout errors.

    Parameters
    ----------
    action : str
        What was being done, for the message ("fitting LogisticRegression").

    Raises
    ------
    DataError
        For Spark analysis errors (a missing file or column).
    ScaleoutError
        For any other Spark or Py4J failure.
    """
    try:
        yield
    except ScaleoutError:
        raise
    except Exception as exc:
        if not _is_spark_failure(exc):
            raise
        line = first_useful_line(str(exc))
        kind = DataError if type(exc).__name__ == "AnalysisException" else ScaleoutError
        raise kind(f"Spark failed while {action}: {line}") from None
