"""The contract every engine implements.

An engine is a :class:`Backend` subclass, registered through the
``scaleout.backends`` entry-point group (the built-in ones too), so a fourth
engine is a package of its own. It declares:

* ``name``, ``requires`` (importable packages) and ``extra`` (the pip extra);
* ``priority`` and ``out_of_core``: the size rule picks the installed
  out-of-core engine with the highest priority;
* :meth:`Backend.claims` / :meth:`Backend.wrap`: the native input types it
  claims (a Spark DataFrame is fitted by Spark);
* ``schemes`` / :meth:`Backend.connect`: the addresses ``so.connect`` hands it;
* :meth:`Backend.fit` (and optionally :meth:`Backend.fit_pipeline`,
  :meth:`Backend.predict_frame`).

The module that defines the class must import without the engine's own
packages (they are imported when the engine is first used).
"""

from __future__ import annotations

import abc
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .._task import FitTask
from ..exceptions import UnsupportedOnBackend
from ..registry import implementation, registered_engines

if TYPE_CHECKING:
    from ..data import Dataset

__all__ = ["Backend", "FitResult", "FitTask", "PipelineResult", "in_memory_stats"]


@dataclass
class FitResult:
    """What a backend returns from a fit.

    Attributes
    ----------
    state : dict
        Fitted attributes (plain NumPy arrays and Python scalars) with
        scikit-learn's names, e.g. ``coef_``, ``intercept_``, ``classes_``.
    stats : dict
        Facts about the fit, copied into ``fit_stats_``: at least ``rows``,
        ``passes`` (passes over the data), ``seconds``.
    n_features : int or None
        Columns the estimator was fitted on, when not the dataset's (a later
        pipeline step sees the previous step's output).
    """

    state: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    n_features: int | None = None


@dataclass
class PipelineResult:
    """What a backend returns from a pipeline fit: one result per step, in order."""

    steps: list[FitResult]
    stats: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """An engine that fits scaleout estimators.

    Subclasses set :attr:`name` and implement :meth:`fit`. Which estimators
    an engine fits is declared in the algorithm registry
    (:func:`scaleout.registry.register_implementation`), next to each
    algorithm's code; :meth:`check_supported` refuses the others.
    """

    name: ClassVar[str]
    #: The size rule prefers the out-of-core engine with the highest priority.
    priority: ClassVar[int] = 0
    #: Whether the size rule may pick it for data larger than the memory budget.
    out_of_core: ClassVar[bool] = False
    #: Importable packages the engine needs.
    requires: ClassVar[tuple[str, ...]] = ()
    #: ``pip install 'scaleout[extra]'`` brings them.
    extra: ClassVar[str | None] = None
    #: Address schemes ``so.connect`` hands to this engine (``"tcp"`` in ``tcp://...``).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: The addresses it accepts, for messages (e.g. ``"'tcp://host:port'"``).
    address_help: ClassVar[str] = ""
    #: Module whose import registers the engine's implementations (default: the class's own).
    implementations_module: ClassVar[str | None] = None
    #: Whether it fits SciPy sparse features (``Dataset.is_sparse``); the others refuse
    #: them in :meth:`check_input`, and ``backend="auto"`` sends them to one that does.
    sparse_input: ClassVar[bool] = False

    @classmethod
    def is_installed(cls) -> bool:
        """Whether every package in ``requires`` can be imported."""
        return all(importlib.util.find_spec(pkg) is not None for pkg in cls.requires)

    # ---------------------------------------------------------------- input
    @classmethod
    def claims(cls, data: Any) -> bool:
        """Whether ``data`` is this engine's own type (checked without importing it)."""
        return False

    def wrap(self, data: Any, target: Any = None) -> Dataset:
        """A :class:`~scaleout.data.Dataset` over data this engine :meth:`claims`."""
        raise NotImplementedError(f"backend {self.name!r} claims no input type")

    # -------------------------------------------------------------- address
    @classmethod
    def accepts_address(cls, address: str) -> bool:
        """Whether ``so.connect(address)`` belongs to this engine."""
        scheme = address.split("://", 1)[0] if "://" in address else ""
        return scheme in cls.schemes

    def connect(self, address: str | None) -> None:
        """Point later fits at ``address`` (None: back to this machine)."""
        if address is not None:
            raise UnsupportedOnBackend(f"backend {self.name!r} does not connect to clusters")

    # ------------------------------------------------------------------ fit
    def check_supported(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` before any data moves.

        The default refuses an estimator this engine registered no
        implementation for, and asks the implementation's ``check_task(task)``
        (when it has one) about the parameters.
        """
        if not self.supports(task.estimator):
            supported = self.supported_algorithms()
            raise UnsupportedOnBackend(
                f"{task.name} is not supported by backend {self.name!r}; supported: {supported}"
            )
        check = getattr(implementation(self.name, task.estimator), "check_task", None)
        if check is not None:
            check(task)

    def check_input(self, task: FitTask, dataset: Dataset) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for data it cannot fit.

        Called after :meth:`check_supported`, before any data moves. The
        default refuses sparse features unless the engine declares
        :attr:`sparse_input`, naming the engines that take them.
        """
        if not getattr(dataset, "is_sparse", False) or self.sparse_input:
            return
        from . import available_backends, backend_class

        takers = [n for n in available_backends() if backend_class(n).sparse_input]
        elsewhere = (
            f"sparse input on backend {' or '.join(map(repr, takers))} (backend='auto' picks "
            "it for sparse input)"
            if takers
            else "no installed engine fits sparse input"
        )
        raise UnsupportedOnBackend(
            f"{task.name}.fit on sparse input ({dataset.source}) is not supported by backend "
            f"{self.name!r}: its engine reads dense rows, and densifying could exhaust "
            f"memory. Supported: dense input (NumPy, pandas, Parquet, CSV, .npy) on backend "
            f"{self.name!r}, or {elsewhere}."
        )

    def supports(self, estimator: type) -> bool:
        """Whether this engine fits ``estimator`` (a scaleout estimator class).

        The default: it registered an implementation for the class (or a base).
        """
        return self.name in registered_engines(estimator)

    def supported_algorithms(self) -> list[str]:
        """Names of the estimator classes this engine fits."""
        from ..registry import estimator_classes

        return [
            name
            for name, cls in estimator_classes(algorithms_only=True).items()
            if self.supports(cls)
        ]

    @abc.abstractmethod
    def fit(self, task: FitTask, dataset: Dataset, sample_weight: Any = None) -> FitResult:
        """Fit ``task`` on ``dataset``; return the fitted state."""

    #: Engines that fit whole pipelines natively set this to True and implement
    #: :meth:`fit_pipeline`; others get scikit-learn's Pipeline over in-memory data.
    native_pipelines: ClassVar[bool] = False

    def fit_pipeline(
        self, tasks: list[FitTask], dataset: Dataset, **fit_params: Any
    ) -> PipelineResult:
        """Fit every step of a pipeline on this engine; one result per step."""
        raise UnsupportedOnBackend(f"backend {self.name!r} does not fit pipelines natively")

    # -------------------------------------------------------------- predict
    def predict_frame(self, model: Any, method: str, frame: Any, *args: Any, **kwargs: Any) -> Any:
        """``model.<method>`` on a frame of this engine, staying in the engine."""
        raise UnsupportedOnBackend(
            f"{type(model).__name__}.{method} on a {type(frame).__name__} is not supported by "
            f"backend {self.name!r}"
        )


def in_memory_stats(rows: int, start: float, loaded: float, done: float) -> dict[str, Any]:
    """``fit_stats_`` of a fit that loaded the data into memory once."""
    return {
        "rows": int(rows),
        "passes": 1,
        "storage": "memory",
        "read_seconds": loaded - start,
        "fit_seconds": done - loaded,
        "seconds": done - start,
    }
