"""The one place that decides which engine fits an estimator.

Precedence, first match wins (as Fugue's ``make_execution_engine``):

1. the estimator's own ``backend=`` parameter, when not "auto";
2. ``so.config_context(backend=...)`` / ``so.set_config(backend=...)``;
3. the input's type: data that lives in an engine (a Spark or Dask
   DataFrame) is fitted by that engine; SciPy sparse features in memory by
   ``sklearn`` (the engine that fits them without densifying);
4. the size rule: data whose estimated in-memory size exceeds the memory
   budget goes to the installed out-of-core engine of the highest
   ``priority`` (ties by name);
5. the default, ``sklearn`` (in memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._config import get_config, memory_budget
from ..exceptions import BackendUnavailable
from . import available_backends, backend_class

__all__ = [
    "DEFAULT_BACKEND",
    "EngineDecision",
    "memory_budget",
    "resolve_backend",
    "takes_sparse_input",
]

DEFAULT_BACKEND = "sklearn"


@dataclass(frozen=True)
class EngineDecision:
    """Which engine was chosen, by which rule, and why.

    Attributes
    ----------
    backend : str
        The chosen engine's name.
    rule : str
        The rule that decided: "explicit", "config", "input type", "size",
        or "default".
    reasons : list of str
        One line per rule that was consulted, in precedence order.
    data : str
        A short description of the data.
    estimated_nbytes : int or None
        Estimated in-memory size of the data.
    memory_budget : int
        The budget the size rule compared against.
    supported_by : list of str
        The installed engines that fit this estimator.
    """

    backend: str
    rule: str
    reasons: list[str] = field(default_factory=list)
    data: str = ""
    estimated_nbytes: int | None = None
    memory_budget: int = 0
    supported_by: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"backend: {self.backend}  (decided by: {self.rule})", f"data: {self.data}"]
        lines += [f"  {i}. {reason}" for i, reason in enumerate(self.reasons, 1)]
        if self.supported_by:
            lines.append(f"engines that fit it: {', '.join(self.supported_by)}")
        return "\n".join(lines)


def _format_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _fitted_by(estimator: Any) -> list[str]:
    from . import engines_for

    if not hasattr(type(estimator), "_sklearn_class"):
        return []  # a pipeline: each step says for itself
    return engines_for(type(estimator))


def resolve_backend(estimator: Any, dataset: Any) -> EngineDecision:
    """Choose the engine for fitting ``estimator`` on ``dataset``.

    Parameters
    ----------
    estimator : object
        Anything with a ``backend`` parameter ("auto" or an engine name).
    dataset : scaleout.data.Dataset
        The data, already wrapped.

    Returns
    -------
    EngineDecision
        The engine, the deciding rule, and one reason per rule consulted.

    Raises
    ------
    BackendUnavailable
        For an explicit or configured name that is not a registered backend.
    """
    reasons: list[str] = []
    nbytes = getattr(dataset, "estimated_nbytes", None)
    budget = memory_budget()
    common = {
        "data": getattr(dataset, "source", repr(dataset)),
        "estimated_nbytes": nbytes,
        "memory_budget": budget,
    }

    def decide(name: str, rule: str) -> EngineDecision:
        backend_class(name)  # an unknown name fails here, listing the valid ones
        return EngineDecision(
            backend=name, rule=rule, reasons=reasons, supported_by=_fitted_by(estimator), **common
        )

    explicit = getattr(estimator, "backend", "auto")
    if explicit != "auto":
        reasons.append(f"explicit: {type(estimator).__name__}(backend={explicit!r})")
        return decide(explicit, "explicit")
    reasons.append(f"explicit: {type(estimator).__name__}(backend='auto'), no choice")

    configured = get_config()["backend"]
    if configured != "auto":
        reasons.append(f"config: so.config_context/set_config(backend={configured!r})")
        return decide(configured, "config")
    reasons.append("config: backend='auto', no choice")

    native = getattr(dataset, "native_backend", None)
    if native is not None:
        reasons.append(f"input type: the data lives in {native!r}")
        return decide(native, "input type")
    if getattr(dataset, "is_sparse", False):
        reasons.append(
            f"input type: SciPy sparse features in memory; {DEFAULT_BACKEND!r} fits them "
            "sparse, as scikit-learn does (the out-of-core engines read dense rows)"
        )
        return decide(DEFAULT_BACKEND, "input type")
    reasons.append("input type: NumPy/pandas/files, no engine implied")

    if nbytes is not None and nbytes > budget:
        out_of_core = sorted(
            (n for n in available_backends() if backend_class(n).out_of_core),
            key=lambda n: (-backend_class(n).priority, n),
        )
        size = f"estimated {_format_bytes(nbytes)} > memory budget {_format_bytes(budget)}"
        if out_of_core:
            reasons.append(f"size: {size}, so out of core on {out_of_core[0]!r}")
            return decide(out_of_core[0], "size")
        reasons.append(
            f"size: {size}, but no out-of-core backend is installed "
            "(pip install 'scaleout[dask]'); falling through"
        )
    else:
        reasons.append(
            f"size: estimated {_format_bytes(nbytes)} <= memory budget "
            f"{_format_bytes(budget)}, fits in memory"
        )

    reasons.append(f"default: {DEFAULT_BACKEND!r} (in memory)")
    return decide(DEFAULT_BACKEND, "default")


def takes_sparse_input(backend: str) -> bool:
    """Whether a fit with ``backend=`` that value would accept SciPy sparse features.

    The engine is resolved as for sparse input (explicit > config > the input
    type rule, which picks ``sklearn``); an unknown name gives False.

    Parameters
    ----------
    backend : str
        An estimator's ``backend`` parameter ("auto" or an engine's name).

    Returns
    -------
    bool
        The resolved engine's ``sparse_input`` declaration.
    """
    name = backend if backend != "auto" else get_config()["backend"]
    if name == "auto":
        name = DEFAULT_BACKEND
    try:
        return bool(backend_class(name).sparse_input)
    except BackendUnavailable:  # an unknown name: it fits nothing
        return False
