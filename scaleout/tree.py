"""Decision trees: :class:`DecisionTreeClassifier`, :class:`DecisionTreeRegressor`.

The fitted tree is scikit-learn's own ``Tree`` structure (``tree_``), built
from plain arrays, whichever engine grew it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import tree as _sk
from sklearn.base import ClassifierMixin, RegressorMixin

from .base import ScaleoutEstimator
from .data.sparse import check_sparse_float32_range, is_sparse
from .data.validate import check_float32_range
from .exceptions import InvalidParameterError
from .kernels import Kernel
from .registry import register_estimator

_TREE_PARAMS_DOC = """
    Parameters
    ----------
    criterion, splitter, max_depth, min_samples_split, min_samples_leaf, \
min_weight_fraction_leaf, max_features, random_state, max_leaf_nodes, \
min_impurity_decrease, ccp_alpha, monotonic_cst
        As in scikit-learn.
    max_bins : int, default=256
        Histogram engines (dask, spark) bin each feature into at most this
        many quantile bins; the sklearn engine grows scikit-learn's exact tree
        and ignores it.
    backend : str, default="auto"
        "auto", "sklearn", or any registered engine.

    Attributes
    ----------
    tree_ : sklearn.tree._tree.Tree
        The tree structure (``children_left``, ``threshold``, ``value``, ...).
    n_outputs_, max_features_, n_features_in_, feature_names_in_
        As in scikit-learn.
    backend_ : str
    fit_stats_ : dict
"""


class _BaseTree(ScaleoutEstimator):
    _supervised = True
    _scaleout_params = ("backend", "max_bins")

    def _validate_params(self) -> None:
        super()._validate_params()
        bins = self.max_bins
        if (
            isinstance(bins, bool)
            or not isinstance(bins, (int, np.integer))
            or not (2 <= bins <= 65536)
        ):
            raise InvalidParameterError(
                f"The 'max_bins' parameter of {type(self).__name__} must be an int in "
                f"[2, 65536]. Got {bins!r} instead."
            )

    def _prepare_input(self, estimator: Any, X: np.ndarray) -> None:
        """Refuse values beyond float32's range: scikit-learn's tree would see infinity."""
        check = check_sparse_float32_range if is_sparse(X) else check_float32_range
        check(X, feature_names=self._feature_names_list(), why=f"{type(self).__name__}.predict")

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class or value of each row."""
        return self._call_local("predict", X)

    def apply(self, X: Any) -> np.ndarray:
        """Index of the leaf each row ends in."""
        return self._call_local("apply", X)

    def decision_path(self, X: Any) -> Any:
        """Sparse indicator matrix of the nodes each row goes through."""
        return self._call_local("decision_path", X)

    def get_depth(self) -> int:
        """Depth of the tree."""
        return self._local_estimator().get_depth()

    def get_n_leaves(self) -> int:
        """Number of leaves."""
        return self._local_estimator().get_n_leaves()

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity-based feature importances."""
        return self._local_estimator().feature_importances_


@register_estimator
class DecisionTreeClassifier(ClassifierMixin, _BaseTree):
    __doc__ = "A decision tree classifier, grown on any engine.\n" + _TREE_PARAMS_DOC
    _sklearn_class = _sk.DecisionTreeClassifier
    _fitted_attrs = ("tree_", "classes_", "n_classes_", "n_outputs_", "max_features_")
    _required_attrs = ("tree_", "classes_", "n_classes_", "n_outputs_")
    _kernel = Kernel(
        "scaleout.kernels.tree", "check_tree_params", "fit_decision_tree", (("classifier", True),)
    )
    _classifier = True

    def __init__(
        self,
        *,
        criterion: str = "gini",
        splitter: str = "best",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: int | float | str | None = None,
        random_state: int | None = None,
        max_leaf_nodes: int | None = None,
        min_impurity_decrease: float = 0.0,
        class_weight: dict | str | None = None,
        ccp_alpha: float = 0.0,
        monotonic_cst: Any = None,
        max_bins: int = 256,
        backend: str = "auto",
    ) -> None:
        self.criterion = criterion
        self.splitter = splitter
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.class_weight = class_weight
        self.ccp_alpha = ccp_alpha
        self.monotonic_cst = monotonic_cst
        self.max_bins = max_bins
        self.backend = backend

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (fraction of each class in the leaf)."""
        return self._call_local("predict_proba", X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of the class probabilities."""
        return self._call_local("predict_log_proba", X)


@register_estimator
class DecisionTreeRegressor(RegressorMixin, _BaseTree):
    __doc__ = "A decision tree regressor, grown on any engine.\n" + _TREE_PARAMS_DOC
    _sklearn_class = _sk.DecisionTreeRegressor
    _fitted_attrs = ("tree_", "n_outputs_", "max_features_")
    _required_attrs = ("tree_", "n_outputs_")
    _kernel = Kernel(
        "scaleout.kernels.tree", "check_tree_params", "fit_decision_tree", (("classifier", False),)
    )

    def __init__(
        self,
        *,
        criterion: str = "squared_error",
        splitter: str = "best",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: int | float | str | None = None,
        random_state: int | None = None,
        max_leaf_nodes: int | None = None,
        min_impurity_decrease: float = 0.0,
        ccp_alpha: float = 0.0,
        monotonic_cst: Any = None,
        max_bins: int = 256,
        backend: str = "auto",
    ) -> None:
        self.criterion = criterion
        self.splitter = splitter
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.max_leaf_nodes = max_leaf_nodes
        self.min_impurity_decrease = min_impurity_decrease
        self.ccp_alpha = ccp_alpha
        self.monotonic_cst = monotonic_cst
        self.max_bins = max_bins
        self.backend = backend
