"""Is any fit slower after a change? Two source trees timed in one run.

Issue 11 (the architecture change) must leave every fit within 5% of its time
before. Both versions run side by side: a git worktree of ``--before`` (default:
the commit before the restructuring) and this tree, each in a warm worker
process (``benchmarks/fit_worker.py``: imports done, engine sessions started),
fitting the same Parquet files. Each (algorithm, engine) is timed in adjacent
ABBA pairs (:mod:`scaleout.bench.pairs`) and judged by the median pair ratio,
after one untimed fit on each side. A time is the wall seconds of one request in
the worker: opening the Parquet dataset (metadata) and the fit.

Usage::

    python benchmarks/bench_before_after.py [--before 4d21a69] [--rows 100000]
        [--pairs 5] [--engines sklearn,dask,spark]

Writes ``benchmarks/results/<name>.json`` and ``.md`` (``--name``, default ``before_after``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from scaleout.bench.cases import ALGORITHMS
from scaleout.bench.pairs import paired_times
from scaleout.datasets import make_blobs, make_classification, make_regression

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
TARGET = 1.05
#: The last commit before issue 11's restructuring.
BEFORE = "4d21a69"


class Worker:
    """A ``fit_worker.py`` process importing scaleout from ``tree``."""

    def __init__(self, tree: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fit_worker.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tree,
        )
        self.loaded_from = json.loads(self._read())["ready"]
        if not self.loaded_from.startswith(str(tree)):
            raise RuntimeError(f"worker for {tree} imported scaleout from {self.loaded_from}")

    def _read(self) -> str:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("fit worker died")
            if line.startswith("{"):
                return line

    def fit(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._read())

    def close(self) -> None:
        try:
            self.fit_quit()
        finally:
            self.proc.wait(timeout=120)

    def fit_quit(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
        self.proc.stdin.close()


def write_data(directory: Path, rows: int) -> dict[str, str]:
    """One Parquet directory per data kind of the suite (20 features)."""
    make = {
        "regression": make_regression,
        "classification": make_classification,
        "blobs": make_blobs,
    }
    paths = {}
    for kind, writer in make.items():
        path = directory / kind
        writer(str(path), rows, 20, random_state=0)
        paths[kind] = str(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the old tree")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--engines", default="sklearn,dask,spark")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument(
        "--name", default="before_after", help="results file stem in benchmarks/results/"
    )
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    algorithms = args.algorithms.split(",")

    with tempfile.TemporaryDirectory(prefix="scaleout-before-after-") as tmp:
        old_tree = Path(tmp) / "before"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old_tree),
             args.before],
            check=True,
        )
        try:
            paths = write_data(Path(tmp), args.rows)
            rows = run(old_tree, paths, engines, algorithms, args.pairs)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)],
                check=False,
            )
    report(rows, args)
    return 0


def _seconds(worker: Worker, request: dict[str, Any]) -> float:
    return worker.fit(request)["seconds"]


def run(
    old_tree: Path,
    paths: dict[str, str],
    engines: list[str],
    algorithms: list[str],
    pairs: int,
) -> list[dict[str, Any]]:
    before, after = Worker(old_tree), Worker(REPO)
    rows = []
    try:
        for engine in engines:
            for name in algorithms:
                case = ALGORITHMS[name]
                request = {
                    "algorithm": name,
                    "engine": engine,
                    "path": paths[case.data],
                    "target": "y" if case.supervised else None,
                    "params": case.params,
                }
                before.fit(request), after.fit(request)  # untimed: first use of each path
                timed = paired_times(
                    partial(_seconds, before, request), partial(_seconds, after, request), pairs
                )
                summary = timed.summary()
                row = {"engine": engine, "algorithm": name, **summary}
                rows.append(row)
                print(
                    f"{engine:8s} {name:24s} before {summary['baseline_s']:.3f} s  "
                    f"after {summary['ours_s']:.3f} s  ratio {summary['ratio']:.3f} "
                    f"(IQR {summary['ratio_q1']:.2f}-{summary['ratio_q3']:.2f})",
                    flush=True,
                )
    finally:
        before.close()
        after.close()
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "before": args.before,
        "after": subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=False,
        ).stdout.strip(),
        "rows": args.rows,
        "pairs": args.pairs,
        "target": TARGET,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    (RESULTS / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = [
        f"# Fit time after vs before ({meta['before']} → {meta['after']})",
        "",
        f"{args.rows:,} rows x 20 features, Parquet; median of {args.pairs} ABBA pair ratios "
        f"(after / before, wall seconds around `fit` in warm processes); target <= {TARGET}.",
        "",
        "| engine | algorithm | before s | after s | ratio | IQR | <= target? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ok = "yes" if row["ratio"] <= TARGET else "**no**"
        lines.append(
            f"| {row['engine']} | {row['algorithm']} | {row['baseline_s']:.3f} | "
            f"{row['ours_s']:.3f} | {row['ratio']:.3f} | "
            f"{row['ratio_q1']:.2f}-{row['ratio_q3']:.2f} | {ok} |"
        )
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
