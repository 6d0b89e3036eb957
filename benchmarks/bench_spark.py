"""Issue 4 benchmark: the spark engine on synthetic Parquet, in one run.

For each estimator, on the same Parquet files:

* scaleout ``backend="spark"`` (read, check, fit, convert to the NumPy model),
* hand-written ``pyspark.ml`` (``spark.read.parquet`` → ``VectorAssembler`` →
  the MLlib estimator with the same settings → the coefficients as NumPy),
* scaleout ``backend="sklearn"`` and ``backend="dask"``.

The target: scaleout-on-Spark within 1.1x of the hand-written pyspark.ml
time, model conversion included. The two are timed in ``--pairs`` adjacent
ABBA pairs (:mod:`scaleout.bench.pairs`), and the overhead is the median of
the pair ratios with its interquartile range: the same hand-written fit
varies by up to 2x from one minute to the next here, so a ratio of two
separate timings says little. Each side fits once, untimed, before the
pairs (its first fit pays its own JIT warm-up). No JVM garbage collection
runs between fits: a full collection shrinks G1's heap, and the next fit,
whichever side, then took 30-60% longer and varied more.

scaleout's own time (the data check and the conversion, outside MLlib's
``fit``: ``fit_stats_["seconds"] - fit_stats_["mllib_seconds"]``) is also
reported; it is measured inside one call and so free of that noise. Quality
is reported next to the times (scikit-learn's metric on the training data;
KMeans: inertia).

Usage::

    python benchmarks/bench_spark.py [--rows 1000000] [--features 20] [--pairs 9]

Writes ``benchmarks/results/spark.json`` and ``spark.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from scaleout.bench.pairs import paired_times

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 1.1


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call, and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def process_tree_cpu() -> Callable[[], float]:
    """A clock of CPU seconds of this process and its children (the Spark JVM)."""
    import psutil

    me = psutil.Process()
    children = me.children(recursive=True)

    def clock() -> float:
        total = time.process_time()
        for child in children:
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    return clock


# ----------------------------------------------------------------- hand-written
NAMES = {
    "linear": "LinearRegression",
    "logistic": "LogisticRegression",
    "tree": "DecisionTreeClassifier",
    "kmeans": "KMeans",
    "pca": "PCA",
}


def handwritten(spark: Any, path: str, kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What a pyspark.ml user writes for the same model (``scaleout bench``'s peer code)."""
    from scaleout.bench.peers import pyspark_ml

    return pyspark_ml(spark, path, NAMES[kind], settings)


# --------------------------------------------------------------------- scaleout
def make_estimator(kind: str, settings: dict[str, Any], backend: str) -> Any:
    import scaleout as so

    if kind == "linear":
        return so.LinearRegression(backend=backend)
    if kind == "logistic":
        return so.LogisticRegression(backend=backend, **settings)
    if kind == "tree":
        return so.DecisionTreeClassifier(backend=backend, **settings)
    if kind == "kmeans":
        return so.KMeans(backend=backend, random_state=0, **settings)
    if kind == "pca":
        return so.PCA(backend=backend, **settings)
    raise ValueError(kind)


def fit_scaleout(kind: str, settings: dict[str, Any], backend: str, path: str, n_features: int):
    import scaleout as so

    if kind in ("kmeans", "pca"):
        data = so.read_parquet(path, features=[f"x{j}" for j in range(n_features)])
    else:
        data = so.read_parquet(path, target="y")
    return make_estimator(kind, settings, backend).fit(data)


def quality(kind: str, model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """scikit-learn's own metric of a fitted scaleout model on the training data."""
    if kind == "kmeans":
        return float(model.inertia_)
    if kind == "pca":
        return float(model.explained_variance_.sum())
    return float(model.score(X, y))


def spark_quality(kind: str, out: dict[str, Any], X: np.ndarray, y: np.ndarray) -> float:
    """The same metric for the hand-written pyspark.ml model."""
    if kind == "linear":
        pred = X @ out["coef"] + out["intercept"]
        return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
    if kind == "logistic":
        return float(np.mean(((X @ out["coef"] + out["intercept"]) > 0) == y))
    if kind == "kmeans":
        return float(out["cost"])
    return float("nan")


# -------------------------------------------------------------------------- run
TASKS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("LinearRegression", "linear", "regression", {}),
    ("LogisticRegression", "logistic", "classification", {"C": 1.0, "max_iter": 100, "tol": 1e-4}),
    ("DecisionTreeClassifier(max_depth=8)", "tree", "classification", {"max_depth": 8}),
    ("KMeans(8)", "kmeans", "blobs", {"n_clusters": 8}),
    ("PCA(5)", "pca", "regression", {"n_components": 5}),
]


def write_data(root: str, rows: int, features: int) -> dict[str, str]:
    from scaleout.datasets import make_blobs, make_classification, make_regression

    kw = {"chunk_rows": 250_000, "n_files": 4}
    return {
        "regression": make_regression(f"{root}/reg", rows, features, random_state=0, **kw).path,
        "classification": make_classification(
            f"{root}/cls", rows, features, random_state=1, **kw
        ).path,
        "blobs": make_blobs(f"{root}/blobs", rows, features, centers=8, random_state=2, **kw).path,
    }


def run(rows: int, features: int, pairs: int, backends: list[str]) -> dict[str, Any]:
    import scaleout as so
    from scaleout.backends.spark.session import get_session

    so.set_config(progress=False)
    start = time.perf_counter()
    spark = get_session()
    session_seconds = time.perf_counter() - start
    results = []
    with tempfile.TemporaryDirectory(prefix="scaleout-bench-spark-") as tmp:
        paths = write_data(tmp, rows, features)
        arrays = {name: so.read_parquet(p, target="y").to_numpy() for name, p in paths.items()}
        # warm the JVM (first jobs compile code) on a small fit, outside the timings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the warm-up stops early on purpose
            so.LogisticRegression(backend="spark", max_iter=5).fit(paths["classification"], "y")
        cpu_clock = process_tree_cpu()
        for label, kind, data_name, settings in TASKS:
            path = paths[data_name]
            X, y = arrays[data_name]
            row: dict[str, Any] = {"estimator": label}
            hand_out: dict[str, Any] = {}
            own_seconds: list[float] = []

            def hand(
                p: str = path, k: str = kind, s: dict[str, Any] = settings, out=hand_out
            ) -> None:
                out.update(handwritten(spark, p, k, s))

            def ours(
                p: str = path, k: str = kind, s: dict[str, Any] = settings, own=own_seconds
            ) -> Any:
                model = fit_scaleout(k, s, "spark", p, features)
                stats = model.fit_stats_
                if "mllib_seconds" in stats:
                    own.append(stats["seconds"] - stats["mllib_seconds"])
                return model

            hand(), ours()  # untimed: each side's first fit pays its own JIT warm-up
            own_seconds.clear()
            times = paired_times(hand, ours, pairs, cpu_clock=cpu_clock)
            summary = times.summary()
            model = times.last
            row.update(
                pyspark_ml_s=summary["baseline_s"],
                scaleout_spark_s=summary["ours_s"],
                overhead=summary["ratio"],
                overhead_q1=summary["ratio_q1"],
                overhead_q3=summary["ratio_q3"],
                cpu_overhead=summary["cpu_ratio"],
                target_met=bool(summary["ratio"] <= TARGET),
                pairs=times.wall,
                own_s=float(np.median(own_seconds)) if own_seconds else None,
                spark_jobs=model.fit_stats_.get("spark_jobs"),
                data_check=model.fit_stats_.get("data_check"),
                prepare_s=model.fit_stats_.get("prepare_seconds"),
                quality_scaleout_spark=quality(kind, model, X, y),
                quality_pyspark_ml=spark_quality(kind, hand_out, X, y),
            )
            for backend in backends:
                try:
                    t_b, other = timed(
                        lambda p=path, k=kind, s=settings, b=backend: fit_scaleout(
                            k, s, b, p, features
                        )
                    )
                    row[f"{backend}_s"] = t_b
                    row[f"spark_vs_{backend}"] = row["scaleout_spark_s"] / t_b
                    row[f"quality_{backend}"] = quality(kind, other, X, y)
                except Exception as exc:  # report, keep benchmarking
                    row[f"{backend}_s"] = None
                    row[f"{backend}_error"] = f"{type(exc).__name__}: {exc}"[:200]
            print(json.dumps(row, default=float), flush=True)
            results.append(row)
    return {
        "rows": rows,
        "features": features,
        "pairs": pairs,
        "target_overhead": TARGET,
        "spark_master": spark.sparkContext.master,
        "spark_version": spark.version,
        "session_start_s": session_seconds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "results": results,
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if abs(value) >= 1e5:
            return f"{value:.6g}"
        return f"{value:.{digits}f}" if abs(value) >= 0.01 else f"{value:.3g}"
    return str(value)


def markdown(report: dict[str, Any], backends: list[str]) -> str:
    lines = [
        f"# spark engine, {report['rows']:,} x {report['features']} Parquet "
        f"({report['machine']['cpus']} cores, Spark {report['spark_version']} "
        f"{report['spark_master']})",
        "",
        f"Session start (excluded): {report['session_start_s']:.1f} s. scaleout's times include "
        "its data check and the conversion to the NumPy model. pyspark.ml and scaleout were "
        f"timed in {report['pairs']} adjacent ABBA pairs after one untimed fit of each; "
        "the times are medians of each "
        "side, **overhead** is the median of the "
        "pair ratios (wall), with its interquartile range; CPU: the same for the CPU time of "
        "the Python process and the Spark JVM. **own s**: scaleout's time outside MLlib's "
        "`fit` within the same call (check jobs, Py4J, conversion; median). The other engines "
        "ran once each. Quality: R² (LinearRegression), accuracy (classifiers), inertia "
        "(KMeans), total explained variance (PCA), on the training data.",
        "",
    ]
    header = [
        "estimator",
        "pyspark.ml s",
        "scaleout spark s",
        "overhead (IQR)",
        "CPU overhead",
        "<= 1.1x",
        "own s",
        "jobs",
    ]
    for b in backends:
        header += [f"{b} s", f"spark/{b}"]
    header.append("quality spark / pyspark.ml" + "".join(f" / {b}" for b in backends))
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in report["results"]:
        cells = [
            r["estimator"],
            _fmt(r["pyspark_ml_s"]),
            _fmt(r["scaleout_spark_s"]),
            f"{r['overhead']:.2f} ({r['overhead_q1']:.2f}-{r['overhead_q3']:.2f})",
            _fmt(r["cpu_overhead"]),
            "yes" if r["target_met"] else "no",
            _fmt(r["own_s"]),
            _fmt(r["spark_jobs"]),
        ]
        for b in backends:
            cells += [_fmt(r.get(f"{b}_s")), _fmt(r.get(f"spark_vs_{b}"))]
        q = [_fmt(r["quality_scaleout_spark"], 4), _fmt(r["quality_pyspark_ml"], 4)]
        q += [_fmt(r.get(f"quality_{b}"), 4) for b in backends]
        cells.append(" / ".join(q))
        lines.append("| " + " | ".join(cells) + " |")
    met = sum(r["target_met"] for r in report["results"])
    clear = sum(r["overhead_q3"] <= TARGET for r in report["results"])
    lines += [
        "",
        f"Overhead target (<= {TARGET}x pyspark.ml, median of the pair ratios) met for {met} of "
        f"{len(report['results'])} estimators; for {clear} of them even the upper quartile of "
        "the pair ratios is within it.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument(
        "--pairs", type=int, default=9, help="ABBA pairs of hand-written vs scaleout fits"
    )
    parser.add_argument(
        "--backends",
        default="sklearn,dask",
        help="other scaleout engines to compare with (comma-separated)",
    )
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    report = run(args.rows, args.features, args.pairs, backends)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "spark.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (out / "spark.md").write_text(markdown(report, backends))
    print(markdown(report, backends))


if __name__ == "__main__":
    main()
