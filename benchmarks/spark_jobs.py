"""How much fixed work does a Spark fit do? Jobs, stages, Py4J round trips, before and after.

Wall-clock ratios of ~1 s fits are noisy on a shared machine; what a change
adds to a Spark fit's fixed cost shows deterministically as extra Spark jobs,
stages, tasks, Py4J round trips and code compilations. For each algorithm
(``scaleout.bench.cases.ALGORITHMS``, their parameters) this script fits a
Parquet file (20 features, ``--rows`` rows) on the ``spark`` engine in two
source trees, each in a warm worker process as ``benchmarks/fit_worker.py``
(one untimed fit first): a git worktree of ``--before`` (or ``--before-tree``)
and this tree (or ``--after-tree``). Then ``--repeat`` fits per side, in ABBA
order, each measured for:

* the Spark jobs it ran, their stages (run; skipped ones apart) and tasks,
  read from the driver's status store (every job, whatever its job group),
  and the executors' CPU seconds in those stages;
* whole-stage / expression code compilations (Spark's ``CodegenMetrics``);
* under cProfile: the fit's seconds, the Py4J round trips and the seconds
  spent in them (the JVM: jobs, plan analysis), and the rest (driver-side
  Python: reading Arrow results, NumPy work);
* with ``--top N``, the N functions of ``scaleout`` with the most cumulative time.

The table shows each measure as ``before → after``: counts of the first fit,
medians of the seconds.

Usage::

    python benchmarks/spark_jobs.py [--before 4d21a69] [--before-tree DIR]
        [--after-tree DIR] [--rows 100000] [--algorithms KMeans,PCA]
        [--repeat 3] [--top 8] [--json out.json]

The counts do not depend on the machine's load; the seconds do (a lot on a
shared machine: compare task CPU seconds there, not wall seconds).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: The last commit before issue 11's restructuring (as benchmarks/bench_before_after.py).
BEFORE = "4d21a69"


# ------------------------------------------------------------------ worker side
def _status_store(sc: Any) -> Any:
    return sc._jsc.sc().statusStore()


def _drain(sc: Any) -> None:
    """Wait until the listener bus delivered every event to the status store."""
    sc._jsc.sc().listenerBus().waitUntilEmpty()


def _jobs(sc: Any) -> dict[int, Any]:
    seq = _status_store(sc).jobsList(None)
    return {int(seq.apply(i).jobId()): seq.apply(i) for i in range(seq.size())}


def _codegen(sc: Any) -> tuple[int, float]:
    """(whole-stage / expression code compilations so far, their milliseconds)."""
    histogram = sc._jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    return int(histogram.getCount()), float(sum(histogram.getSnapshot().getValues()))


def _job_facts(sc: Any, job_ids: list[int], jobs: dict[int, Any]) -> dict[str, Any]:
    stages = skipped = tasks = 0
    job_ms = 0
    names = []
    stage_ids: set[int] = set()
    for job_id in sorted(job_ids):
        job = jobs[job_id]
        ids = job.stageIds()
        stage_ids.update(int(ids.apply(i)) for i in range(ids.size()))
        stages += ids.size()
        skipped += int(job.numSkippedStages())
        tasks += int(job.numTasks()) - int(job.numSkippedTasks())
        names.append(str(job.name()).split(" at ")[0])
        start, end = job.submissionTime(), job.completionTime()
        if start.isDefined() and end.isDefined():
            job_ms += end.get().getTime() - start.get().getTime()
    cpu_ns = run_ms = 0
    store = _status_store(sc)
    for stage_id in stage_ids:
        try:
            stage = store.lastStageAttempt(stage_id)
        except Exception:  # a skipped stage has no attempt of this job
            continue
        cpu_ns += int(stage.executorCpuTime())
        run_ms += int(stage.executorRunTime())
    return {
        "jobs": len(job_ids),
        "stages": stages - skipped,
        "skipped_stages": skipped,
        "tasks": tasks,
        "job_names": names,
        "jobs_s": job_ms / 1e3,
        "task_cpu_s": cpu_ns / 1e9,
        "task_run_s": run_ms / 1e3,
    }


def _profile_facts(profile: cProfile.Profile, top: int) -> dict[str, Any]:
    stats = pstats.Stats(profile)
    entries = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    py4j_calls = 0
    py4j_seconds = 0.0
    scaleout = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in entries.items():
        total += tottime
        if filename.endswith(os.path.join("py4j", "clientserver.py")) and name == "send_command":
            # one Py4J round trip: a call on a JVM object, a JVM object's attribute, ...
            py4j_calls += ncalls
            py4j_seconds += cumtime
        if f"{os.sep}scaleout{os.sep}" in filename:
            where = filename.split(f"{os.sep}scaleout{os.sep}", 1)[1]
            scaleout.append((cumtime, ncalls, f"{where}:{line}({name})"))
    scaleout.sort(reverse=True)
    return {
        "py4j_calls": py4j_calls,
        "py4j_seconds": py4j_seconds,
        "profiled_total": total,
        "top": [
            {"cumulative_s": round(c, 4), "calls": n, "function": f} for c, n, f in scaleout[:top]
        ],
    }


def _fit(so: Any, request: dict[str, Any]) -> None:
    estimator = getattr(so, request["algorithm"])(backend="spark", **request["params"])
    dataset = so.read_parquet(request["path"], target=request["target"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(dataset)


def _measured_fit(so: Any, request: dict[str, Any], top: int) -> dict[str, Any]:
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    _drain(sc)
    known = set(_jobs(sc))
    compiled = _codegen(sc)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    _fit(so, request)
    profile.disable()
    seconds = time.perf_counter() - start
    _drain(sc)
    jobs = _jobs(sc)
    new = [j for j in jobs if j not in known]
    facts = {"algorithm": request["algorithm"], "seconds": seconds, **_job_facts(sc, new, jobs)}
    count, ms = _codegen(sc)
    facts["compilations"] = count - compiled[0]
    facts["compile_s"] = (ms - compiled[1]) / 1e3
    facts.update(_profile_facts(profile, top))
    facts["driver_python_s"] = max(facts["profiled_total"] - facts["py4j_seconds"], 0.0)
    return facts


def worker(top: int) -> int:
    """Serve fits: one JSON request a line on stdin (``"warm": true`` for an untimed
    fit), one JSON answer a line on stdout (the measurements of a timed fit)."""
    import scaleout as so

    so.set_config(progress=False)
    print(json.dumps({"ready": so.__file__}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        if request.get("warm"):
            _fit(so, request)  # session start, first use of the path
            print(json.dumps({"warm": True}), flush=True)
            continue
        print(json.dumps(_measured_fit(so, request, top)), flush=True)
    return 0


class Worker:
    """A :func:`worker` process importing scaleout from ``tree``."""

    def __init__(self, tree: Path, top: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--top", str(top)]
        self.log = tempfile.TemporaryFile(mode="w+")  # Spark's and Java's chatter
        self.proc = subprocess.Popen(
            command, env=env, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True,
        )
        loaded = self._read()["ready"]
        if not loaded.startswith(str(tree)):
            self.close()
            raise RuntimeError(f"worker for {tree} imported scaleout from {loaded}")

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.log.seek(0)
                raise RuntimeError(f"spark_jobs worker died:\n{self.log.read()[-4000:]}")
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
        self.proc.wait(timeout=120)
        self.log.close()


# ------------------------------------------------------------------ driver side
def write_data(directory: Path, rows: int) -> dict[str, str]:
    """One Parquet directory per data kind (20 features): bench_before_after.py's data."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_before_after import write_data as write_suite_data

    return write_suite_data(directory, rows)


def _median_facts(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's counts with the median of each time over the runs."""
    facts = dict(runs[0])
    for key in ("seconds", "jobs_s", "task_cpu_s", "task_run_s", "py4j_seconds",
                "driver_python_s", "profiled_total", "compile_s"):
        facts[key] = statistics.median(run[key] for run in runs)
    facts["runs"] = len(runs)
    return facts


def measure(
    old_tree: Path, new_tree: Path, requests: list[dict[str, Any]], top: int, repeat: int
) -> tuple[list[dict], list[dict]]:
    """Both trees in warm workers, each request measured ``repeat`` times in ABBA order."""
    before, after = Worker(old_tree, top), Worker(new_tree, top)
    rows_before, rows_after = [], []
    try:
        for request in requests:
            before.ask({**request, "warm": True})
            after.ask({**request, "warm": True})
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for i in range(repeat):
                order = (("before", before), ("after", after))
                for side, worker_ in order if i % 2 == 0 else order[::-1]:
                    runs[side].append(worker_.ask(request))
            rows_before.append(_median_facts(runs["before"]))
            rows_after.append(_median_facts(runs["after"]))
            b, a = rows_before[-1], rows_after[-1]
            print(f"{request['algorithm']}: jobs {b['jobs']} -> {a['jobs']}, task CPU "
                  f"{b['task_cpu_s']:.2f} -> {a['task_cpu_s']:.2f} s", file=sys.stderr, flush=True)
    finally:
        before.close()
        after.close()
    return rows_before, rows_after


#: Columns of the table: (heading, key, format).
COLUMNS = (
    ("jobs", "jobs", "d"),
    ("stages", "stages", "d"),
    ("tasks", "tasks", "d"),
    ("Py4J calls", "py4j_calls", "d"),
    ("code compilations", "compilations", "d"),
    ("driver Python s", "driver_python_s", ".3f"),
    ("task CPU s", "task_cpu_s", ".2f"),
    ("fit s", "seconds", ".2f"),
)


def table(before: list[dict], after: list[dict]) -> str:
    """Markdown: one row per algorithm, each measure as ``before → after``."""
    lines = [
        "| algorithm | " + " | ".join(c[0] for c in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for b, a in zip(before, after, strict=True):
        cells = [f"{b[key]:{fmt}} → {a[key]:{fmt}}" for _, key, fmt in COLUMNS]
        lines.append(f"| {a['algorithm']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the old tree")
    parser.add_argument("--before-tree", help="an existing checkout of the old tree")
    parser.add_argument(
        "--after-tree", help="the new tree (default: this checkout)", default=str(REPO)
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--algorithms", default=None, help="comma-separated; default all")
    parser.add_argument("--top", type=int, default=0, help="scaleout functions to list")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed fits per side (medians of the times)"
    )
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.top)

    from scaleout.bench.cases import ALGORITHMS

    algorithms = args.algorithms.split(",") if args.algorithms else list(ALGORITHMS)
    with tempfile.TemporaryDirectory(prefix="scaleout-spark-jobs-") as tmp:
        paths = write_data(Path(tmp), args.rows)
        requests = [
            {
                "algorithm": name,
                "path": paths[ALGORITHMS[name].data],
                "target": "y" if ALGORITHMS[name].supervised else None,
                "params": ALGORITHMS[name].params,
            }
            for name in algorithms
        ]
        old_tree = Path(args.before_tree) if args.before_tree else Path(tmp) / "before"
        if not args.before_tree:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old_tree),
                 args.before],
                check=True,
            )
        try:
            before, after = measure(
                old_tree, Path(args.after_tree), requests, args.top, args.repeat
            )
        finally:
            if not args.before_tree:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)],
                    check=False,
                )
    print(table(before, after))
    for side, rows in (("before", before), ("after", after)):
        for row in rows:
            print(f"\n{side} {row['algorithm']}: {row['jobs']} job(s): "
                  + ", ".join(row["job_names"]))
            for entry in row["top"]:
                print(f"  {entry['cumulative_s']:8.3f} s {entry['calls']:6d}  {entry['function']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"before": before, "after": after}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
