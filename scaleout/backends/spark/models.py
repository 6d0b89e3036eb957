"""Fitted MLlib models → scikit-learn's fitted attributes (plain NumPy).

Each function takes a fitted ``pyspark.ml`` model (or its parts) and returns
the state scikit-learn would hold after the same fit, so ``predict``,
``to_sklearn()`` and ``save`` need no Spark afterwards.

Trees are read from Spark's model in one call: Spark 4's "local saving
mode" writes the node table to a small binary file on the driver (no Spark
job), which :func:`_parse_node_data` decodes; when that is not available
(Spark 3.5 has no local saving mode) the nodes are walked through Py4J
instead (slower: several calls per node).
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..._sktree import LEAF, UNDEFINED, build_tree

__all__ = [
    "Node",
    "kmeans_state",
    "linear_regression_state",
    "logistic_state",
    "pca_state",
    "tree_nodes",
    "tree_state",
]


# ------------------------------------------------------------ linear models
def linear_regression_state(model: Any) -> dict[str, Any]:
    """``coef_`` and ``intercept_`` of a fitted ``LinearRegressionModel``.

    scikit-learn's ``rank_`` and ``singular_`` (of the centred data) are not
    available from Spark and are not set.
    """
    return {
        "coef_": np.asarray(model.coefficients.toArray(), dtype=np.float64),
        "intercept_": float(model.intercept),
    }


def logistic_state(model: Any, classes: np.ndarray, n_iter: int) -> dict[str, Any]:
    """``classes_``, ``coef_``, ``intercept_``, ``n_iter_`` of a ``LogisticRegressionModel``.

    Binary: one coefficient row for ``classes_[1]``, as scikit-learn. Three or
    more classes: the multinomial rows, centred over the classes (the
    softmax is unchanged by a shift common to all classes; scikit-learn's
    lbfgs solution has the same zero-sum rows and intercepts).
    """
    if len(classes) == 2:
        coef = np.asarray(model.coefficients.toArray(), dtype=np.float64)[None, :]
        intercept = np.array([float(model.intercept)])
    else:
        coef = np.asarray(model.coefficientMatrix.toArray(), dtype=np.float64)
        intercept = np.asarray(model.interceptVector.toArray(), dtype=np.float64)
        coef = coef - coef.mean(axis=0)
        intercept = intercept - intercept.mean()
    return {
        "classes_": classes,
        "coef_": np.ascontiguousarray(coef),
        "intercept_": intercept,
        "n_iter_": np.array([n_iter], dtype=np.int32),
    }


# -------------------------------------------------------------------- KMeans
def kmeans_state(centers: np.ndarray, cost: float, n_iter: int) -> dict[str, Any]:
    """``cluster_centers_``, ``inertia_`` (the sum of squared distances of the
    rows to their closest centre, Spark's training cost) and ``n_iter_``."""
    return {
        "cluster_centers_": np.ascontiguousarray(centers, dtype=np.float64),
        "inertia_": float(cost),
        "n_iter_": int(n_iter),
    }


# ----------------------------------------------------------------------- PCA
def sign_flip(components: np.ndarray) -> np.ndarray:
    """scikit-learn's ``svd_flip`` convention: each row's largest |entry| positive."""
    rows = np.arange(components.shape[0])
    signs = np.sign(components[rows, np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1.0
    return signs


def pca_state(
    pc: np.ndarray,
    ratio: np.ndarray,
    n_components: Any,
    means: np.ndarray,
    variances: np.ndarray,
    n_rows: int,
) -> dict[str, Any]:
    """PCA's fitted attributes from Spark's ``pc`` (p x k) and ``explainedVariance``.

    Parameters
    ----------
    pc : ndarray of shape (n_features, k)
        Spark's principal components, one per column.
    ratio : ndarray of shape (k,)
        Spark's explained variance ratios (eigenvalue / trace of the covariance).
    n_components : int, float or None
        The scikit-learn parameter (a float keeps the smallest number of
        components whose cumulative ratio exceeds it).
    means, variances : ndarray of shape (n_features,)
        Column means and variances (``ddof=1``): the trace of the covariance
        is ``variances.sum()``.
    n_rows : int

    Returns
    -------
    dict
        ``components_`` (sign-normalised), ``explained_variance_``,
        ``explained_variance_ratio_``, ``singular_values_``, ``mean_``,
        ``n_components_``, ``n_samples_``, ``noise_variance_``.
    """
    p = pc.shape[0]
    total = float(np.sum(variances))
    ratio = np.asarray(ratio, dtype=np.float64)
    if isinstance(n_components, float) and 0 < n_components < 1:
        k = int(np.searchsorted(np.cumsum(ratio), n_components, side="right") + 1)
        k = min(k, len(ratio))
    else:
        k = pc.shape[1]
    components = np.array(pc.T[:k], dtype=np.float64, order="C", copy=True)
    components *= sign_flip(components)[:, None]
    explained = ratio[:k] * total
    keep = min(n_rows, p)
    noise = (total - explained.sum()) / (keep - k) if k < keep else 0.0
    return {
        "components_": components,
        "explained_variance_": explained,
        "explained_variance_ratio_": ratio[:k].copy(),
        "singular_values_": np.sqrt(np.maximum(explained, 0.0) * (n_rows - 1)),
        "mean_": np.asarray(means, dtype=np.float64),
        "n_components_": int(k),
        "n_samples_": int(n_rows),
        "noise_variance_": float(max(noise, 0.0)),
    }


# --------------------------------------------------------------------- trees
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
    with tempfile.TemporaryDirectory(prefix="scaleout-tree-") as tmp:
        path = os.path.join(tmp, "model")
        state.set(True)
        try:
            model._java_obj.write().save(path)
        finally:
            state.set(False)
        with open(os.path.join(path, "data"), "rb") as handle:
            return _parse_node_data(handle.read())


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
