"""Decision trees out of core: histogram trees grown one level per pass.

The method is the one of LightGBM and Spark MLlib, made to reproduce
scikit-learn's exact ``best`` splitter whenever the binning is exact:

1. **Bins.** One row sample (``passes.sample``, at most :data:`SAMPLE_ROWS`
   rows) gives, per feature, the candidate thresholds: the midpoints between
   consecutive distinct values, as scikit-learn uses. A feature with at most
   ``max_bins`` distinct values keeps all of them, so its candidates are
   exactly scikit-learn's; a feature with more keeps ``max_bins - 1``
   midpoints at the sample's quantiles. Values are taken after rounding to
   float32, as scikit-learn's trees do, and every chunk is binned with
   routing boundaries derived from the thresholds, so that a row's bin code
   satisfies ``code <= k`` exactly when scikit-learn's ``predict`` sends it
   left at threshold ``k`` (``float32(x) <= threshold``). Binning uses a
   small lookup table per feature (a uniform grid over the thresholds,
   corrected with at most a few comparisons), falling back to
   ``np.searchsorted`` for features whose thresholds are too unevenly spread.

2. **Levels.** Each pass over the data serves one depth level: every chunk
   routes its rows through the tree grown so far (on the bin codes) and
   accumulates, for every open node of the level at once, the histogram
   ``(node, class, feature, bin)`` of class counts (classifier) or
   ``(node, [count, sum y, sum y^2], feature, bin)`` (regressor) with
   ``np.bincount`` on a combined index. Only the smaller child of each split
   is counted: its sibling's histogram is the parent's minus its own. The
   first pass also collects the class labels (classifier), so a tree of
   depth ``d`` costs ``d`` passes (plus the sample).

3. **Splits.** From the histograms, each node's best split is found exactly
   as scikit-learn's best splitter finds it on the binned data: the largest
   impurity decrease (gini, entropy / log_loss, squared_error) among the
   splits leaving at least ``min_samples_leaf`` rows on each side; nodes
   follow scikit-learn's rules for ``max_depth``, ``min_samples_split``,
   ``min_impurity_decrease`` and purity. Ties go to the lowest feature
   index, then the lowest threshold (scikit-learn breaks them by its random
   feature order). Node values are class fractions (classifier) or means
   (regressor); impurities and sample counts are scikit-learn's, so the
   result is scikit-learn's own ``Tree``.

Within a fit, each chunk's store (:class:`~scaleout.kernels.passes.ChunkStore`,
kept by the executor where the chunk lives, charged against the memory
budget and released when the fit's passes close) holds its bin codes, class
indices and the node of each row, so the data is binned once and each later
pass routes a chunk through one level only. The store never changes a
result: a chunk whose store did not keep them is binned and routed from the
root again.

Thresholds are scikit-learn's midpoints between the node's largest value
on the left and smallest on the right, as far as the sample knows them: the
largest and smallest sampled values of the bins on either side of the split.
So when every feature value is sampled and has its own bin (at most
``max_bins`` distinct values, at most :data:`SAMPLE_ROWS` rows) the split
candidates, the chosen splits (up to ties) and the thresholds are
scikit-learn's.

Sample weights (``Batch.weights``): histograms sum the weights (class
weights per class, or weight, weighted sum and weighted sum of squares of y)
next to a count of the rows of non-zero weight; rows of weight 0 are left
out of the bins' sample and of the counts, as scikit-learn's splitter skips
them; ``min_weight_fraction_leaf`` is honoured on the weighted counts
(class weights included), and ``class_weight="balanced"`` uses the unweighted
class counts, both as scikit-learn.

Differences from scikit-learn: features with more than ``max_bins``
distinct values are binned; values closer than scikit-learn's
``FEATURE_THRESHOLD`` (1e-7) are still told apart; ties are broken by
feature index; ``max_depth=None`` grows at most :data:`UNLIMITED_DEPTH`
levels.
"""

from __future__ import annotations

import numbers
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from math import ceil
from typing import Any

import numpy as np
from scipy.special import xlogy

from .._sktree import LEAF, UNDEFINED, build_tree
from ..data.dataset import Batch
from ..data.validate import check_float32_range
from ..exceptions import InvalidParameterError, UnsupportedOnBackend
from .passes import ChunkStore, Passes
from .weights import class_weights

DEFAULT_MAX_BINS = 256
"""Bins per feature when ``max_bins`` is not given."""

SAMPLE_ROWS = 200_000
"""Rows sampled to place the bin thresholds."""

UNLIMITED_DEPTH = 30
"""Levels grown at most when ``max_depth=None`` (one pass each)."""

HIST_CELLS = 1 << 22
"""Histogram cells counted per pass; a level with more open nodes takes more passes."""

KEEP_CELLS = 1 << 25
"""Histogram cells of a level kept on the driver for the sibling subtraction."""

EPSILON = float(np.finfo(np.float64).eps)  # scikit-learn's purity tolerance

_SEARCH_CELLS = 1 << 20  # histogram cells searched at once on the driver
_BIN_BLOCK = 1 << 18  # values binned at once (keeps the temporaries in cache)
_HIST_BLOCK = 1 << 22  # values counted at once by one bincount
_LUT_MAX_STEPS = 4  # most thresholds per lookup cell before falling back to searchsorted

_CLASSIFIER_CRITERIA = ("gini", "entropy", "log_loss")
_REGRESSOR_CRITERIA = ("squared_error",)


# ------------------------------------------------------------------ parameters
def _unsupported(
    name: str, option: str, value: Any, supported: str, backend: str
) -> UnsupportedOnBackend:
    return UnsupportedOnBackend(
        f"{name}({option}={value!r}) is not supported by backend '{backend}'; "
        f"supported: {supported}"
    )


def check_tree_params(params: dict[str, Any], *, classifier: bool, backend: str = "dask") -> None:
    """Raise for decision-tree options the kernel cannot honour.

    Parameters
    ----------
    params : dict
        ``DecisionTreeClassifier.get_params()`` or
        ``DecisionTreeRegressor.get_params()``, plus scaleout's optional
        ``max_bins`` (int in [2, 65536], default :data:`DEFAULT_MAX_BINS`).
        Supported: ``criterion`` 'gini', 'entropy', 'log_loss' (classifier) or
        'squared_error' (regressor); ``splitter='best'``; any ``max_depth``
        (None grows at most :data:`UNLIMITED_DEPTH` levels); any
        ``min_samples_split``, ``min_samples_leaf`` and
        ``min_impurity_decrease``; ``class_weight`` None, a dict or
        'balanced'; any ``min_weight_fraction_leaf``; ``max_features=None``;
        ``max_leaf_nodes=None``; ``ccp_alpha=0``; ``monotonic_cst=None``.
        ``random_state`` is ignored: with every feature considered there is
        nothing random.
    classifier : bool
        Whether the parameters are a classifier's.
    backend : str, default="dask"
        The engine running the kernel, named in the messages.

    Raises
    ------
    UnsupportedOnBackend
        Naming the option, its value and the supported values.
    InvalidParameterError
        For a ``max_bins`` that is not an int in [2, 65536].
    """
    name = "DecisionTreeClassifier" if classifier else "DecisionTreeRegressor"
    criteria = _CLASSIFIER_CRITERIA if classifier else _REGRESSOR_CRITERIA
    default_criterion = criteria[0]
    criterion = params.get("criterion", default_criterion)
    if criterion not in criteria:
        raise _unsupported(name, "criterion", criterion, ", ".join(map(repr, criteria)), backend)
    if params.get("splitter", "best") != "best":
        raise _unsupported(name, "splitter", params["splitter"], "'best'", backend)
    if params.get("max_features") is not None:
        raise _unsupported(
            name,
            "max_features",
            params["max_features"],
            "None (every feature at every split)",
            backend,
        )
    if params.get("max_leaf_nodes") is not None:
        raise _unsupported(
            name,
            "max_leaf_nodes",
            params["max_leaf_nodes"],
            "None (grown level by level; limit max_depth instead)",
            backend,
        )
    if params.get("ccp_alpha", 0.0) != 0:
        raise _unsupported(name, "ccp_alpha", params["ccp_alpha"], "0.0 (no pruning)", backend)
    if params.get("monotonic_cst") is not None:
        raise _unsupported(name, "monotonic_cst", params["monotonic_cst"], "None", backend)
    class_weight = params.get("class_weight")
    if (
        class_weight is not None
        and not isinstance(class_weight, dict)
        and class_weight != "balanced"
    ):
        raise _unsupported(
            name, "class_weight", class_weight, "None, a dict or 'balanced'", backend
        )
    _max_bins(params)


def _max_bins(params: dict[str, Any]) -> int:
    value = params.get("max_bins", DEFAULT_MAX_BINS)
    if value is None:
        return DEFAULT_MAX_BINS
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or not 2 <= value <= 65536
    ):
        raise InvalidParameterError(f"max_bins must be an int in [2, 65536]; got {value!r}")
    return int(value)


@dataclass(frozen=True)
class _Rules:
    """The stopping and splitting rules, resolved against the row count."""

    classifier: bool
    entropy: bool
    max_depth: int
    min_samples_split: int
    min_samples_leaf: int
    min_impurity_decrease: float
    class_weight: Any
    weighted: bool = False  # rows carry sample weights
    min_weight_fraction_leaf: float = 0.0
    min_weight_leaf: float = 0.0  # resolved once the total weight is known


def _rules(params: dict[str, Any], n_rows: int, classifier: bool, weighted: bool) -> _Rules:
    leaf = params.get("min_samples_leaf", 1)
    if isinstance(leaf, numbers.Integral):
        leaf = int(leaf)
    else:
        leaf = ceil(leaf * n_rows)
    split = params.get("min_samples_split", 2)
    if isinstance(split, numbers.Integral):
        split = int(split)
    else:
        split = max(2, ceil(split * n_rows))
    split = max(split, 2 * leaf)  # as scikit-learn
    max_depth = params.get("max_depth")
    return _Rules(
        classifier=classifier,
        entropy=params.get("criterion") in ("entropy", "log_loss"),
        max_depth=UNLIMITED_DEPTH if max_depth is None else int(max_depth),
        min_samples_split=split,
        min_samples_leaf=max(leaf, 1),
        min_impurity_decrease=float(params.get("min_impurity_decrease", 0.0) or 0.0),
        class_weight=params.get("class_weight") if classifier else None,
        weighted=weighted,
        min_weight_fraction_leaf=float(params.get("min_weight_fraction_leaf", 0.0) or 0.0),
    )


# --------------------------------------------------------------------- binning
@dataclass(frozen=True)
class _Bins:
    """Per-feature thresholds and the means to bin a chunk against them.

    ``thresholds[f][k]`` is the tree threshold of the split "bin <= k" of
    feature ``f``; ``bounds[f][k]`` the largest float64 ``x`` with
    ``float32(x) <= thresholds[f][k]``, so ``code = #{k: bounds[f][k] < x}``.
    """

    thresholds: list[np.ndarray]
    bounds: list[np.ndarray]
    low: list[np.ndarray]  # smallest sampled value of each bin
    high: list[np.ndarray]  # largest sampled value of each bin
    n_bins: int
    dtype: Any
    lut_features: np.ndarray  # features binned by lookup table
    lut_low: np.ndarray
    lut_high: np.ndarray
    lut_scale: np.ndarray
    lut_cells: int
    lut_start: np.ndarray  # (len(lut_features) * lut_cells,) into lut_ext
    lut_ext: np.ndarray  # padded bounds, flattened
    lut_stride: int
    lut_steps: int
    search_features: np.ndarray  # features binned by np.searchsorted
    #: Feature names for messages (the data's; empty: ``x0, x1, ...``).
    names: tuple[str, ...] = ()


def _float32_bounds(thresholds: np.ndarray) -> np.ndarray:
    """Largest float64 ``x`` with ``float32(x) <= t`` for each threshold ``t``."""
    below = thresholds.astype(np.float32)
    over = below.astype(np.float64) > thresholds
    below[over] = np.nextafter(below[over], np.float32(-np.inf))
    above = np.nextafter(below, np.float32(np.inf)).astype(np.float64)
    low = below.astype(np.float64)
    top = np.isinf(above)  # below is float32's largest: its next step is 2**128
    above[top] = low[top] + 2.0**104
    half = (low + above) / 2  # exact: both are float32 values
    even = (below.view(np.uint32) & 1) == 0  # round-half-to-even keeps ``below``
    return np.where(even, half, np.nextafter(half, -np.inf))


def _feature_thresholds(
    values: np.ndarray, max_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds of one feature, and the smallest and largest sampled value of each bin."""
    distinct, counts = np.unique(values.astype(np.float32), return_counts=True)
    distinct = distinct.astype(np.float64)
    if len(distinct) <= 1:
        return np.empty(0), distinct[:1], distinct[:1]
    if len(distinct) <= max_bins:
        cuts = np.arange(len(distinct) - 1)
    else:
        cumulative = np.cumsum(counts)
        targets = cumulative[-1] * np.arange(1, max_bins) / max_bins
        cuts = np.searchsorted(cumulative, targets, side="left")
        cuts = np.unique(np.clip(cuts, 0, len(distinct) - 2))
    lower, upper = distinct[cuts], distinct[cuts + 1]
    low = distinct[np.concatenate([[0], cuts + 1])]
    high = distinct[np.concatenate([cuts, [len(distinct) - 1]])]
    return _midpoint(lower, upper), low, high


def _midpoint(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """scikit-learn's threshold between two feature values."""
    mid = lower / 2.0 + upper / 2.0
    bad = (mid == upper) | np.isinf(mid)
    mid[bad] = lower[bad]
    return mid


def _cells(
    X: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray, cells: int
) -> np.ndarray:
    """Grid cell of each value: monotone in the value, the same for data and bounds."""
    grid = np.clip(X, low, high)
    grid -= low
    grid *= scale
    np.minimum(grid, cells - 1, out=grid)
    return grid.astype(np.intp)


def _make_bins(sample: np.ndarray, max_bins: int) -> _Bins:
    n_features = sample.shape[1]
    found = [_feature_thresholds(sample[:, f], max_bins) for f in range(n_features)]
    thresholds = [t for t, _, _ in found]
    bounds = [_float32_bounds(t) for t in thresholds]
    n_bins = max([len(b) for b in bounds] + [0]) + 1
    cells = int(min(1 << 14, max(64, 8 * n_bins)))
    lut, search, starts, lows, highs, scales = [], [], [], [], [], []
    stride = n_bins  # room for the bounds plus one +inf
    for f, bound in enumerate(bounds):
        if len(bound) == 0:
            continue
        low, high = bound[0], bound[-1]
        span = high - low
        if not np.isfinite(span):
            search.append(f)
            continue
        scale = cells / span if span > 0 else 0.0
        if not np.isfinite(scale):
            search.append(f)
            continue
        cell_of = _cells(
            bound[:, None], np.array([low]), np.array([high]), np.array([scale]), cells
        )[:, 0]
        if np.bincount(cell_of).max() > _LUT_MAX_STEPS:
            search.append(f)
            continue
        start = np.searchsorted(cell_of, np.arange(cells), side="left")
        starts.append(start + len(lut) * stride)
        lut.append(f)
        lows.append(low)
        highs.append(high)
        scales.append(scale)
    ext = np.full((len(lut), stride), np.inf)
    steps = 0
    for i, f in enumerate(lut):
        ext[i, : len(bounds[f])] = bounds[f]
        cell_of = _cells(
            bounds[f][:, None],
            np.array([lows[i]]),
            np.array([highs[i]]),
            np.array([scales[i]]),
            cells,
        )[:, 0]
        steps = max(steps, int(np.bincount(cell_of).max()))
    return _Bins(
        thresholds=thresholds,
        bounds=bounds,
        low=[low for _, low, _ in found],
        high=[high for _, _, high in found],
        n_bins=n_bins,
        dtype=np.uint8 if n_bins <= 256 else np.uint16,
        lut_features=np.asarray(lut, dtype=np.intp),
        lut_low=np.asarray(lows, dtype=np.float64),
        lut_high=np.asarray(highs, dtype=np.float64),
        lut_scale=np.asarray(scales, dtype=np.float64),
        lut_cells=cells,
        lut_start=(np.concatenate(starts) if starts else np.empty(0)).astype(np.int32),
        lut_ext=ext.ravel(),
        lut_stride=stride,
        lut_steps=steps,
        search_features=np.asarray(search, dtype=np.intp),
    )


def _bin(X: np.ndarray, bins: _Bins) -> np.ndarray:
    """Bin codes ``(n_rows, n_features)``: ``#{k: bounds[f][k] < X[i, f]}``."""
    n_rows, n_features = X.shape
    codes = np.zeros((n_rows, n_features), dtype=bins.dtype)
    lut = bins.lut_features
    if len(lut):
        everything = len(lut) == n_features
        cell_offset = np.arange(len(lut), dtype=np.intp) * bins.lut_cells
        ext_offset = np.arange(len(lut), dtype=np.int32) * bins.lut_stride
        step = max(1, _BIN_BLOCK // len(lut))
        for lo in range(0, n_rows, step):
            block = X[lo : lo + step] if everything else X[lo : lo + step, lut]
            cell = _cells(block, bins.lut_low, bins.lut_high, bins.lut_scale, bins.lut_cells)
            cell += cell_offset
            code = bins.lut_start[cell]
            for _ in range(bins.lut_steps):
                code += bins.lut_ext[code] < block
            code -= ext_offset
            if everything:
                codes[lo : lo + step] = code
            else:
                codes[lo : lo + step, lut] = code
    for f in bins.search_features:
        codes[:, f] = np.searchsorted(bins.bounds[f], X[:, f], side="left")
    return codes


# ------------------------------------------------------------------- one pass
@dataclass(frozen=True)
class _Level:
    """Everything a chunk needs for one level pass (shipped with the function)."""

    token: str
    bins: _Bins
    classifier: bool
    classes: np.ndarray | None  # None in the first pass of a classifier
    depth: int
    feature: np.ndarray  # routing arrays of the tree so far
    split_bin: np.ndarray
    left: np.ndarray
    right: np.ndarray
    slots: np.ndarray  # histogram slot of each node, -1 when not counted
    n_slots: int
    all_rows: bool = field(default=False)  # every row is in slot 0 (the root)
    weighted: bool = False  # histograms of weights (and counts of weighted rows)


def _step(codes: np.ndarray, node: np.ndarray, level: _Level) -> np.ndarray:
    """Move every row in a split node one level down."""
    feature = level.feature[node]
    rows = np.flatnonzero(feature >= 0)
    if rows.size == 0:
        return node
    at = node[rows]
    go_left = codes[rows, feature[rows]] <= level.split_bin[at]
    moved = node.copy()
    moved[rows] = np.where(go_left, level.left[at], level.right[at])
    return moved


def _chunk_state(
    batch: Batch, store: ChunkStore | None, level: _Level
) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's bin codes and the node of each row at ``level.depth``.

    Taken from the chunk's store when it kept them (codes: once per fit;
    nodes: from the previous level, moved one step), else computed.
    """
    prefix = f"tree-{level.token}-"
    codes = None if store is None else store.get(prefix + "codes")
    if codes is None:
        X = np.asarray(batch.X)
        # scikit-learn's trees compare float32 values: larger ones would all be infinite
        check_float32_range(
            X,
            feature_names=level.bins.names or None,
            why="a tree",
            source=batch.source,
            row_offset=batch.row_offset,
        )
        codes = _bin(X, level.bins)
        if store is not None:
            store.put(prefix + "codes", codes)
    kept, kept_depth = None, None
    if store is not None:
        kept, kept_depth = store.get(prefix + "node"), store.get(prefix + "depth")
    if kept is not None and kept_depth == level.depth:
        return codes, kept
    if kept is not None and kept_depth == level.depth - 1:
        node = _step(codes, np.asarray(kept), level)
    else:
        node = np.zeros(batch.n_rows, dtype=np.int32)
        for _ in range(level.depth):
            node = _step(codes, node, level)
    if store is not None:
        store.pop(prefix + "depth")
        if store.put(prefix + "node", node):
            store.put(prefix + "depth", level.depth)
    return codes, node


def _histogram(
    codes: np.ndarray,
    rows: np.ndarray | None,
    base: np.ndarray,
    n_groups: int,
    n_bins: int,
    weights: tuple[np.ndarray | None, ...] = (None,),
) -> list[np.ndarray]:
    """Counts (``None``) or sums of each of ``weights`` per ``(group, feature, bin)``.

    ``base[i]`` is the group of the i-th counted row (``rows[i]``, or row i
    when ``rows`` is None); ``weights`` are given per counted row.
    """
    n_features = codes.shape[1]
    size = n_groups * n_features * n_bins
    offset = np.arange(n_features, dtype=np.intp) * n_bins
    out = [np.zeros(size, dtype=np.int64 if w is None else np.float64) for w in weights]
    step = max(1, _HIST_BLOCK // max(n_features, 1))
    for lo in range(0, len(base), step):
        block = codes[lo : lo + step] if rows is None else codes[rows[lo : lo + step]]
        index = block.astype(np.intp)
        index += offset
        index += (base[lo : lo + step].astype(np.intp) * (n_features * n_bins))[:, None]
        index = index.ravel()
        for total, w in zip(out, weights, strict=True):
            if w is not None:
                w = np.repeat(w[lo : lo + step], n_features)
            total += np.bincount(index, weights=w, minlength=size)
    return [total.reshape(n_groups, n_features, n_bins) for total in out]


def _level_pass(batch: Batch, store: ChunkStore | None, level: _Level) -> Any:
    """One chunk's histograms for the nodes counted in this pass.

    Returns, per slot, feature and bin: class counts ``(n_slots, n_classes,
    n_features, n_bins)`` (classifier) or count, sum and sum of squares of y
    ``(n_slots, 3, ...)`` (regressor). With sample weights: the classes' weight
    sums plus, last, the count of rows of non-zero weight
    ``(n_slots, n_classes + 1, ...)`` (classifier), or count, weight, weighted
    sum and weighted sum of squares of y ``(n_slots, 4, ...)`` (regressor).
    The first pass of a classifier returns ``(labels, class part, count part
    or None, rows per label)`` with the chunk's own labels.
    """
    codes, node = _chunk_state(batch, store, level)
    n_bins = level.bins.n_bins
    if level.all_rows:
        rows, slot = None, np.zeros(batch.n_rows, dtype=np.intp)
    else:
        slot = level.slots[node]
        rows = np.flatnonzero(slot >= 0)
        slot = slot[rows]
    w = None
    if level.weighted:
        w = np.asarray(batch.weights, dtype=np.float64)
        w = w if rows is None else w[rows]
    if level.classifier:
        label_rows = None
        if level.classes is None:
            labels, index = np.unique(np.asarray(batch.y), return_inverse=True)
            index = index.ravel()
            label_rows = np.bincount(index, minlength=len(labels)).astype(np.int64)
        else:
            key = f"tree-{level.token}-labels"
            index = None if store is None else store.get(key)
            if index is None:
                index = np.searchsorted(level.classes, np.asarray(batch.y)).astype(np.int32)
                if store is not None:
                    store.put(key, index)
            labels = level.classes
        n_classes = len(labels)
        y = index if rows is None else index[rows]
        base, groups = slot * n_classes + y, level.n_slots * n_classes
        if w is None:
            (counts,) = _histogram(codes, rows, base, groups, n_bins)
            extra = None
        else:
            (counts,) = _histogram(codes, rows, base, groups, n_bins, weights=(w,))
            nonzero = (w != 0) * 1.0
            (extra,) = _histogram(codes, rows, slot, level.n_slots, n_bins, weights=(nonzero,))
            extra = extra[:, None]
        counts = counts.reshape(level.n_slots, n_classes, *counts.shape[1:])
        if level.classes is None:
            return labels, counts, extra, label_rows
        return counts if extra is None else np.concatenate([counts, extra], axis=1)
    y = np.asarray(batch.y, dtype=np.float64)
    if rows is not None:
        y = y[rows]
    if w is None:
        sums = _histogram(codes, rows, slot, level.n_slots, n_bins, weights=(None, y, y * y))
        sums[0] = sums[0].astype(np.float64)
    else:
        wy = w * y
        sums = _histogram(
            codes, rows, slot, level.n_slots, n_bins, weights=((w != 0) * 1.0, w, wy, wy * y)
        )
    return np.stack(sums, axis=1)


def _merge_labelled(a: tuple, b: tuple) -> tuple:
    """Combine first-pass results whose class axes list different labels."""
    labels = np.union1d(a[0], b[0])
    extra = None if a[2] is None else a[2] + b[2]
    if len(labels) == len(a[0]) == len(b[0]):
        return labels, a[1] + b[1], extra, a[3] + b[3]
    shape = list(a[1].shape)
    shape[1] = len(labels)
    merged = np.zeros(shape, dtype=a[1].dtype)
    rows = np.zeros(len(labels), dtype=np.int64)
    for part in (a, b):
        where = np.searchsorted(labels, part[0])
        merged[:, where] += part[1]
        rows[where] += part[3]
    return labels, merged, extra, rows


# ----------------------------------------------------------------- the driver
def _class_part(stats: np.ndarray, rules: _Rules) -> np.ndarray:
    """The per-class statistics (axis 0 of ``stats``): without the count row."""
    return stats[:-1] if rules.weighted else stats


def _moments(stats: np.ndarray, rules: _Rules) -> tuple[Any, Any, Any]:
    """A regressor's (weight, weighted sum of y, weighted sum of y^2) (axis 0)."""
    return (stats[1], stats[2], stats[3]) if rules.weighted else (stats[0], stats[1], stats[2])


def _impurity(stats: np.ndarray, rules: _Rules, weights: np.ndarray | None) -> float:
    """scikit-learn's impurity of a node from its stats."""
    if rules.classifier:
        counts = _class_part(stats, rules)
        counts = counts * weights if weights is not None else counts.astype(np.float64)
        total = counts.sum()
        if total <= 0:
            return 0.0
        p = counts / total
        if rules.entropy:
            p = p[p > 0]
            return float(-(p * np.log2(p)).sum())
        return float(1.0 - (p * p).sum())
    n, s, q = _moments(stats, rules)
    mean = s / n
    return float(q / n - mean * mean)


def _weighted_n(stats: np.ndarray, rules: _Rules, weights: np.ndarray | None) -> float:
    if rules.classifier:
        counts = _class_part(stats, rules)
        return float((counts * weights).sum() if weights is not None else counts.sum())
    return float(_moments(stats, rules)[0])


def _n(stats: np.ndarray, rules: _Rules) -> int:
    if rules.classifier:
        return int(np.rint(stats[-1]) if rules.weighted else stats.sum())
    return int(np.rint(stats[0]))


def _best_splits(
    hist: np.ndarray, rules: _Rules, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best split of each node: (flat feature*n_bins+bin, found, left stats).

    ``hist`` is ``(nodes, stats, features, bins)``; a split "bin <= b" of
    feature f sends the rows with codes ``<= b`` left.
    """
    n_nodes, _, n_features, n_bins = hist.shape
    left = np.cumsum(hist, axis=3)
    total = left[:, :, 0, -1]
    right = total[:, :, None, None] - left
    with np.errstate(divide="ignore", invalid="ignore"):
        if rules.classifier:
            if rules.weighted:
                n_left, n_right = left[:, -1], right[:, -1]
                cleft, cright = left[:, :-1], right[:, :-1]
            else:
                n_left, n_right = left.sum(axis=1), right.sum(axis=1)
                cleft, cright = left, right
            if weights is not None:
                w = weights[None, :, None, None]
                wleft, wright = cleft * w, cright * w
            else:
                wleft, wright = cleft.astype(np.float64), cright.astype(np.float64)
            wn_left, wn_right = wleft.sum(axis=1), wright.sum(axis=1)
            if rules.entropy:  # minus the weighted children entropies (natural log)
                score = (
                    xlogy(wleft, wleft).sum(axis=1)
                    - xlogy(wn_left, wn_left)
                    + xlogy(wright, wright).sum(axis=1)
                    - xlogy(wn_right, wn_right)
                )
            else:  # scikit-learn's gini proxy
                score = (wleft * wleft).sum(axis=1) / wn_left + (wright * wright).sum(
                    axis=1
                ) / wn_right
        else:
            n_left, n_right = left[:, 0], right[:, 0]
            wn_left, ls = _moments(np.moveaxis(left, 1, 0), rules)[:2]
            wn_right, rs = _moments(np.moveaxis(right, 1, 0), rules)[:2]
            score = ls * ls / wn_left + rs * rs / wn_right
    valid = (
        (n_left >= rules.min_samples_leaf)
        & (n_right >= rules.min_samples_leaf)
        & np.isfinite(score)
    )
    if rules.min_weight_leaf > 0:
        valid &= (wn_left >= rules.min_weight_leaf) & (wn_right >= rules.min_weight_leaf)
    score = np.where(valid, score, -np.inf).reshape(n_nodes, n_features * n_bins)
    best = score.argmax(axis=1)
    found = np.isfinite(score[np.arange(n_nodes), best])
    feature, split_bin = np.divmod(best, n_bins)
    left_stats = left[np.arange(n_nodes), :, feature, split_bin]
    return best, found, left_stats


class _Grower:
    """Node arrays of the tree being grown (breadth-first numbering)."""

    def __init__(self, rules: _Rules) -> None:
        self.rules = rules
        self.stats: list[np.ndarray] = []
        self.depth: list[int] = []
        self.feature: list[int] = []
        self.split_bin: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.missing_left: list[int] = []

    def add(self, stats: np.ndarray | None, depth: int) -> int:
        self.stats.append(stats)
        self.depth.append(depth)
        self.feature.append(UNDEFINED)
        self.split_bin.append(-1)
        self.threshold.append(float(UNDEFINED))
        self.left.append(LEAF)
        self.right.append(LEAF)
        self.missing_left.append(0)
        return len(self.stats) - 1

    def routing(self) -> dict[str, np.ndarray]:
        return {
            "feature": np.asarray(self.feature, dtype=np.intp),
            "split_bin": np.asarray(self.split_bin, dtype=np.intp),
            "left": np.asarray(self.left, dtype=np.int32),
            "right": np.asarray(self.right, dtype=np.int32),
        }


def fit_decision_tree(
    passes: Passes,
    params: dict[str, Any],
    *,
    classifier: bool,
    backend: str = "dask",
    check_target: Callable[[np.ndarray], None] | None = None,
) -> dict[str, Any]:
    """Grow a decision tree level by level, one pass over the chunks per level.

    Parameters
    ----------
    passes : Passes
        The data; ``y`` holds class labels (classifier) or numbers.
    params : dict
        ``DecisionTreeClassifier.get_params()`` or
        ``DecisionTreeRegressor.get_params()``, optionally with ``max_bins``;
        checked with :func:`check_tree_params`.
    classifier : bool
        Grow a classifier (class counts) or a regressor (squared error).

    Returns
    -------
    dict
        scikit-learn's fitted attributes: ``tree_`` (a
        ``sklearn.tree._tree.Tree``), ``n_outputs_`` (1), ``max_features_``
        (the number of features) and, for a classifier, ``classes_`` (sorted
        labels) and ``n_classes_``.

    Notes
    -----
    Passes: one per level that has nodes to split (``max_depth`` for a tree
    that reaches it; more only when a level's histograms exceed
    :data:`HIST_CELLS`), after one ``passes.sample`` for the bins.
    """
    check_tree_params(params, classifier=classifier, backend=backend)
    n_rows, n_features = passes.n_rows, passes.n_features
    rules = _rules(params, n_rows, classifier, passes.weighted)
    passes.expect_passes(None)  # a pass per level: keep the decoded chunks
    sample = passes.sample(min(n_rows, SAMPLE_ROWS), 0)
    X = np.asarray(sample.X)
    if sample.weights is not None:  # scikit-learn's splitter skips rows of weight 0
        X = X[np.asarray(sample.weights) != 0]
    names = getattr(passes, "feature_names", None)
    check_float32_range(X, feature_names=names, why=f"a tree on engine {backend!r}")
    bins = replace(_make_bins(X, _max_bins(params)), names=tuple(names or ()))
    return _grow(passes, bins, rules, uuid.uuid4().hex, n_features, check_target)


def _grow(
    passes: Passes,
    bins: _Bins,
    rules: _Rules,
    token: str,
    n_features: int,
    check_target: Callable[[np.ndarray], None] | None,
) -> dict[str, Any]:
    n_bins = bins.n_bins
    tree = _Grower(rules)
    tree.add(None, 0)
    classes: np.ndarray | None = None
    weights: np.ndarray | None = None
    n_stats = 4 if rules.weighted else 3

    def run_pass(nodes: list[int], depth: int, label: str) -> dict[int, np.ndarray]:
        nonlocal classes
        slots = np.full(len(tree.stats), -1, dtype=np.intp)
        slots[nodes] = np.arange(len(nodes))
        level = _Level(
            token=token,
            bins=bins,
            classifier=rules.classifier,
            classes=classes,
            depth=depth,
            slots=slots,
            n_slots=len(nodes),
            all_rows=depth == 0,
            weighted=rules.weighted,
            **tree.routing(),
        )
        fn = partial(_level_pass, level=level)
        if rules.classifier and classes is None:
            classes, hist, extra, label_rows[0] = passes.map_reduce(
                fn, label=label, combine=_merge_labelled, with_store=True
            )
            if extra is not None:
                hist = np.concatenate([hist, extra], axis=1)
        else:
            hist = passes.map_reduce(fn, label=label, with_store=True)
        return {node: hist[i] for i, node in enumerate(nodes)}

    # level 0: the root (and the classes)
    label_rows: list[Any] = [None]
    hists = run_pass([0], 0, "tree level 0")
    root = hists[0][:, 0, :].sum(axis=-1)  # stats summed over feature 0's bins
    if rules.classifier and check_target is not None:
        # the engine's target check, on the classes the root's pass read, before any deeper
        # level (alone, the kernel grows a one-leaf tree on one class, as scikit-learn does)
        check_target(classes)
    if rules.classifier:
        n_stats = len(classes) + int(rules.weighted)
        weights = class_weights(rules.class_weight, classes, label_rows[0])
    tree.stats[0] = root
    total_weight = _weighted_n(root, rules, weights)
    if rules.min_weight_fraction_leaf > 0:
        rules = replace(rules, min_weight_leaf=rules.min_weight_fraction_leaf * total_weight)
        tree.rules = rules
    impurity = [_impurity(root, rules, weights)]

    def is_open(node: int) -> bool:
        n = _n(tree.stats[node], rules)
        return (
            tree.depth[node] < rules.max_depth
            and n >= rules.min_samples_split
            and n >= 2 * rules.min_samples_leaf
            and impurity[node] > EPSILON
            and (
                rules.min_weight_leaf <= 0
                or _weighted_n(tree.stats[node], rules, weights) >= 2 * rules.min_weight_leaf
            )
        )

    open_nodes = [0] if is_open(0) else []
    parent_hists: dict[int, np.ndarray] = {}
    depth = 0
    per_node = n_stats * n_features * n_bins
    parent_of: dict[int, int] = {}
    while open_nodes:
        if depth > 0:
            parents = sorted({parent_of[node] for node in open_nodes})
            hists = _count_level(
                open_nodes, parents, parent_hists, tree, depth, per_node, run_pass
            )
        parent_hists = {}
        children: list[int] = []
        kept = 0
        search = max(1, _SEARCH_CELLS // per_node)
        for lo in range(0, len(open_nodes), search):
            batch = open_nodes[lo : lo + search]
            hist = np.stack([hists[node] for node in batch])
            best, found, left_stats = _best_splits(hist, rules, weights)
            for i, node in enumerate(batch):
                if not found[i]:
                    continue
                stats = tree.stats[node]
                lstats = left_stats[i]
                rstats = stats - lstats
                limp, rimp = _impurity(lstats, rules, weights), _impurity(rstats, rules, weights)
                wn = _weighted_n(stats, rules, weights)
                wl, wr = _weighted_n(lstats, rules, weights), _weighted_n(rstats, rules, weights)
                improvement = (wn / total_weight) * (
                    impurity[node] - wr / wn * rimp - wl / wn * limp
                )
                if improvement + EPSILON < rules.min_impurity_decrease:
                    continue
                feature, split_bin = divmod(int(best[i]), n_bins)
                tree.feature[node] = feature
                tree.split_bin[node] = split_bin
                tree.threshold[node] = _node_threshold(hists[node], feature, split_bin, bins, rules)
                tree.missing_left[node] = int(_n(lstats, rules) > _n(rstats, rules))
                tree.left[node] = tree.add(lstats, depth + 1)
                tree.right[node] = tree.add(rstats, depth + 1)
                impurity.extend([limp, rimp])
                for child in (tree.left[node], tree.right[node]):
                    parent_of[child] = node
                    children.append(child)
                if kept + per_node <= KEEP_CELLS:
                    parent_hists[node] = hists[node]
                    kept += per_node
        hists = {}
        depth += 1
        open_nodes = [node for node in children if is_open(node)]  # the new level, in order
        open_set = set(open_nodes)
        parent_hists = {
            p: h
            for p, h in parent_hists.items()
            if tree.left[p] in open_set or tree.right[p] in open_set
        }
    return _state(tree, rules, impurity, weights, classes, n_features)


def _node_threshold(
    hist: np.ndarray, feature: int, split_bin: int, bins: _Bins, rules: _Rules
) -> float:
    """scikit-learn's threshold: midway between the node's values on either side.

    The left side's largest and the right side's smallest sampled values
    come from the bins next to the split that hold rows of the node; the
    midpoint lies between the global thresholds of those bins, so it routes
    every row of the node as its bin codes did.
    """
    if rules.classifier:  # rows (of non-zero weight) per bin
        rows_per_bin = hist[-1, feature, :] if rules.weighted else hist[:, feature, :].sum(axis=0)
    else:
        rows_per_bin = hist[0, feature, :]
    right_bin = split_bin + 1 + int(np.flatnonzero(rows_per_bin[split_bin + 1 :])[0])
    lower = bins.high[feature][split_bin : split_bin + 1]
    upper = bins.low[feature][right_bin : right_bin + 1]
    return float(_midpoint(lower, upper)[0])


def _count_level(
    open_nodes: list[int],
    parents: list[int],
    parent_hists: dict[int, np.ndarray],
    tree: _Grower,
    depth: int,
    per_node: int,
    run_pass: Any,
) -> dict[int, np.ndarray]:
    """Histograms of the open nodes of one level (children of ``parents``, in order):
    count the smaller sibling, subtract."""
    open_set = set(open_nodes)
    count: list[int] = []
    derive: dict[int, tuple[int, int]] = {}
    for p in parents:
        a, b = tree.left[p], tree.right[p]
        if p in parent_hists:
            small, large = (
                (a, b) if _n(tree.stats[a], tree.rules) <= _n(tree.stats[b], tree.rules) else (b, a)
            )
            count.append(small)
            if large in open_set:
                derive[large] = (p, small)
        else:
            count.extend(child for child in (a, b) if child in open_set)
    per_pass = max(1, HIST_CELLS // per_node)
    parts = range(0, len(count), per_pass)
    hists: dict[int, np.ndarray] = {}
    for k, lo in enumerate(parts):
        label = f"tree level {depth}" + (f" part {k + 1}/{len(parts)}" if len(parts) > 1 else "")
        hists.update(run_pass(count[lo : lo + per_pass], depth, label))
    for node, (parent, sibling) in derive.items():
        hists[node] = parent_hists[parent] - hists[sibling]
    return hists


def _state(
    tree: _Grower,
    rules: _Rules,
    impurity: list[float],
    weights: np.ndarray | None,
    classes: np.ndarray | None,
    n_features: int,
) -> dict[str, Any]:
    stats = np.stack(tree.stats)
    if rules.classifier:
        counts = stats[:, :-1] if rules.weighted else stats
        weighted = counts * weights if weights is not None else counts.astype(np.float64)
        wn = weighted.sum(axis=1)
        n = np.rint(stats[:, -1]).astype(np.int64) if rules.weighted else stats.sum(axis=1)
        values = (weighted / wn[:, None])[:, None, :]
        n_classes = np.array([len(classes)])
    else:
        n = np.rint(stats[:, 0]).astype(np.int64)
        wn, total, _ = _moments(stats.T, rules)
        values = (total / wn)[:, None, None]
        n_classes = np.array([1])
    nodes = {
        "left_child": np.asarray(tree.left, dtype=np.intp),
        "right_child": np.asarray(tree.right, dtype=np.intp),
        "feature": np.asarray(tree.feature, dtype=np.intp),
        "threshold": np.asarray(tree.threshold, dtype=np.float64),
        "impurity": np.asarray(impurity, dtype=np.float64),
        "n_node_samples": np.asarray(n, dtype=np.intp),
        "weighted_n_node_samples": np.asarray(wn, dtype=np.float64),
        "missing_go_to_left": np.asarray(tree.missing_left, dtype=np.uint8),
    }
    state: dict[str, Any] = {
        "tree_": build_tree(n_features, n_classes, nodes, values),
        "n_outputs_": 1,
        "max_features_": n_features,
    }
    if rules.classifier:
        state["classes_"] = classes
        state["n_classes_"] = len(classes)
    return state
