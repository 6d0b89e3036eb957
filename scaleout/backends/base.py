"""The contract every engine implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..base import ScaleoutEstimator
    from ..data import Dataset
    from ..pipeline import Pipeline


@dataclass
class FitResult:
    """What a backend returns from a fit.

    Attributes
    ----------
    state : dict
        Fitted attributes (plain NumPy arrays and Python scalars) with
        scikit-learn's names, e.g. ``coef_``, ``intercept_``, ``classes_``.
    stats : dict
        Facts about the fit, copied into ``fit_stats_``: at least ``backend``,
        ``rows``, ``passes`` (passes over the data), ``seconds``.
    """

    state: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """An engine that fits scaleout estimators.

    Subclasses set :attr:`name` and implement :meth:`fit`; they override
    :meth:`check_supported` when they cannot honour every scikit-learn
    option, and :meth:`fit_pipeline` when they run whole pipelines natively.
    """

    name: ClassVar[str]

    def check_supported(self, estimator: ScaleoutEstimator) -> None:  # noqa: B027
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for an
        option this backend cannot honour; called before any data moves."""

    @abc.abstractmethod
    def fit(
        self,
        estimator: ScaleoutEstimator,
        dataset: Dataset,
        sample_weight: Any = None,
    ) -> FitResult:
        """Fit ``estimator``'s algorithm on ``dataset``; return its state."""

    @abc.abstractmethod
    def fit_pipeline(self, pipeline: Pipeline, dataset: Dataset, **fit_params: Any) -> FitResult:
        """Fit every step of ``pipeline`` in place on this engine.

        The returned state is empty (the steps hold their own); the stats
        describe the whole pipeline fit.
        """
