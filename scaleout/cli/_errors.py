"""How the command line ends: one line per error, never a raw traceback.

- a :class:`~scaleout.exceptions.ScaleoutError` (bad input, a file that
  cannot be written, ...): ``scaleout: error: <message>`` on one line, exit
  code :data:`EXIT_ERROR` (2, as argparse's usage errors);
- anything else is a bug: ``scaleout: internal error: <type>: <message>``
  and the path of a file holding the full traceback, exit code
  :data:`EXIT_INTERNAL` (1);
- Ctrl-C (SIGINT) exits with :data:`EXIT_INTERRUPTED` (130), SIGTERM with
  :data:`EXIT_TERMINATED` (143), each with one line. Both are raised as
  exceptions in the main thread, so the ``finally`` blocks and context
  managers on the way out run: temporary files and spill directories are
  removed.

The traceback files go to ``$XDG_STATE_HOME/scaleout/tracebacks``
(``~/.local/state/scaleout/tracebacks``), or the temp directory when that
cannot be written; each has a unique name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "Terminated",
    "one_line",
    "run_reporting_errors",
    "sigterm_raises",
    "traceback_dir",
    "write_traceback",
]

EXIT_INTERNAL = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanup code runs.

    A :class:`BaseException`, as ``KeyboardInterrupt``: ``except Exception``
    blocks do not swallow it.
    """


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(f"terminated by signal {signum}")


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_line(text: str) -> str:
    """``text`` with its lines joined by spaces (a message fit for one stderr line)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def traceback_dir() -> str:
    """Where traceback files go: ``$XDG_STATE_HOME/scaleout/tracebacks``."""
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(state, "scaleout", "tracebacks")


def write_traceback(exc: BaseException, argv: list[str]) -> str | None:
    """Write ``exc``'s full traceback to a new file; return its path (None if impossible)."""
    text = (
        f"scaleout {' '.join(argv)}\n"
        f"time: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}  pid: {os.getpid()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for directory in (traceback_dir(), tempfile.gettempdir()):
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            handle, path = tempfile.mkstemp(
                prefix=f"scaleout-traceback-{stamp}-", suffix=".txt", dir=directory
            )
            with os.fdopen(handle, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
        except OSError:
            continue
    return None


def run_reporting_errors(func: Callable[[], int], argv: list[str]) -> int:
    """Run ``func`` (a command); turn every way it can fail into one line and an exit code."""
    from ..exceptions import ScaleoutError

    try:
        with sigterm_raises():
            return func()
    except ScaleoutError as exc:
        _say(f"error: {one_line(str(exc)) or type(exc).__name__}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        _say("terminated")
        return EXIT_TERMINATED
    except Exception as exc:
        path = write_traceback(exc, argv)
        where = f"full traceback in {path}" if path else "the traceback could not be written"
        message = one_line(str(exc))
        if len(message) > 300:
            message = message[:297] + "..."
        _say(
            f"internal error: {type(exc).__name__}{': ' + message if message else ''} "
            f"({where}; please report it)"
        )
        return EXIT_INTERNAL


def _say(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        print(f"scaleout: {text}", file=sys.stderr, flush=True)
