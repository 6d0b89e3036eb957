"""The benchmark suite of issue 6: every algorithm x engine x size, with the peers.

A thin script over ``scaleout bench`` (the runner lives in ``scaleout.bench``
so the installed command has it too). Default: the full suite, results into
``benchmarks/results/`` (suite.json, suite.md, suite-*.png)::

    python benchmarks/run_suite.py                 # full: 1e5, 1e6, 4e6 rows, ~30 min
    python benchmarks/run_suite.py --quick --out bench-quick

Any option of ``scaleout bench --help`` works here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scaleout.cli import main

RESULTS = Path(__file__).resolve().parent / "results"

if __name__ == "__main__":  # LocalCluster worker processes need the guard
    args = sys.argv[1:]
    if "--out" not in args:
        args += ["--out", str(RESULTS)]
    sys.exit(main(["bench", *args]))
