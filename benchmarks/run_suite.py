"""The benchmark suite of issue 6: every algorithm x engine x size, with the peers.

A thin script over ``scaleout bench`` (the runner lives in ``scaleout.bench``
so the installed command has it too). Default: the full suite, results into
``benchmarks/results/`` (suite.json, suite.md, suite-*.png), and the
headline table of that run copied into the README (between the
``bench-headline`` markers)::

    python benchmarks/run_suite.py                 # full: 1e5, 1e6, 4e6 rows, ~30 min
    python benchmarks/run_suite.py --quick --out bench-quick

Any option of ``scaleout bench --help`` works here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from scaleout.bench.report import headline
from scaleout.cli import main

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- bench-headline:start -->", "<!-- bench-headline:end -->"


def update_readme(report_path: Path, readme: Path = ROOT / "README.md") -> bool:
    """Put the headline table of ``report_path`` between the README's markers.

    Returns
    -------
    bool
        Whether the README had the markers (and was rewritten).
    """
    report = json.loads(report_path.read_text(encoding="utf-8"))
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    m = report["machine"]
    block = (
        f"{START}\n"
        f"Full run of {report['started'][:10]} ({m['cores']} cores, "
        f"{m['ram_bytes'] / 2**30:.0f} GiB, {report['duration_s'] / 60:.0f} min; memory budget "
        f"{report['settings']['memory_budget'] / 2**20:.0f} MiB). Fit seconds at "
        f"{max(report['settings']['sizes']):,} rows x {report['settings']['features']} "
        "features (x the engine's peer):\n\n"
        f"{headline(report)}\n{END}"
    )
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    readme.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    return True


if __name__ == "__main__":  # LocalCluster worker processes need the guard
    args = sys.argv[1:]
    if "--out" not in args:
        args += ["--out", str(RESULTS)]
    code = main(["bench", *args])
    out = Path(args[args.index("--out") + 1]).resolve()
    if code == 0 and out == RESULTS and "--quick" not in args:
        print(f"README headline updated: {update_readme(out / 'suite.json')}", file=sys.stderr)
    sys.exit(code)
