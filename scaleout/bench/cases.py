"""The benchmark matrix: algorithms (with the settings every engine shares), engines, sizes.

Every engine and every peer fits an algorithm with the same settings
(:data:`ALGORITHMS`): KMeans is capped at ``max_iter=20`` and the trees at
``max_depth=6`` everywhere, so the full suite fits in about half an hour on
two cores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ScaleoutError

__all__ = [
    "ALGORITHMS",
    "CAPPED_PARAMS",
    "CLUSTER_OF",
    "ENGINES",
    "ENGINE_PEER",
    "FULL",
    "QUICK",
    "AlgorithmCase",
    "Preset",
    "case_of",
    "format_bytes",
    "parse_bytes",
    "parse_sizes",
    "select",
]


@dataclass(frozen=True)
class AlgorithmCase:
    """One algorithm of the suite.

    Attributes
    ----------
    name : str
        scaleout's (and scikit-learn's) class name.
    data : {"regression", "classification", "blobs"}
        Which generated dataset it is fitted on.
    task : {"regression", "classification", "clustering", "decomposition"}
        Decides the quality metric (:mod:`scaleout.bench.quality`).
    params : dict
        Constructor parameters, scikit-learn's names, used by every engine and peer.
    """

    name: str
    data: str
    task: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def supervised(self) -> bool:
        """Whether the fit uses the target column."""
        return self.task in ("regression", "classification")


#: Settings the suite caps so the full run fits in its time (every engine and peer
#: uses them); any other registered algorithm runs with scikit-learn's defaults.
CAPPED_PARAMS: dict[str, dict[str, Any]] = {
    "LogisticRegression": {"C": 1.0, "max_iter": 100, "tol": 1e-4},
    "DecisionTreeClassifier": {"max_depth": 6, "random_state": 0},
    "DecisionTreeRegressor": {"max_depth": 6, "random_state": 0},
    "KMeans": {"n_clusters": 8, "n_init": 1, "max_iter": 20, "tol": 1e-4, "random_state": 0},
    "PCA": {"n_components": 5},
}


def case_of(estimator: type) -> AlgorithmCase:
    """The suite's case for a registered estimator class: its data and metric from its kind."""
    from sklearn.base import is_classifier, is_clusterer, is_regressor

    instance = estimator()
    if is_classifier(instance):
        data, task = "classification", "classification"
    elif is_regressor(instance):
        data, task = "regression", "regression"
    elif is_clusterer(instance):
        data, task = "blobs", "clustering"
    else:
        data, task = "blobs", "decomposition"
    return AlgorithmCase(
        estimator.__name__, data, task, dict(CAPPED_PARAMS.get(estimator.__name__, {}))
    )


def _registered_cases() -> dict[str, AlgorithmCase]:
    from ..registry import estimator_classes

    # Preprocessing transformers (scaleout.preprocessing) have no task metric here: their
    # statistics are compared with scikit-learn's in tests/engines/, and issue 12's
    # pipeline benchmark (preprocessing + model) is where they are to be timed.
    return {
        name: case_of(cls)
        for name, cls in estimator_classes(algorithms_only=True).items()
        if cls.__module__ not in ("scaleout.preprocessing", "scaleout.impute", "scaleout.compose")
    }


#: Every registered algorithm but the preprocessing transformers (the registry is the
#: list; see :func:`case_of`).
ALGORITHMS: dict[str, AlgorithmCase] = _registered_cases()

#: Engines in the order they run (one is up at a time).
ENGINES: tuple[str, ...] = (
    "sklearn",
    "dask-local",
    "dask-cluster",
    "spark-local",
    "spark-standalone",
)

#: The peer each engine's time is divided by (besides the pyarrow scan).
ENGINE_PEER: dict[str, str] = {
    "sklearn": "sklearn-raw",
    "dask-local": "dask-ml",
    "dask-cluster": "dask-ml",
    "spark-local": "pyspark.ml",
    "spark-standalone": "pyspark.ml",
}

#: Cluster engine -> the same engine on one machine (for the speedup).
CLUSTER_OF: dict[str, str] = {"dask-cluster": "dask-local", "spark-standalone": "spark-local"}


@dataclass(frozen=True)
class Preset:
    """Default sizes, engines and memory budget of a suite."""

    sizes: tuple[int, ...]
    engines: tuple[str, ...]
    memory_budget: int
    max_case_seconds: float
    warmup: str = "all"


#: ``scaleout bench``: three sizes, the largest over the 512 MiB budget (4e6 x 20 float64
#: = 640 MB), every engine.
FULL = Preset((100_000, 1_000_000, 4_000_000), ENGINES, 512 << 20, 600.0)

#: ``scaleout bench --quick``: two small sizes, the larger over a 4 MiB budget
#: (50,000 x 21 float64 = 8.0 MiB; 10,000 rows = 1.6 MiB), the engines that start in seconds,
#: a warm-up of one algorithm (the others pay their first use in the smaller size).
QUICK = Preset(
    (10_000, 50_000),
    ("sklearn", "dask-local", "dask-cluster", "spark-local"),
    4 << 20,
    60.0,
    warmup="one",
)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
}


def parse_bytes(text: str | int) -> int:
    """``"512MiB"``, ``"1.5GB"``, ``"4000000"`` -> bytes.

    Raises
    ------
    ScaleoutError
        Text that is not a positive size.
    """
    if isinstance(text, int):
        value = text
    else:
        match = re.fullmatch(r"\s*([0-9.]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise ScaleoutError(f"cannot read the size {text!r}; e.g. 512MiB, 2GiB, 1.5GB")
        value = int(float(match.group(1)) * _UNITS[unit])
    if value <= 0:
        raise ScaleoutError(f"a memory budget must be positive, got {text!r}")
    return value


def format_bytes(n: float | None) -> str:
    """Bytes as MiB or GiB, e.g. "3.2 MiB", "512 MiB", "1.25 GiB" ("n/a" for None)."""
    if n is None:
        return "n/a"
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= 100 << 20:
        return f"{n / (1 << 20):.0f} MiB"
    return f"{n / (1 << 20):.1f} MiB"


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"1e5,1e6,4e6"`` -> ``(100000, 1000000, 4000000)`` (sorted, at least 100 rows each)."""
    sizes = []
    for item in text.split(","):
        try:
            value = int(float(item))
        except ValueError:
            raise ScaleoutError(f"--sizes expects row counts like 1e5,1e6; got {item!r}") from None
        if value < 100:
            raise ScaleoutError(f"--sizes: at least 100 rows per size, got {item!r}")
        sizes.append(value)
    return tuple(sorted(set(sizes)))


def select(text: str | None, known: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    """A comma-separated subset of ``known`` (all when ``text`` is None), in ``known``'s order.

    Names match case-insensitively, ignoring ``_`` and ``-``.
    """
    if not text:
        return tuple(known)
    norm = {k.replace("_", "").replace("-", "").lower(): k for k in known}
    chosen = set()
    for item in text.split(","):
        key = item.strip().replace("_", "").replace("-", "").lower()
        if key not in norm:
            raise ScaleoutError(f"unknown {what} {item.strip()!r}; expected some of {list(known)}")
        chosen.add(norm[key])
    return tuple(k for k in known if k in chosen)
