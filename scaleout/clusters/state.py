"""Where running clusters are recorded: one JSON file per engine in a state directory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENGINES = ("dask", "spark")


def state_dir() -> Path:
    """The state directory: ``$SCALEOUT_STATE_DIR``, else ``~/.scaleout/clusters``.

    Returns
    -------
    pathlib.Path
        The directory (created if missing).
    """
    env = os.environ.get("SCALEOUT_STATE_DIR")
    path = Path(env) if env else Path.home() / ".scaleout" / "clusters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_file(engine: str) -> Path:
    """The JSON file that records the ``engine`` cluster."""
    return state_dir() / f"{engine}.json"


def log_dir(engine: str) -> Path:
    """The directory of the ``engine`` cluster's log files (created if missing)."""
    path = state_dir() / f"{engine}-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_state(engine: str) -> dict[str, Any] | None:
    """The recorded state of the ``engine`` cluster, or None when there is none."""
    path = state_file(engine)
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_state(engine: str, state: dict[str, Any]) -> Path:
    """Record ``state`` atomically (temporary file + rename)."""
    path = state_file(engine)
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    os.replace(tmp, path)
    return path


def remove_state(engine: str) -> None:
    """Forget the ``engine`` cluster (its logs are kept)."""
    state_file(engine).unlink(missing_ok=True)
