"""The benchmark suite (``scaleout bench``) at tiny sizes on the cheap engines."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scaleout.bench import cases
from scaleout.bench.memory import MemorySampler
from scaleout.bench.runner import SuiteSettings, run_suite
from scaleout.cli import main
from scaleout.exceptions import ScaleoutError

pytest.importorskip("dask_ml")
pytest.importorskip("matplotlib")

RESULT_KEYS = {"rows", "data", "algorithm", "engine", "impl", "status"}
OK_KEYS = {"fit_s", "rows_per_s", "peak_rss", "rss_before", "passes", "ratios"}


def test_bench_cli_quick_like_run(tmp_path, capsys):
    out = tmp_path / "out"
    # 1,000 rows fit the 500,000-byte budget, 5,000 rows (840,000 bytes) do not
    code = main(
        [
            "bench",
            "--sizes",
            "1e3,5e3",
            "--engines",
            "sklearn,dask-local",
            "--memory-budget",
            "500000",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    report = json.loads((out / "suite.json").read_text())
    assert {"machine", "settings", "datasets", "startup", "results", "duration_s"} <= set(report)
    assert report["machine"]["cores"] >= 1 and report["machine"]["ram_bytes"] > 0
    assert report["machine"]["versions"]["scikit-learn"]
    assert [s["engine"] for s in report["startup"]] == ["sklearn", "dask-local"]
    assert all(s["import_s"] > 0 and "error" not in s for s in report["startup"])
    results = report["results"]
    # 2 sizes x (2 engines x 6 algorithms x (scaleout + peer) + 3 scans)
    assert len(results) == 2 * (2 * 6 * 2 + 3)
    for row in results:
        assert RESULT_KEYS <= set(row)
        if row["status"] == "ok":
            assert OK_KEYS <= set(row), row
            assert row["peak_rss"]["total"] >= row["peak_rss"]["driver"] > 0
    ok = {(r["engine"], r["impl"], r["algorithm"], r["rows"]): r for r in results}
    # every scaleout fit ran and has a quality; ratios to the peers and the scan
    for engine in ("sklearn", "dask-local"):
        for algorithm in cases.ALGORITHMS:
            row = ok[(engine, "scaleout", algorithm, 1000)]
            assert row["status"] == "ok", row
            assert row["quality"] is not None and row["ratios"]["vs_scan"] > 0
    assert ok[("sklearn", "scaleout", "LinearRegression", 1000)]["ratios"]["vs_peer"] > 0
    assert ok[("dask-local", "scaleout", "KMeans", 1000)]["ratios"]["vs_peer"] > 0
    assert ok[("dask-local", "scaleout", "PCA", 5000)]["ratios"]["vs_peer"] > 0
    assert ok[("dask-local", "dask-ml", "DecisionTreeClassifier", 1000)]["status"] == "skipped"
    # over the budget: scikit-learn and the raw scikit-learn peer skipped, with the reason
    for impl in ("scaleout", "sklearn-raw"):
        engine = "sklearn"
        skipped = ok[(engine, impl, "LogisticRegression", 5000)]
        assert skipped["status"] == "skipped"
        assert "> budget" in skipped["reason"]
    assert ok[("dask-local", "scaleout", "LogisticRegression", 5000)]["status"] == "ok"
    assert report["datasets"][-1]["over_budget"] is True
    # markdown and plots
    text = (out / "suite.md").read_text()
    assert "| algorithm | engine | fit s |" in text and "skipped: 820.3 KiB" not in text
    assert "> budget" in text
    for name in ("suite-throughput.png", "suite-memory.png"):
        assert (out / name).stat().st_size > 10_000
    assert not (out / "suite-speedup.png").exists()  # no cluster engine ran
    printed = capsys.readouterr()
    assert "# scaleout benchmark suite" in printed.out
    assert "[ 1/54]" in printed.err  # a progress line per case


def test_bench_failing_peer_is_recorded_and_the_suite_goes_on(tmp_path, monkeypatch):
    from scaleout.bench import peers

    def broken(*args, **kwargs):
        raise RuntimeError("peer exploded")

    monkeypatch.setattr(peers, "dask_ml", broken)
    report = run_suite(
        SuiteSettings(
            sizes=(1000,),
            engines=("dask-local",),
            algorithms=("LinearRegression", "PCA"),
            memory_budget=1 << 30,
        ),
        progress=None,
    )
    rows = {(r["impl"], r["algorithm"]): r for r in report["results"]}
    assert rows[("dask-ml", "LinearRegression")]["status"] == "error"
    assert "peer exploded" in rows[("dask-ml", "LinearRegression")]["reason"]
    assert rows[("scaleout", "PCA")]["status"] == "ok"
    assert "peer exploded" in report["startup"][0]["warmup_peer_error"]


def test_memory_sampler_counts_child_processes():
    code = "import time; block = bytearray(200_000_000); print('ready', flush=True); time.sleep(5)"
    with MemorySampler(interval=0.02) as mem:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "ready"
            import time

            time.sleep(0.3)
        finally:
            child.kill()
            child.wait()
    assert mem.peak["workers"] >= 200_000_000
    # per-group peaks come from different samples (the child, just forked, briefly shows the
    # driver's pages): the total's peak bounds each group's, not their sum
    assert mem.peak["total"] >= max(mem.peak["workers"], mem.peak["driver"])
    assert mem.peak["samples"] >= 3


def test_bench_option_parsing():
    assert cases.parse_bytes("512MiB") == 512 << 20
    assert cases.parse_bytes("1.5GB") == 1_500_000_000
    assert cases.parse_bytes("4000000") == 4_000_000
    assert cases.parse_sizes("1e6,1e5,4e6") == (100_000, 1_000_000, 4_000_000)
    assert cases.select("dask_cluster,SKLEARN", cases.ENGINES, "engine") == (
        "sklearn",
        "dask-cluster",
    )
    with pytest.raises(ScaleoutError, match="unknown engine 'ray'"):
        cases.select("ray", cases.ENGINES, "engine")
    with pytest.raises(ScaleoutError, match="512 parsecs"):
        cases.parse_bytes("512 parsecs")
    # the full preset's largest size is over its budget; the quick one's too
    for preset in (cases.FULL, cases.QUICK):
        assert max(preset.sizes) * 21 * 8 > preset.memory_budget > min(preset.sizes) * 21 * 8


def test_paired_times_alternate_abba_and_take_the_median_pair_ratio():
    from scaleout.bench.pairs import paired_times

    calls: list[str] = []
    clock = [0.0]
    costs = iter([1.0, 2.0, 3.0, 1.0, 1.0, 1.5, 9.0, 1.0, 1.0, 1.25])  # in call order

    def work(name: str) -> object:
        calls.append(name)
        clock[0] += next(costs)
        return name

    times = paired_times(lambda: work("base"), lambda: work("ours"), 5, cpu_clock=lambda: clock[0])
    assert calls == ["base", "ours", "ours", "base"] * 2 + ["base", "ours"]
    # (base, ours) per pair, whatever the order they ran in
    assert times.cpu == [(1.0, 2.0), (1.0, 3.0), (1.0, 1.5), (1.0, 9.0), (1.0, 1.25)]
    summary = times.summary()
    assert summary["cpu_ratio"] == 2.0  # the median ratio: one slow run does not move it
    assert summary["cpu_ours_s"] == 2.0 and summary["pairs"] == 5
    assert summary["cpu_ratio_q1"] <= 2.0 <= summary["cpu_ratio_q3"]
    assert times.last == "ours"
    with pytest.raises(ValueError, match="pairs must be >= 1"):
        paired_times(lambda: None, lambda: None, 0)


def test_table_pipeline_benchmark_smoke(tmp_path):
    """benchmarks/bench_table_pipeline.py end to end at a tiny size (issue 12's benchmark)."""
    import importlib.util
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = "bench_table_pipeline.py"
    out, data = tmp_path / "out", tmp_path / "data"
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    command = [
        sys.executable,
        str(root / "benchmarks" / script),
        "--rows", "5000",
        "--repeats", "1",
        "--max-iter", "5",
        "--data-dir", str(data),
        "--contenders", "scaleout-dask,dask-ml",
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(command, env=env, check=True, timeout=300, capture_output=True)
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["rows"] == 5000 and len(manifest["files"]) == 1
    assert manifest["levels"] == {"carrier": 20, "city": 2000}
    report = json.loads((out / "table_pipeline.json").read_text())
    rows = {r["contender"]: r for r in report["rows"]}
    assert list(rows) == ["scaleout-dask", "dask-ml"]
    for name in rows:
        assert rows[name]["status"] == "ok", rows[name]
        assert rows[name]["fit_s"] > 0 and rows[name]["peak_rss_mib"] > 50
    for name in ("scaleout-dask", "dask-ml"):
        assert 0.5 < rows[name]["accuracy"] <= 1.0  # each model predicted the 5,000-row sample
    ratio = rows["scaleout-dask"]["time_ratio"]
    assert ratio == pytest.approx(rows["scaleout-dask"]["fit_s"] / rows["dask-ml"]["fit_s"])
    assert "time_ratio" not in rows["dask-ml"]
    text = (out / "table_pipeline.md").read_text()
    assert "| scaleout-dask | dask | ok |" in text and "| dask-ml | dask | ok |" in text
    assert "--rows 5000" in text and "shared" in text
    assert (out / "table_pipeline.png").stat().st_size > 10_000
    # the same rows and seed reuse the files; another seed writes new ones
    spec = importlib.util.spec_from_file_location("bench_table", root / "benchmarks" / script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    written = (data / "data" / "part-00000.parquet").stat().st_mtime_ns
    assert bench.ensure_data(data, 5000, 0) == manifest
    assert (data / "data" / "part-00000.parquet").stat().st_mtime_ns == written
    assert bench.ensure_data(data, 5000, 1)["seed"] == 1
