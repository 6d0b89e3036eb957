"""The suite's report: machine facts, ratios, the JSON file and the markdown tables.

JSON schema (``schema_version`` 1)::

    suite, schema_version, started, duration_s
    machine:  cores, ram_bytes, cpu, platform, python, versions{package: version},
              java, load_average_start, load_average_end
    settings: sizes, engines, algorithms, params{algorithm: {...}}, memory_budget, peers,
              features, workers, repeats, max_case_seconds, sample_rows, ...
    datasets: [{kind, rows, features, nbytes, disk_bytes, files, generate_s, over_budget}]
    startup:  [{engine, import_s, start_s, warmup_s, error?, master?, scheduler?, ...}]
    results:  [{rows, data, algorithm, engine, impl, status ("ok" | "skipped" | "error"),
                reason?, fit_s, rows_per_s, passes, peak_rss{total, driver, workers, jvm,
                processes, samples}, rss_before, metric, quality,
                ratios{vs_peer, vs_scan, vs_sklearn, speedup_vs_single}}]

``impl`` is ``"scaleout"`` for the engine's own fit, else the peer
(``sklearn-raw``, ``dask-ml``, ``pyspark.ml``, ``pyarrow-scan``). Ratios are
times divided: ``vs_peer`` = scaleout / the engine's peer on the same engine
(< 1: scaleout is faster); ``vs_scan`` = time / one pyarrow pass over the same
files; ``vs_sklearn`` = time / scaleout's sklearn engine; ``speedup_vs_single``
(cluster engines) = the same engine on one machine / the cluster.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from .cases import CLUSTER_OF, ENGINE_PEER, format_bytes

__all__ = ["add_ratios", "headline", "machine_info", "markdown", "write_report"]

_PACKAGES = (
    "scaleout",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "pyarrow",
    "dask",
    "distributed",
    "dask-ml",
    "pyspark",
    "psutil",
    "matplotlib",
)


def _java_version() -> str | None:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = (out.stderr or out.stdout).strip().splitlines()
    return lines[0] if lines else None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info() -> dict[str, Any]:
    """Cores, RAM, CPU, OS, Python, Java, package versions and the load average now."""
    import psutil

    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cores": os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "java": _java_version(),
        "versions": versions,
        "load_average_start": list(os.getloadavg()),
    }


def _index(results: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {
        (r["engine"], r["impl"], r["algorithm"], r["data"], r["rows"]): r
        for r in results
        if r["status"] == "ok"
    }


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if a is None or b is None or not b.get("fit_s"):
        return None
    return a["fit_s"] / b["fit_s"]


def add_ratios(report: dict[str, Any]) -> None:
    """Fill ``ratios`` of every successful result in place (see the module docstring)."""
    results = report["results"]
    ok = _index(results)
    for r in results:
        if r["status"] != "ok":
            continue
        key = (r["algorithm"], r["data"], r["rows"])
        scan = ok.get(("pyarrow", "pyarrow-scan", None, r["data"], r["rows"]))
        ratios = {"vs_scan": _ratio(r, scan)} if r["impl"] != "pyarrow-scan" else {}
        if r["impl"] == "scaleout":
            peer = ok.get((r["engine"], ENGINE_PEER.get(r["engine"]), *key))
            ratios["vs_peer"] = _ratio(r, peer)
            if r["engine"] != "sklearn":
                ratios["vs_sklearn"] = _ratio(r, ok.get(("sklearn", "scaleout", *key)))
            if r["engine"] in CLUSTER_OF:
                single = ok.get((CLUSTER_OF[r["engine"]], "scaleout", *key))
                ratios["speedup_vs_single"] = _ratio(single, r)
        r["ratios"] = ratios


def write_report(report: dict[str, Any], out: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``suite.json`` and ``suite.md`` into ``out``.

    Returns
    -------
    dict
        ``{"json": path, "markdown": path}``.
    """
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "suite.json", "markdown": directory / "suite.md"}
    for kind, text in (
        ("json", json.dumps(report, indent=2, default=float) + "\n"),
        ("markdown", markdown(report)),
    ):
        tmp = paths[kind].with_suffix(paths[kind].suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, paths[kind])
    return {k: str(v) for k, v in paths.items()}


_WARMUP = {"all": "every algorithm", "one": "the first algorithm only", "none": "none"}


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:.0f} k"


def _peak(row: dict[str, Any] | None) -> str:
    if row is None or row.get("status") != "ok":
        return "n/a"
    peak = row["peak_rss"]
    grown = peak.get("total", 0) - row.get("rss_before", 0)
    parts = [f"{format_bytes(peak.get('total'))} (+{format_bytes(max(grown, 0))})"]
    groups = [f"{g} {format_bytes(peak[g])}" for g in ("workers", "jvm") if peak.get(g)]
    if groups:
        parts.append(f"[driver {format_bytes(peak.get('driver'))}, {', '.join(groups)}]")
    return " ".join(parts)


def _status(row: dict[str, Any] | None) -> str | None:
    if row is None:
        return "not run"
    if row["status"] == "skipped":
        return f"skipped: {row['reason']}"
    if row["status"] == "error":
        return f"error: {row['reason'][:120]}"
    return None


def _size_table(report: dict[str, Any], rows: int) -> list[str]:
    results = [r for r in report["results"] if r["rows"] == rows]
    by = {(r["engine"], r["impl"], r["algorithm"]): r for r in results}
    lines = [
        "| algorithm | engine | fit s | rows/s | passes | peak RSS | quality | peer | peer s "
        "| peer quality | x peer | x scan | speedup vs 1 machine |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for algorithm in report["settings"]["algorithms"]:
        for engine in report["settings"]["engines"]:
            r = by.get((engine, "scaleout", algorithm))
            peer_name = ENGINE_PEER[engine]
            p = by.get((engine, peer_name, algorithm)) if report["settings"]["peers"] else None
            status = _status(r)
            if status is not None:
                cells = [status, "", "", "", ""]
            else:
                cells = [
                    _num(r["fit_s"]),
                    _rate(r["rows_per_s"]),
                    str(r.get("passes", "")),
                    _peak(r),
                    _num(r.get("quality"), 4),
                ]
            peer_status = _status(p) if report["settings"]["peers"] else "not run"
            if peer_status is not None:
                peer_cells = [peer_status if report["settings"]["peers"] else "", ""]
            else:
                peer_cells = [_num(p["fit_s"]), _num(p.get("quality"), 4)]
            ratios = (r or {}).get("ratios", {})
            lines.append(
                "| "
                + " | ".join(
                    [
                        algorithm,
                        engine,
                        *cells,
                        peer_name,
                        *peer_cells,
                        _num(ratios.get("vs_peer")),
                        _num(ratios.get("vs_scan"), 1),
                        _num(ratios.get("speedup_vs_single")) if engine in CLUSTER_OF else "",
                    ]
                )
                + " |"
            )
    return lines


def headline(report: dict[str, Any], rows: int | None = None) -> str:
    """The summary table: fit seconds (x peer) per algorithm and engine at one size.

    Parameters
    ----------
    report : dict
        A report from :func:`scaleout.bench.runner.run_suite`.
    rows : int, optional
        The size (default: the largest).
    """
    rows = rows or max(report["settings"]["sizes"])
    engines = report["settings"]["engines"]
    by = {
        (r["engine"], r["impl"], r["algorithm"]): r for r in report["results"] if r["rows"] == rows
    }
    lines = [
        "| algorithm | " + " | ".join(engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for algorithm in report["settings"]["algorithms"]:
        cells = []
        for engine in engines:
            r = by.get((engine, "scaleout", algorithm))
            status = _status(r)
            if status is not None:
                cells.append(status.split(":")[0] if r is None else status)
                continue
            vs = r.get("ratios", {}).get("vs_peer")
            cells.append(f"{_num(r['fit_s'])} s" + (f" ({vs:.2f}x peer)" if vs else ""))
        lines.append(f"| {algorithm} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The report as markdown: settings, start-up, data, one table per size."""
    m, s = report["machine"], report["settings"]
    v = m["versions"]
    lines = [
        "# scaleout benchmark suite",
        "",
        f"{m['cores']} cores, {format_bytes(m['ram_bytes'])} RAM ({m['cpu']}); Python "
        f"{m['python']}, {m.get('java') or 'no Java'}; scaleout {v.get('scaleout')}, "
        f"scikit-learn {v.get('scikit-learn')}, dask {v.get('dask')}, dask-ml "
        f"{v.get('dask-ml')}, pyspark {v.get('pyspark')}, pyarrow {v.get('pyarrow')}. "
        f"Load average at start / end: {m['load_average_start'][0]:.1f} / "
        f"{m.get('load_average_end', [float('nan')])[0]:.1f}.",
        "",
        f"Run {report['started']}, {report['duration_s'] / 60:.1f} min. Sizes "
        + ", ".join(f"{n:,}" for n in s["sizes"])
        + f" rows x {s['features']} features; memory budget "
        f"{format_bytes(s['memory_budget'])} (scaleout's `memory_budget`; scikit-learn is skipped "
        f"above it); {s['workers']} workers; best of {s['repeats']}; warm-up: "
        f"{_WARMUP[s.get('warmup', 'all')]}. Settings on every engine: "
        + "; ".join(
            f"{a}({', '.join(f'{k}={val}' for k, val in p.items())})"
            for a, p in s["params"].items()
        )
        + ".",
        "",
        f"## Headline: {max(s['sizes']):,} rows, fit seconds (x the engine's peer)",
        "",
        headline(report),
        "",
        "## Engine start-up (not in the fit times)",
        "",
        "| engine | import s | start s | warm-up s | notes |",
        "|---|---|---|---|---|",
    ]
    for st in report["startup"]:
        notes = st.get("error") or ", ".join(
            f"{k} {val}" for k, val in st.items() if k in ("master", "scheduler", "cluster_start_s")
        )
        lines.append(
            f"| {st['engine']} | {_num(st.get('import_s'))} | {_num(st.get('start_s'))} | "
            f"{_num(st.get('warmup_s'))} | {notes} |"
        )
    lines += [
        "",
        "## Data and the one-pass limit (raw pyarrow scan to NumPy)",
        "",
        "| data | rows | in memory | Parquet | over budget | scan s | scan rows/s |",
        "|---|---|---|---|---|---|---|",
    ]
    scans = {(r["data"], r["rows"]): r for r in report["results"] if r["impl"] == "pyarrow-scan"}
    for d in report["datasets"]:
        scan = scans.get((d["kind"], d["rows"]))
        ok = scan is not None and scan["status"] == "ok"
        lines.append(
            f"| {d['kind']} | {d['rows']:,} | {format_bytes(d['nbytes'])} | "
            f"{format_bytes(d['disk_bytes'])} | {'yes' if d['over_budget'] else 'no'} | "
            f"{_num(scan['fit_s']) if ok else 'n/a'} | "
            f"{_rate(scan['rows_per_s']) if ok else 'n/a'} |"
        )
    for rows in s["sizes"]:
        lines += ["", f"## {rows:,} rows", "", *_size_table(report, rows)]
    lines += [
        "",
        "Times are wall seconds of `fit` from the Parquet files (reading included), the engine "
        "already started and warmed up. x peer = scaleout / the peer on the same engine "
        "(< 1: scaleout faster); x scan = time / one raw pyarrow pass over the same files; "
        "speedup = the same engine on one machine (dask local threads, Spark local[N]) / "
        "the cluster. Peak RSS: the highest sum over the driver and every process it started "
        "or the cluster runs, sampled every 50 ms (+ its growth during the fit). "
        "Quality on the first "
        f"{s['sample_rows']:,} training rows, same code for every engine and peer: R², "
        "accuracy, KMeans inertia / scikit-learn's on that sample (lower is better), PCA "
        "explained-variance ratio of the components. Peers: raw scikit-learn (pyarrow load + "
        "fit), dask-ml (read, persist, fit; no trees), hand-written pyspark.ml.",
    ]
    return "\n".join(lines) + "\n"
