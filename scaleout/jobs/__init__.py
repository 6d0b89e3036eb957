"""Training jobs: ``python -m scaleout.jobs``, ``scaleout job`` and the spark-submit application.

The same entry point runs on a laptop (``--backend sklearn|dask``), on a
Spark cluster (``scaleout submit --master spark://...``) and as an EMR step:
``scaleout/jobs/__main__.py`` is the file spark-submit runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from ..exceptions import ScaleoutError
from .run import build_estimator, run_job, training_score
from .spec import JobSpec, build_parser, parse_job_args

__all__ = [
    "JobSpec",
    "build_estimator",
    "build_parser",
    "main",
    "parse_job_args",
    "run_job",
    "training_score",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run a job from command-line flags; print its metrics as JSON.

    Returns
    -------
    int
        0 on success, 2 with a one-line ``scaleout job: error: ...`` on bad input.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        build_parser().print_help()
        return 0
    try:
        metrics = run_job(parse_job_args(argv))
    except (ScaleoutError, ValueError, TypeError, FileNotFoundError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"scaleout job: error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=2, default=str))
    return 0
