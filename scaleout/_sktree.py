"""scikit-learn ``Tree`` structures to and from plain arrays.

Every engine grows a tree as node arrays; this module turns them into
scikit-learn's own ``Tree`` (so ``predict``, ``apply``, ``export_text``,
``plot_tree`` all work) and back, for saving.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree._tree import NODE_DTYPE, TREE_LEAF, TREE_UNDEFINED, Tree

NODE_FIELDS: tuple[str, ...] = NODE_DTYPE.names
LEAF = TREE_LEAF  # child index of a leaf (-1)
UNDEFINED = TREE_UNDEFINED  # feature / threshold of a leaf (-2)


def build_tree(
    n_features: int,
    n_classes: np.ndarray,
    nodes: dict[str, np.ndarray],
    values: np.ndarray,
    max_depth: int | None = None,
) -> Tree:
    """Build a scikit-learn ``Tree`` from node arrays.

    Parameters
    ----------
    n_features : int
        Number of features the tree splits on.
    n_classes : ndarray of int
        Classes per output; ``[1]`` for a single-output regressor.
    nodes : dict of str to ndarray
        One array per node field, all of length ``node_count``:
        ``left_child``, ``right_child`` (``LEAF`` = -1 for leaves),
        ``feature``, ``threshold`` (``UNDEFINED`` = -2 for leaves),
        ``impurity``, ``n_node_samples``, ``weighted_n_node_samples``;
        ``missing_go_to_left`` is optional (default 0). A row goes left when
        ``x[feature] <= threshold``.
    values : ndarray of shape (node_count, n_outputs, max_n_classes)
        Per node: class fractions (classifier; each row sums to 1) or the
        mean target (regressor).
    max_depth : int, optional
        Depth of the tree; computed from the children when None.

    Returns
    -------
    sklearn.tree._tree.Tree
    """
    n_classes = np.asarray(n_classes, dtype=np.intp)
    count = len(nodes["left_child"])
    array = np.zeros(count, dtype=NODE_DTYPE)
    for name, column in nodes.items():
        if name not in NODE_FIELDS:
            raise ValueError(f"unknown tree node field {name!r}; expected {NODE_FIELDS}")
        array[name] = column
    if max_depth is None:
        max_depth = _depth(array["left_child"], array["right_child"])
    tree = Tree(int(n_features), n_classes, len(n_classes))
    tree.__setstate__(
        {
            "max_depth": int(max_depth),
            "node_count": count,
            "nodes": array,
            "values": np.ascontiguousarray(values, dtype=np.float64),
        }
    )
    return tree


def tree_arrays(tree: Tree) -> dict[str, Any]:
    """The arrays of a scikit-learn ``Tree`` (inverse of :func:`build_tree`)."""
    state = tree.__getstate__()
    nodes = state["nodes"]
    return {
        "n_features": int(tree.n_features),
        "n_classes": np.asarray(tree.n_classes, dtype=np.int64),
        "max_depth": int(state["max_depth"]),
        "nodes": {name: np.asarray(nodes[name]) for name in NODE_FIELDS},
        "values": np.asarray(state["values"]),
    }


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    depth = np.zeros(len(left), dtype=np.int64)
    for node in range(len(left)):  # children always come after their parent
        for child in (left[node], right[node]):
            if child != LEAF:
                depth[child] = depth[node] + 1
    return int(depth.max(initial=0))
