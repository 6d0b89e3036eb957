"""The suite's PNG plots: throughput vs rows, cluster speedup, peak memory vs rows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..plots import _pyplot, _save
from .cases import CLUSTER_OF, ENGINE_PEER

__all__ = ["write_plots"]

COLORS = {
    "sklearn": "tab:blue",
    "dask-local": "tab:orange",
    "dask-cluster": "tab:red",
    "spark-local": "tab:green",
    "spark-standalone": "tab:purple",
}


def _series(
    report: dict[str, Any], engine: str, impl: str, algorithm: str, key: str
) -> tuple[list[int], list[float]]:
    points = sorted(
        (r["rows"], value)
        for r in report["results"]
        if (r["engine"], r["impl"], r["algorithm"]) == (engine, impl, algorithm)
        and r["status"] == "ok"
        and (value := _value(r, key)) is not None
    )
    return [p[0] for p in points], [p[1] for p in points]


def _value(row: dict[str, Any], key: str) -> float | None:
    if key == "peak":
        return row["peak_rss"].get("total", 0) / (1 << 20)
    if key == "speedup":
        return row.get("ratios", {}).get("speedup_vs_single")
    return row.get(key)


def _shade_over_budget(ax: Any, report: dict[str, Any]) -> None:
    """Grey the sizes whose data is over the memory budget (scikit-learn skipped there)."""
    sizes = sorted({(d["rows"], d["over_budget"]) for d in report["datasets"]})
    inside = [rows for rows, over in sizes if not over]
    over = [rows for rows, over in sizes if over]
    if not over:
        return
    left = (max(inside) * min(over)) ** 0.5 if inside else min(over) / 2
    limits = ax.get_xlim()
    ax.axvspan(left, limits[1], color="0.9", zorder=0, label="data over the memory budget")
    ax.set_xlim(limits)


def _engine_line(ax: Any, report: dict[str, Any], engine: str, algorithm: str, key: str) -> None:
    x, y = _series(report, engine, "scaleout", algorithm, key)
    if x:
        ax.plot(x, y, "o-", color=COLORS.get(engine), label=f"scaleout {engine}")


def _log_axes(ax: Any, report: dict[str, Any], algorithm: str, ylabel: str) -> None:
    ax.set(xscale="log", yscale="log", title=algorithm, xlabel="rows", ylabel=ylabel)
    _shade_over_budget(ax, report)
    ax.grid(True, which="both", alpha=0.3)


def _finish(plt: Any, fig: Any, axes: list[Any], title: str, path: Path) -> str:
    fig.suptitle(title, y=1.0)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    _legend(fig, axes)
    out = _save(fig, path)
    plt.close(fig)
    return out


def _grid(plt: Any, algorithms: list[str]) -> tuple[Any, list[Any]]:
    cols = min(3, len(algorithms))
    nrows = -(-len(algorithms) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.2 * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[len(algorithms) :]:
        ax.set_visible(False)
    return fig, flat


def _legend(fig: Any, axes: list[Any]) -> None:
    handles, labels = {}, []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in handles:
                handles[label] = h
                labels.append(label)
    fig.legend(
        [handles[k] for k in labels],
        labels,
        loc="lower center",
        ncol=max(1, -(-len(labels) // 2)),  # two rows: an engine and its peer per column
        bbox_to_anchor=(0.5, -0.02),
        frameon=False,
    )


def _throughput(plt: Any, report: dict[str, Any], path: Path) -> str:
    s = report["settings"]
    fig, axes = _grid(plt, s["algorithms"])
    scan_data = {r["algorithm"]: r["data"] for r in report["results"] if r["algorithm"]}
    for ax, algorithm in zip(axes, s["algorithms"], strict=False):
        for engine in s["engines"]:
            _engine_line(ax, report, engine, algorithm, "rows_per_s")
            if s["peers"]:
                x, y = _series(report, engine, ENGINE_PEER[engine], algorithm, "rows_per_s")
                if x:
                    ax.plot(
                        x,
                        y,
                        "x--",
                        color=COLORS.get(engine),
                        alpha=0.6,
                        label=f"{ENGINE_PEER[engine]} on {engine}",
                    )
        kind = scan_data.get(algorithm)
        scans = [
            (r["rows"], r["rows_per_s"])
            for r in report["results"]
            if r["impl"] == "pyarrow-scan" and r["data"] == kind and r["status"] == "ok"
        ]
        if scans:
            scans.sort()
            ax.plot(*zip(*scans, strict=True), "k:", label="pyarrow scan (one pass)")
        _log_axes(ax, report, algorithm, "rows / s")
    return _finish(plt, fig, axes, "Fit throughput (higher is better; peers dashed)", path)


def _speedup(plt: Any, report: dict[str, Any], path: Path) -> str:
    s = report["settings"]
    pairs = [(c, single) for c, single in CLUSTER_OF.items() if c in s["engines"]]
    fig, axes = plt.subplots(
        1, max(1, len(pairs)), figsize=(6 * max(1, len(pairs)), 4.6), squeeze=False
    )
    markers = "osD^vP"
    for ax, (cluster, single) in zip(axes[0], pairs or [("none", "none")], strict=False):
        for i, algorithm in enumerate(s["algorithms"]):
            x, y = _series(report, cluster, "scaleout", algorithm, "speedup")
            if x:
                ax.plot(x, y, marker=markers[i % len(markers)], label=algorithm)
        ax.axhline(1.0, color="black", lw=1, ls=":")
        ax.set(
            xscale="log",
            title=f"{cluster} vs {single}",
            xlabel="rows",
            ylabel=f"speedup ({single} s / {cluster} s)",
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Cluster of {s['workers']} workers vs the same engine on one machine "
        "(> 1: the cluster is faster)"
    )
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out


def _memory(plt: Any, report: dict[str, Any], path: Path) -> str:
    s = report["settings"]
    fig, axes = _grid(plt, s["algorithms"])
    budget = s["memory_budget"] / (1 << 20)
    nbytes = {}
    for d in report["datasets"]:
        nbytes.setdefault(d["kind"], []).append((d["rows"], d["nbytes"] / (1 << 20)))
    kinds = {r["algorithm"]: r["data"] for r in report["results"] if r["algorithm"]}
    for ax, algorithm in zip(axes, s["algorithms"], strict=False):
        for engine in s["engines"]:
            _engine_line(ax, report, engine, algorithm, "peak")
        ax.axhline(budget, color="black", ls="--", lw=1, label="memory budget")
        size = sorted(nbytes.get(kinds.get(algorithm), []))
        if size:
            ax.plot(*zip(*size, strict=True), "k:", label="data (float64 X + y)")
        _log_axes(ax, report, algorithm, "peak RSS, MiB")
    title = "Peak RSS of all processes of the engine (driver + workers + JVMs)"
    return _finish(plt, fig, axes, title, path)


def write_plots(report: dict[str, Any], out: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``suite-throughput.png``, ``suite-speedup.png`` and ``suite-memory.png``.

    Returns
    -------
    dict
        Plot name -> path. The speedup plot is left out when no cluster engine ran.

    Raises
    ------
    BackendUnavailable
        matplotlib is not installed (``pip install 'scaleout[plot]'``).
    """
    plt = _pyplot()
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "throughput": _throughput(plt, report, directory / "suite-throughput.png"),
        "memory": _memory(plt, report, directory / "suite-memory.png"),
    }
    if any(c in report["settings"]["engines"] for c in CLUSTER_OF):
        paths["speedup"] = _speedup(plt, report, directory / "suite-speedup.png")
    return paths
