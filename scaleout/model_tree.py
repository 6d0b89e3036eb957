"""Check a saved tree's node arrays before scikit-learn's compiled code walks them.

scikit-learn's ``Tree`` trusts its nodes: a child index out of range reads
outside the node array (a segfault), a child pointing back up the tree loops
forever. :func:`check_tree_nodes` proves the arrays describe a binary tree
(every node reached once from the root, no cycle), that leaves and splits are
marked consistently and that every split's feature and threshold are usable.
"""

from __future__ import annotations

import numpy as np

from ._sktree import LEAF, UNDEFINED

__all__ = ["check_tree_nodes"]


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def check_tree_nodes(
    nodes: dict[str, np.ndarray], values: np.ndarray, n_features: int, classifier: bool
) -> tuple[str | None, int]:
    """Problems with a tree's node arrays, and the tree's depth.

    Parameters
    ----------
    nodes : dict of str to ndarray
        One 1-D array per node field, all of one length ``node_count`` and of
        scikit-learn's node dtypes (checked by the caller).
    values : ndarray of shape (node_count, n_outputs, max_n_classes)
    n_features : int
        The features the splits may use.
    classifier : bool
        Class fractions (non-negative) rather than regression values.

    Returns
    -------
    problem : str or None
        The first problem found, naming the node and the field.
    depth : int
        The tree's depth (0 when there is a problem).
    """
    left, right = nodes["left_child"], nodes["right_child"]
    feature, threshold = nodes["feature"], nodes["threshold"]
    count = len(left)
    if count == 0:
        return "the tree has no node", 0
    leaf = left == LEAF
    if np.any((right == LEAF) != leaf):
        node = _first((right == LEAF) != leaf)
        return (
            f"node {node} has left_child {left[node]} and right_child {right[node]}; "
            f"a leaf has both {LEAF}, a split neither"
        ), 0
    for name, child in (("left_child", left), ("right_child", right)):
        bad = ~leaf & ((child < 1) | (child >= count))
        if bad.any():
            node = _first(bad)
            return (
                f"node {node}'s {name} is {child[node]}; expected {LEAF} (a leaf) or a node "
                f"index in [1, {count})"
            ), 0
    children = np.concatenate([left[~leaf], right[~leaf]])
    parents = np.bincount(children, minlength=count)
    if np.any(parents[1:] != 1):
        node = _first(parents[1:] != 1) + 1
        return (
            f"node {node} is the child of {parents[node]} nodes; in a tree every node but "
            "the root has exactly one parent"
        ), 0
    depth, reached, frontier = 0, 1, np.zeros(1, dtype=np.intp)
    while True:
        splits = frontier[~leaf[frontier]]
        if not splits.size:
            break
        frontier = np.concatenate([left[splits], right[splits]])
        reached += frontier.size
        depth += 1
    if reached != count:
        return (
            f"{count - reached} of {count} nodes cannot be reached from the root (the "
            "children form a cycle)"
        ), 0
    split_feature = feature[~leaf]
    bad = (split_feature < 0) | (split_feature >= n_features)
    if bad.any():
        node = int(np.flatnonzero(~leaf)[_first(bad)])
        return (
            f"node {node}'s feature is {feature[node]}; expected a feature index in "
            f"[0, {n_features})"
        ), 0
    if not np.all(np.isfinite(threshold[~leaf])):
        node = int(np.flatnonzero(~leaf)[_first(~np.isfinite(threshold[~leaf]))])
        return f"node {node}'s threshold is {threshold[node]}; expected a finite number", 0
    if np.any(feature[leaf] != UNDEFINED) or np.any(threshold[leaf] != UNDEFINED):
        node = int(
            np.flatnonzero(leaf)[
                _first((feature[leaf] != UNDEFINED) | (threshold[leaf] != UNDEFINED))
            ]
        )
        return (
            f"leaf {node} has feature {feature[node]} and threshold {threshold[node]}; "
            f"expected {UNDEFINED} for both"
        ), 0
    problem = _check_node_stats(nodes, values, classifier)
    return problem, (0 if problem else depth)


def _check_node_stats(
    nodes: dict[str, np.ndarray], values: np.ndarray, classifier: bool
) -> str | None:
    checks = (
        ("impurity", nodes["impurity"], None),
        ("weighted_n_node_samples", nodes["weighted_n_node_samples"], 0.0),
        ("n_node_samples", nodes["n_node_samples"], 0),
    )
    for name, array, minimum in checks:
        bad = ~np.isfinite(array) if array.dtype.kind == "f" else np.zeros(len(array), bool)
        if minimum is not None:
            bad |= array < minimum
        if bad.any():
            node = _first(bad)
            expected = "finite" if minimum is None else f"finite and >= {minimum}"
            return f"node {node}'s {name} is {array[node]}; expected {expected}"
    missing = nodes.get("missing_go_to_left")
    if missing is not None and np.any(missing > 1):
        node = _first(missing > 1)
        return f"node {node}'s missing_go_to_left is {missing[node]}; expected 0 or 1"
    flat = values.reshape(len(values), -1)
    bad = ~np.isfinite(flat).all(axis=1)
    if classifier:
        bad |= (flat < 0).any(axis=1)
    if bad.any():
        node = _first(bad)
        expected = "finite class fractions >= 0" if classifier else "finite values"
        return f"node {node}'s values are {flat[node][:10].tolist()}; expected {expected}"
    return None
