"""DecisionTreeClassifier and DecisionTreeRegressor on Spark MLlib.

Spark grows the tree level by level on ``maxBins`` quantile bins per
feature (placed on a row sample); the nodes are read back in one call and
become scikit-learn's ``Tree`` (:func:`tree_state`).

Trees are read from Spark's model in one call: Spark 4's "local saving
mode" writes the node table to a small binary file on the driver (no Spark
job), which :func:`_parse_node_data` decodes; when that is not available
(Spark 3.5 has no local saving mode) the nodes are walked through Py4J
instead (slower: several calls per node).

The mapping (:data:`PARAMETER_TABLE` holds the same rows)
----------------------------------------------------------

DecisionTreeClassifier / DecisionTreeRegressor → ``pyspark.ml.*.DecisionTree*``

=========================  ==========================================================
scikit-learn               Spark MLlib
=========================  ==========================================================
max_depth                  ``maxDepth``; None → 30 (Spark's maximum), > 30 unsupported.
min_samples_leaf           ``minInstancesPerNode`` (a float: ``ceil(f * n)``).
min_samples_split          Spark has none: only values <= 2 * min_samples_leaf (which
                           every split satisfies anyway) are supported (fractions are
                           checked at fit, against the row count).
min_weight_fraction_leaf   ``minWeightFractionPerNode`` (< 0.5).
max_bins (scaleout's own)  ``maxBins``, default 256 as the dask engine (Spark's default
                           of 32 bins costs accuracy).
criterion                  ``impurity``: 'gini' → "gini", 'entropy'/'log_loss' →
                           "entropy", 'squared_error' → "variance".
min_impurity_decrease      only 0: Spark's ``minInfoGain`` is the gain inside the node,
                           scikit-learn's the gain weighted by the node's share of rows.
class_weight               a weight column, as for LogisticRegression.
random_state               ``seed`` (the row sample Spark places its bins on).
splitter                   only 'best'; max_features, max_leaf_nodes, monotonic_cst:
                           only None; ccp_alpha: only 0.
(always)                   ``pruneTree=False``: scikit-learn keeps sibling leaves that
                           predict the same class.
=========================  ==========================================================
"""

from __future__ import annotations

import math
import numbers
import os
import shutil
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._sktree import LEAF, UNDEFINED, build_tree
from ..._tempfiles import make_spill_dir
from ...data.validate import FLOAT32_MAX
from ...exceptions import InvalidParameterError, UnsupportedOnBackend
from .algorithm import Algorithm
from .convert import LABEL, WEIGHT
from .params import (
    DEFAULT_MAX_BINS,
    MAX_DEPTH,
    _check_class_weight,
    _is_default,
    _is_int,
    _unsupported,
)

if TYPE_CHECKING:
    from ...engines.base import FitTask
    from .convert import Prepared

#: (algorithm, scikit-learn parameter, Spark MLlib parameter or rule)
PARAMETER_TABLE: tuple[tuple[str, str, str], ...] = (
    ("DecisionTree*", "max_depth", "maxDepth (None -> 30)"),
    ("DecisionTree*", "min_samples_leaf", "minInstancesPerNode"),
    ("DecisionTree*", "min_weight_fraction_leaf", "minWeightFractionPerNode"),
    ("DecisionTree*", "max_bins", f"maxBins (default {DEFAULT_MAX_BINS})"),
    ("DecisionTree*", "criterion", "impurity: gini / entropy / variance"),
    ("DecisionTree*", "random_state", "seed"),
    ("DecisionTree*", "(always)", "pruneTree = False"),
)

_CLASSIFIER_CRITERIA = {"gini": "gini", "entropy": "entropy", "log_loss": "entropy"}
_REGRESSOR_CRITERIA = {"squared_error": "variance"}


class TreeAlgorithm(Algorithm):
    """One decision tree; ``classifier`` picks the MLlib class and impurity."""

    weights = True
    # the fitted tree predicts as scikit-learn's, on float32 values
    max_abs = FLOAT32_MAX

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

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fit without the rows of zero weight.

        MLlib places its candidate thresholds between the distinct values of
        every row, weighted or not: a row of weight 0 would move them, so the
        tree would differ from the one of the data without that row (which
        scikit-learn's is).
        """
        if prepared.has_weights:
            frame = frame.where(f"{WEIGHT} > 0")
        return super().fit(spark, params, prepared, frame, features, n_features)

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

    def check_task(self, task: FitTask) -> None:
        """Raise :class:`~scaleout.exceptions.UnsupportedOnBackend` for an option Spark's
        trees cannot honour (criterion, splitter, max_depth, ...), and
        :class:`~scaleout.exceptions.InvalidParameterError` for a bad ``max_bins``."""
        _check_tree(task.name, task.params, self.classifier)


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


# ---------------------------------------------------------------- parameters
def _max_bins(params: dict[str, Any]) -> int:
    value = params.get("max_bins", DEFAULT_MAX_BINS)
    if value is None:
        return DEFAULT_MAX_BINS
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 2:
        raise InvalidParameterError(f"max_bins must be an int >= 2; got {value!r}")
    return int(value)


def _check_tree(name: str, params: dict[str, Any], classifier: bool) -> None:
    criteria = _CLASSIFIER_CRITERIA if classifier else _REGRESSOR_CRITERIA
    criterion = params.get("criterion", next(iter(criteria)))
    if criterion not in criteria:
        raise _unsupported(name, "criterion", criterion, ", ".join(map(repr, criteria)))
    if params.get("splitter", "best") != "best":
        raise _unsupported(name, "splitter", params["splitter"], "'best'")
    depth = params.get("max_depth")
    if depth is not None and depth > MAX_DEPTH:
        raise _unsupported(
            name, "max_depth", depth, f"None or at most {MAX_DEPTH} (Spark's deepest tree)"
        )
    fixed = {
        "max_features": (None, "None (every feature at every split)"),
        "max_leaf_nodes": (None, "None"),
        "monotonic_cst": (None, "None"),
        "ccp_alpha": (0.0, "0.0 (no pruning)"),
        "min_impurity_decrease": (
            0.0,
            "0.0 (Spark's minInfoGain is the gain inside a node, not weighted by the node's "
            "share of the rows as scikit-learn's)",
        ),
    }
    for option, (default, supported) in fixed.items():
        value = params.get(option, default)
        if not _is_default(value, default):
            raise _unsupported(name, option, value, supported)
    fraction = params.get("min_weight_fraction_leaf", 0.0)
    if fraction >= 0.5:
        raise _unsupported(name, "min_weight_fraction_leaf", fraction, "values below 0.5")
    split = params.get("min_samples_split", 2)
    leaf = params.get("min_samples_leaf", 1)
    # Fractions are checked at fit, once the row count is known.
    if _is_int(split) and _is_int(leaf) and split > 2 * leaf:
        raise _unsupported(
            name,
            "min_samples_split",
            split,
            "2, or any int <= 2 * min_samples_leaf (Spark has no such limit; a split needs "
            "2 * min_samples_leaf rows anyway)",
        )
    if classifier:
        _check_class_weight(name, params)
    _max_bins(params)


def tree_params(params: dict[str, Any], classifier: bool, n_rows: int) -> dict[str, Any]:
    """MLlib ``DecisionTree*`` settings for scikit-learn's ``params`` on ``n_rows`` rows."""
    criteria = _CLASSIFIER_CRITERIA if classifier else _REGRESSOR_CRITERIA
    depth = params.get("max_depth")
    leaf = params.get("min_samples_leaf", 1)
    if not _is_int(leaf):  # a fraction of the rows, as scikit-learn
        leaf = max(1, math.ceil(float(leaf) * n_rows))
    seed = params.get("random_state")
    return {
        "maxDepth": MAX_DEPTH if depth is None else int(depth),
        "maxBins": _max_bins(params),
        "minInstancesPerNode": int(leaf),
        "minWeightFractionPerNode": float(params.get("min_weight_fraction_leaf", 0.0)),
        "minInfoGain": 0.0,
        "impurity": criteria[params.get("criterion", next(iter(criteria)))],
        "seed": int(seed) if _is_int(seed) else 0,
    }


# ------------------------------------------------------ fitted MLlib models
@dataclass
class Node:
    """One node of a Spark tree, as Spark's model writer stores it."""

    id: int
    prediction: float
    impurity: float
    stats: tuple[float, ...]
    raw_count: int
    left: int
    right: int
    feature: int
    threshold: float


def _parse_node_data(data: bytes) -> list[Node]:
    """Decode the node array Spark's local saving mode writes (big-endian).

    Layout: ``int n``, then per node ``int id, double prediction, double
    impurity, int len, double[len] impurityStats, long rawCount, double gain,
    int leftChild, int rightChild, int featureIndex, int len, double[len]
    leftCategoriesOrThreshold, int numCategories``.

    Raises
    ------
    ValueError
        When the bytes do not decode exactly (another Spark version's layout).
    """
    pos = 0

    def read(fmt: str) -> tuple:
        nonlocal pos
        values = struct.unpack_from(">" + fmt, data, pos)
        pos += struct.calcsize(">" + fmt)
        return values

    (count,) = read("i")
    nodes = []
    for _ in range(count):
        node_id, prediction, impurity, n_stats = read("iddi")
        stats = read(f"{n_stats}d")
        raw_count, _gain, left, right, feature, n_split = read("qdiiii")
        split = read(f"{n_split}d")
        (n_categories,) = read("i")
        if n_categories != -1:
            raise ValueError("categorical split")
        if left == LEAF:  # a leaf: Spark writes featureIndex -1 and no threshold
            feature, threshold = UNDEFINED, float(UNDEFINED)
        else:
            threshold = split[0]
        nodes.append(
            Node(node_id, prediction, impurity, stats, raw_count, left, right, feature, threshold)
        )
    if pos != len(data) or sorted(n.id for n in nodes) != list(range(count)):
        raise ValueError("unexpected node data layout")
    return nodes


def _nodes_by_local_save(model: Any) -> list[Node] | None:
    """The nodes read with Spark 4's local saving mode; None where Spark has none (3.5)."""
    from py4j.java_gateway import JavaPackage
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context
    utils_class = getattr(sc._jvm.org.apache.spark.ml.util, "ReadWriteUtils$")
    if isinstance(utils_class, JavaPackage):  # no such class: Py4J takes it for a package
        return None
    state = getattr(utils_class, "MODULE$").localSavingModeState()
    # named after this process: a killed fit's directory is removed by the next one
    tmp = make_spill_dir()
    try:
        path = os.path.join(tmp, "model")
        state.set(True)
        try:
            model._java_obj.write().save(path)
        finally:
            state.set(False)
        with open(os.path.join(path, "data"), "rb") as handle:
            return _parse_node_data(handle.read())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tree_nodes(model: Any) -> list[Node]:
    """The nodes of a fitted Spark tree model, in preorder (root first)."""
    try:
        nodes = _nodes_by_local_save(model)
    except Exception:
        nodes = None
    return _walk_preorder(model) if nodes is None else nodes


def _walk_preorder(model: Any) -> list[Node]:
    """Preorder walk through Py4J, children's ids assigned after their subtrees."""
    from pyspark import SparkContext

    arrays = SparkContext._active_spark_context._jvm.java.util.Arrays
    nodes: list[Node] = []

    def visit(java_node: Any) -> int:
        calc = java_node.impurityStats()
        text = str(arrays.toString(calc.stats())).strip("[]")
        stats = tuple(float(v) for v in text.split(",")) if text else ()
        node = Node(
            len(nodes),
            float(java_node.prediction()),
            float(java_node.impurity()),
            stats,
            int(calc.rawCount()),
            LEAF,
            LEAF,
            UNDEFINED,
            float(UNDEFINED),
        )
        nodes.append(node)
        if java_node.numDescendants() > 0:
            split = java_node.split()
            node.feature = int(split.featureIndex())
            node.threshold = float(split.threshold())
            node.left = visit(java_node.leftChild())
            node.right = visit(java_node.rightChild())
        return node.id

    visit(model._java_obj.rootNode())
    return nodes


def tree_state(
    nodes: list[Node], *, classifier: bool, n_features: int, classes: np.ndarray | None
) -> dict[str, Any]:
    """scikit-learn's tree attributes from Spark's nodes.

    Spark sends ``x <= threshold`` left, as scikit-learn. scikit-learn
    compares float32 features with float64 thresholds, so each threshold is
    rounded to float32: every row Spark sends left still goes left.
    """
    nodes = sorted(nodes, key=lambda n: n.id)
    count = len(nodes)
    left = np.array([n.left for n in nodes], dtype=np.intp)
    right = np.array([n.right for n in nodes], dtype=np.intp)
    is_leaf = left == LEAF
    feature = np.where(is_leaf, UNDEFINED, [n.feature for n in nodes]).astype(np.intp)
    threshold = np.array([n.threshold for n in nodes], dtype=np.float64)
    threshold = np.where(is_leaf, float(UNDEFINED), threshold.astype(np.float32))
    stats = [np.asarray(n.stats, dtype=np.float64) for n in nodes]
    if classifier:
        counts = np.zeros((count, len(classes)))
        for i, s in enumerate(stats):
            counts[i, : len(s)] = s
        weighted = counts.sum(axis=1)
        values = (counts / np.where(weighted > 0, weighted, 1.0)[:, None])[:, None, :]
        n_classes = np.array([len(classes)])
    else:
        weighted = np.array([s[0] for s in stats])
        values = np.array([n.prediction for n in nodes], dtype=np.float64)[:, None, None]
        n_classes = np.array([1])
    tree_nodes_ = {
        "left_child": left,
        "right_child": right,
        "feature": feature,
        "threshold": threshold.astype(np.float64),
        "impurity": np.array([n.impurity for n in nodes], dtype=np.float64),
        "n_node_samples": np.array([n.raw_count for n in nodes], dtype=np.intp),
        "weighted_n_node_samples": weighted.astype(np.float64),
        "missing_go_to_left": np.ones(count, dtype=np.uint8),
    }
    state: dict[str, Any] = {
        "tree_": build_tree(n_features, n_classes, tree_nodes_, values),
        "n_outputs_": 1,
        "max_features_": int(n_features),
    }
    if classifier:
        state["classes_"] = classes
        state["n_classes_"] = len(classes)
    return state
