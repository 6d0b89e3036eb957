"""Run the suite: every algorithm x engine x size, with the peers, on the same files.

Order: the data is generated (or reused from ``data_dir``), each dataset is
scanned once with pyarrow (the one-pass limit), then one engine at a time is
started, warmed up, and runs every size and algorithm, each case followed by
its peer; the engine is stopped (also on error) before the next starts.

A case that fails is recorded with its error and the suite goes on. A case
is skipped, with the reason recorded, when its in-memory data is larger than
the memory budget (scikit-learn and the raw scikit-learn peer), or when it
already took more than ``max_case_seconds`` at a smaller size. A running fit
is not interrupted.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from .._config import config_context
from ..registry import estimator_class
from . import cases as _cases
from .data import BenchData, generate, sample
from .engines import Engine, import_seconds, make_engine
from .memory import MemorySampler
from .peers import PeerUnavailable, scan_pass
from .quality import METRIC_NAMES, Fitted, from_model, quality, reference_inertia

__all__ = ["SuiteSettings", "run_suite"]

WARMUP_ROWS = 2_000


@dataclass
class SuiteSettings:
    """What one run measures.

    Attributes
    ----------
    sizes : tuple of int
        Row counts.
    engines, algorithms : tuple of str
        Subsets of :data:`~scaleout.bench.cases.ENGINES` / ``ALGORITHMS``.
    memory_budget : int
        Bytes; scaleout's ``memory_budget`` config for the run.
    peers : bool
        Run the peers (raw scikit-learn, dask-ml, pyspark.ml) and the pyarrow scan.
    features : int
        Feature columns of the generated data.
    workers : int
        Worker processes of the cluster engines (and N of ``local[N]``).
    repeats : int
        Fits per case; the best time is kept (memory: the highest peak).
    max_case_seconds : float
        Skip the larger sizes of a case that took longer than this at a smaller one.
    sample_rows : int
        Rows of the sample every model is scored on.
    data_dir : str, optional
        Keep (and reuse) the generated data here instead of a temporary directory.
    spark_executor_memory : str
        Executor (and worker) memory of the Spark standalone cluster.
    warmup : {"all", "one", "none"}
        Before an engine's cases, fit every algorithm (or only the first) once on
        2,000 rows through scaleout, and the peer once.
    """

    sizes: tuple[int, ...] = _cases.FULL.sizes
    engines: tuple[str, ...] = _cases.FULL.engines
    algorithms: tuple[str, ...] = tuple(_cases.ALGORITHMS)
    memory_budget: int = _cases.FULL.memory_budget
    peers: bool = True
    features: int = 20
    workers: int = 2
    repeats: int = 1
    max_case_seconds: float = _cases.FULL.max_case_seconds
    sample_rows: int = 100_000
    data_dir: str | None = None
    spark_executor_memory: str = "3g"
    warmup: str = "all"
    extra: dict[str, Any] = field(default_factory=dict)


def _say(progress: Callable[[str], None] | None, line: str) -> None:
    if progress is not None:
        progress(line)


class _Suite:
    def __init__(self, settings: SuiteSettings, progress: Callable[[str], None] | None) -> None:
        self.s = settings
        self.progress = progress
        self.results: list[dict[str, Any]] = []
        self.data: dict[tuple[str, int], BenchData] = {}
        self.samples: dict[tuple[str, int], tuple[Any, Any, float | None]] = {}
        self.total = 0
        self.done = 0

    # ------------------------------------------------------------------ data
    def prepare(self, root: str) -> list[dict[str, Any]]:
        kinds = sorted({_cases.ALGORITHMS[a].data for a in self.s.algorithms})
        out = []
        for rows in (WARMUP_ROWS, *self.s.sizes):
            for kind in kinds:
                data = generate(kind, rows, self.s.features, root)
                self.data[(kind, rows)] = data
                X, y = sample(data, min(self.s.sample_rows, rows))
                ref = None
                if kind == "blobs" and "KMeans" in self.s.algorithms:
                    ref = reference_inertia(X, _cases.ALGORITHMS["KMeans"].params)
                self.samples[(kind, rows)] = (X, y, ref)
                if rows == WARMUP_ROWS:
                    continue
                out.append(
                    {
                        "kind": kind,
                        "rows": rows,
                        "features": self.s.features,
                        "nbytes": data.nbytes,
                        "disk_bytes": data.disk_bytes,
                        "files": len(data.info.files),
                        "generate_s": data.generate_s,
                        "over_budget": data.nbytes > self.s.memory_budget,
                    }
                )
                _say(
                    self.progress,
                    f"data {kind:<14} {rows:>11,} rows  {_cases.format_bytes(data.nbytes):>9} "
                    f"in memory, {_cases.format_bytes(data.disk_bytes):>9} Parquet"
                    + ("  (over budget)" if data.nbytes > self.s.memory_budget else ""),
                )
        return out

    # ----------------------------------------------------------------- cases
    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        self.results.append(row)
        self.done += 1
        _say(self.progress, _progress_line(row, self.done, self.total))
        return row

    def _skip_reason(self, engine: str, impl: str, algorithm: str, data: BenchData) -> str | None:
        in_memory = impl == "sklearn-raw" or (engine, impl) == ("sklearn", "scaleout")
        if in_memory and data.nbytes > self.s.memory_budget:
            return (
                f"{_cases.format_bytes(data.nbytes)} > budget "
                f"{_cases.format_bytes(self.s.memory_budget)}"
            )
        previous = [
            r
            for r in self.results
            if (r["engine"], r["impl"], r["algorithm"]) == (engine, impl, algorithm)
            and r["status"] == "ok"
            and r["rows"] < data.rows
        ]
        if previous:
            last = max(previous, key=lambda r: r["rows"])
            if last["fit_s"] > self.s.max_case_seconds:
                return (
                    f"took {last['fit_s']:.0f} s at {last['rows']:,} rows, over the "
                    f"{self.s.max_case_seconds:.0f} s limit per case"
                )
        return None

    def measure(
        self,
        engine: Engine,
        impl: str,
        algorithm: str | None,
        data: BenchData,
        fit: Callable[[], Fitted | None],
    ) -> dict[str, Any]:
        case = _cases.ALGORITHMS.get(algorithm) if algorithm else None
        row: dict[str, Any] = {
            "rows": data.rows,
            "data": data.kind,
            "algorithm": algorithm,
            "engine": engine.name,
            "impl": impl,
            "status": "ok",
        }
        reason = self._skip_reason(engine.name, impl, algorithm or "", data)
        if reason is not None:
            return self._record({**row, "status": "skipped", "reason": reason})
        best, fitted, peak, before = float("inf"), None, {}, 0
        try:
            for _ in range(self.s.repeats):
                gc.collect()
                with MemorySampler(engine.pids()) as mem:
                    start = time.perf_counter()
                    fitted = fit()
                    elapsed = time.perf_counter() - start
                best = min(best, elapsed)
                if mem.peak.get("total", 0) >= peak.get("total", 0):
                    peak, before = mem.peak, mem.before
        except PeerUnavailable as exc:
            return self._record({**row, "status": "skipped", "reason": str(exc)})
        except Exception as exc:
            return self._record(
                {
                    **row,
                    "status": "error",
                    "reason": f"{type(exc).__name__}: {exc}".strip()[:500],
                    "traceback": traceback.format_exc(limit=8)[-3000:],
                }
            )
        row.update(
            fit_s=best,
            rows_per_s=data.rows / best if best > 0 else None,
            peak_rss=peak,
            rss_before=before,
        )
        if case is not None and fitted is not None:
            row["passes"] = fitted.passes
            X, y, ref = self.samples[(data.kind, data.rows)]
            row["metric"] = METRIC_NAMES[case.task]
            try:
                row["quality"] = quality(case.task, fitted, X, y, ref)
            except Exception as exc:
                row["quality"] = None
                row["quality_error"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            row["passes"] = 1
        return self._record(row)

    def scaleout_fit(self, engine: Engine, algorithm: str, data: BenchData) -> Fitted:
        import scaleout as so

        case = _cases.ALGORITHMS[algorithm]
        if case.supervised:
            dataset = so.read_parquet(data.path, target="y")
        else:
            dataset = so.read_parquet(data.path, features=data.features)
        model = estimator_class(algorithm)(backend=engine.backend, **case.params)
        model.fit(dataset)
        return from_model(model, case.task)

    def peer_fit(self, engine: Engine, algorithm: str, data: BenchData) -> Fitted:
        case = _cases.ALGORITHMS[algorithm]
        return engine.run_peer(algorithm, case.params, case.task, data)

    # --------------------------------------------------------------- engines
    def warm_up(self, engine: Engine, startup: dict[str, Any]) -> float:
        """Every algorithm once through scaleout (loads the engine's code on every
        process; on Spark the MLlib classes the peer uses too), the peer once (its imports).

        A peer that fails here is noted in ``startup`` and fails again, recorded, in its cases.
        """
        begin = time.perf_counter()
        peer_done = not self.s.peers
        count = {"all": len(self.s.algorithms), "one": 1, "none": 0}[self.s.warmup]
        for algorithm in self.s.algorithms[:count]:
            data = self.data[(_cases.ALGORITHMS[algorithm].data, WARMUP_ROWS)]
            self.scaleout_fit(engine, algorithm, data)
            if not peer_done:
                try:
                    self.peer_fit(engine, algorithm, data)
                    peer_done = True
                except PeerUnavailable:
                    pass
                except Exception as exc:
                    startup["warmup_peer_error"] = f"{type(exc).__name__}: {exc}"[:300]
                    peer_done = True
        return time.perf_counter() - begin

    def run_engine(self, name: str, import_cache: dict[str, float]) -> dict[str, Any]:
        engine = make_engine(name, self.s.workers, executor_memory=self.s.spark_executor_memory)
        startup: dict[str, Any] = {"engine": name}
        try:
            if engine.backend not in import_cache:
                import_cache[engine.backend] = import_seconds(engine.backend)
            startup["import_s"] = import_cache[engine.backend]
            startup["start_s"] = engine.start()
            with config_context(**self._config(engine)):
                startup["warmup_s"] = self.warm_up(engine, startup)
            startup.update(engine.details)
            _say(
                self.progress,
                f"engine {name}: import {startup['import_s']:.1f} s, start "
                f"{startup['start_s']:.1f} s, warm-up {startup['warmup_s']:.1f} s",
            )
            with config_context(**self._config(engine)):
                for rows in self.s.sizes:
                    for algorithm in self.s.algorithms:
                        data = self.data[(_cases.ALGORITHMS[algorithm].data, rows)]
                        self.measure(
                            engine,
                            "scaleout",
                            algorithm,
                            data,
                            lambda e=engine, a=algorithm, d=data: self.scaleout_fit(e, a, d),
                        )
                        if self.s.peers:
                            self.measure(
                                engine,
                                engine.peer,
                                algorithm,
                                data,
                                lambda e=engine, a=algorithm, d=data: self.peer_fit(e, a, d),
                            )
        except Exception as exc:
            startup["error"] = f"{type(exc).__name__}: {exc}"[:500]
            _say(self.progress, f"engine {name} failed: {startup['error']}")
            for rows in self.s.sizes:  # every case not run is recorded as an error
                for algorithm in self.s.algorithms:
                    for impl in ("scaleout", engine.peer) if self.s.peers else ("scaleout",):
                        if not any(
                            (r["engine"], r["impl"], r["algorithm"], r["rows"])
                            == (name, impl, algorithm, rows)
                            for r in self.results
                        ):
                            data = self.data[(_cases.ALGORITHMS[algorithm].data, rows)]
                            self._record(
                                {
                                    "rows": rows,
                                    "data": data.kind,
                                    "algorithm": algorithm,
                                    "engine": name,
                                    "impl": impl,
                                    "status": "error",
                                    "reason": f"engine failed: {startup['error']}",
                                }
                            )
        finally:
            engine.stop()
        return startup

    def _config(self, engine: Engine) -> dict[str, Any]:
        return {"memory_budget": self.s.memory_budget, "progress": False, **engine.config}

    def scans(self) -> None:
        engine = Engine()
        engine.name = "pyarrow"
        for rows in self.s.sizes:
            for kind in sorted({_cases.ALGORITHMS[a].data for a in self.s.algorithms}):
                data = self.data[(kind, rows)]
                self.measure(
                    engine,
                    "pyarrow-scan",
                    None,
                    data,
                    lambda d=data: _scan(d),
                )


def run_suite(
    settings: SuiteSettings, progress: Callable[[str], None] | None = print
) -> dict[str, Any]:
    """Run the suite and return the report (see :mod:`scaleout.bench.report` for its schema).

    Parameters
    ----------
    settings : SuiteSettings
        Sizes, engines, algorithms, budget, ...
    progress : callable, optional
        Called with one line per case as it finishes (and per engine start).

    Returns
    -------
    dict
        The report: ``machine``, ``settings``, ``datasets``, ``startup``,
        ``results`` (one row per case), ``duration_s``.
    """
    from .report import add_ratios, machine_info

    began = time.time()
    suite = _Suite(settings, progress)
    n_peer = 2 if settings.peers else 1
    kinds = {_cases.ALGORITHMS[a].data for a in settings.algorithms}
    suite.total = len(settings.sizes) * (
        len(settings.engines) * len(settings.algorithms) * n_peer
        + (len(kinds) if settings.peers else 0)
    )
    machine = machine_info()
    startup: list[dict[str, Any]] = []
    with ExitStack() as stack:
        if settings.data_dir:
            root = settings.data_dir
            os.makedirs(root, exist_ok=True)
        else:
            root = stack.enter_context(tempfile.TemporaryDirectory(prefix="scaleout-bench-"))
        datasets = suite.prepare(root)
        if settings.peers:
            suite.scans()
        imports: dict[str, float] = {}
        for name in settings.engines:
            startup.append(suite.run_engine(name, imports))
    machine["load_average_end"] = list(os.getloadavg())
    report = {
        "suite": "scaleout bench",
        "schema_version": 1,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(began)),
        "duration_s": time.time() - began,
        "machine": machine,
        "settings": {
            "sizes": list(settings.sizes),
            "engines": list(settings.engines),
            "algorithms": list(settings.algorithms),
            "params": {a: _cases.ALGORITHMS[a].params for a in settings.algorithms},
            "memory_budget": settings.memory_budget,
            "peers": settings.peers,
            "features": settings.features,
            "workers": settings.workers,
            "repeats": settings.repeats,
            "max_case_seconds": settings.max_case_seconds,
            "sample_rows": settings.sample_rows,
            "spark_executor_memory": settings.spark_executor_memory,
            "warmup": settings.warmup,
            "data_dir": settings.data_dir,
            **settings.extra,
        },
        "datasets": datasets,
        "startup": startup,
        "results": suite.results,
    }
    add_ratios(report)
    return report


def _scan(data: BenchData) -> None:
    scan_pass(data.info.files, data.features, "y")


def _progress_line(row: dict[str, Any], done: int, total: int) -> str:
    width = len(str(total))
    head = (
        f"[{done:>{width}}/{total}] {row['rows']:>11,} rows  "
        f"{row['algorithm'] or row['data']:<22} {row['engine']:<16} {row['impl']:<12}"
    )
    if row["status"] != "ok":
        return f"{head} {row['status']}: {row['reason']}"
    peak = row["peak_rss"].get("total")
    text = (
        f"{head} {row['fit_s']:8.2f} s {row['rows_per_s']:>12,.0f} rows/s  "
        f"peak {_cases.format_bytes(peak):>9}"
    )
    if row.get("passes") is not None:
        text += f"  passes {row['passes']}"
    if row.get("quality") is not None:
        text += f"  {row['metric']} {row['quality']:.4f}"
    return text
