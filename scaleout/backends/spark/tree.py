"""DecisionTreeClassifier and DecisionTreeRegressor on Spark MLlib.

Spark grows the tree level by level on ``maxBins`` quantile bins per
feature (placed on a row sample); the nodes are read back in one call and
become scikit-learn's ``Tree`` (:func:`~.models.tree_state`).
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

from ...exceptions import UnsupportedOnBackend
from .algorithm import Algorithm
from .convert import LABEL, WEIGHT
from .models import tree_nodes, tree_state
from .params import tree_params

if TYPE_CHECKING:
    from .convert import Prepared


class TreeAlgorithm(Algorithm):
    """One decision tree; ``classifier`` picks the MLlib class and impurity."""

    weights = True

    def __init__(self, classifier: bool) -> None:
        self.classifier = classifier

    @property
    def label(self) -> str:  # type: ignore[override]
        return "class" if self.classifier else "value"

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        from pyspark.ml.classification import DecisionTreeClassifier
        from pyspark.ml.regression import DecisionTreeRegressor

        settings = tree_params(params, self.classifier, prepared.n_rows)
        _check_min_samples_split(
            params, settings["minInstancesPerNode"], prepared.n_rows, self.classifier
        )
        cls = DecisionTreeClassifier if self.classifier else DecisionTreeRegressor
        weight = {"weightCol": WEIGHT} if prepared.has_weights else {}
        stage = cls(featuresCol=features, labelCol=LABEL, **weight, **settings)
        if stage.hasParam("pruneTree"):  # keep sibling leaves of one class, as scikit-learn
            stage._set(pruneTree=False)
        return stage

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        return tree_state(
            tree_nodes(model),
            classifier=self.classifier,
            n_features=n_features,
            classes=prepared.classes,
        )

    def info(self, model: Any) -> dict[str, Any]:
        return {"iterations": int(model.depth), "nodes": int(model.numNodes)}


def _check_min_samples_split(
    params: dict[str, Any], min_leaf: int, n_rows: int, classifier: bool
) -> None:
    """Spark has no min_samples_split: only values every split satisfies anyway."""
    split = params.get("min_samples_split", 2)
    if isinstance(split, numbers.Integral):
        split_rows = int(split)
    else:  # a fraction of the rows, as scikit-learn: ceil(f * n), at least 2
        split_rows = max(2, math.ceil(float(split) * n_rows))
    if split_rows <= 2 * min_leaf:
        return
    name = "DecisionTreeClassifier" if classifier else "DecisionTreeRegressor"
    raise UnsupportedOnBackend(
        f"{name}(min_samples_split={split!r}) is not supported by backend 'spark' with "
        f"min_samples_leaf={params.get('min_samples_leaf', 1)!r} ({min_leaf} rows): Spark has "
        f"no minimum node size to split; supported: min_samples_split <= 2 * min_samples_leaf "
        f"(here {split_rows} > {2 * min_leaf})"
    )
