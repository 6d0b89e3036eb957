"""The crashes a hostile model file caused, each loaded in a guarded child process.

Before ``so.load`` checked model files: a tree whose ``left_child`` was 10**9
made ``predict`` segfault (exit -11), one pointing back at the root looped
forever, a 1 MB file inflated to a 1 GiB array and a deeply nested
``model.json`` escaped as ``RecursionError``. Each case now ends in a
``ModelFileError`` naming what is wrong, in a child that exits normally.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from model_file_tools import (
    array_member,
    document,
    edit_array,
    edit_json,
    entry,
    load_guarded,
    npy_header,
    raw_zip,
    read_members,
    zeros_bomb,
)
from sklearn import datasets as skdatasets

import scaleout as so
from scaleout.exceptions import ModelFileError, ModelFormatError


@pytest.fixture(scope="module")
def iris():
    return skdatasets.load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def tree_file(iris, tmp_path_factory):
    X, y = iris
    model = so.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    return model.save(tmp_path_factory.mktemp("tree") / "tree.scaleout")


@pytest.fixture(scope="module")
def pca_file(iris, tmp_path_factory):
    return so.PCA(2).fit(iris[0]).save(tmp_path_factory.mktemp("pca") / "pca.scaleout")


def _set(index, value):
    def change(array):
        array[index] = value
        return array

    return change


def _guarded_refusal(path, X, tmp_path, timeout=60):
    results, fate = load_guarded([path], X, tmp_path, timeout=timeout)
    assert not fate["timed_out"], f"loading {path} hung"
    assert fate["returncode"] == 0, f"the child died: {fate}"
    (result,) = results
    assert result["outcome"] == "ModelFileError", result
    assert str(path) in result["message"]
    return result


@pytest.mark.parametrize(
    ("field", "index", "value", "message"),
    [
        ("left_child", 0, 10**9, r"node 0's left_child is 1000000000; expected -1 \(a leaf\)"),
        ("right_child", 1, -7, r"node 1 has left_child -1 and right_child -7"),
        ("left_child", 0, 0, r"node 0's left_child is 0; expected -1 \(a leaf\) or a node index"),
        ("feature", 0, 10**9, r"node 0's feature is 1000000000; expected a feature index in"),
        ("feature", 0, -5, r"node 0's feature is -5; expected a feature index in \[0, 4\)"),
    ],
)
def test_tree_index_crashes_are_refused(tree_file, iris, tmp_path, field, index, value, message):
    # 10**9 segfaulted predict (exit -11), 0 made it loop forever, before the checks
    bad = edit_array(
        tree_file,
        tmp_path / "bad.scaleout",
        ("attributes", "tree_", "nodes", field),
        _set(index, value),
    )
    result = _guarded_refusal(bad, iris[0], tmp_path, timeout=60)
    assert "DecisionTreeClassifier) tree_: node" in result["message"]
    with pytest.raises(ModelFileError, match=message):
        so.load(bad)


def test_cycle_below_the_root_is_refused(tree_file, iris, tmp_path):
    member = array_member(document(tree_file), "attributes", "tree_", "nodes", "left_child")
    left = np.load(io.BytesIO(read_members(tree_file)[member]))
    split = int(np.flatnonzero(left[1:] != -1)[0]) + 1  # a split below the root
    keys = ("attributes", "tree_", "nodes", "left_child")
    bad = edit_array(tree_file, tmp_path / "cycle.scaleout", keys, _set(split, split))
    result = _guarded_refusal(bad, iris[0], tmp_path)
    assert (
        f"node {split} is the child of 2 nodes; in a tree every node but the root has "
        "exactly one parent" in result["message"]
    )


def test_unreachable_cycle_with_one_parent_each_is_refused():
    from scaleout.model_tree import check_tree_nodes

    # root 0 -> leaves 1, 2; nodes 3 and 4 are each other's child (one parent each)
    nodes = {
        "left_child": np.array([1, -1, -1, 4, 3, -1, -1]),
        "right_child": np.array([2, -1, -1, 5, 6, -1, -1]),
        "feature": np.array([0, -2, -2, 0, 0, -2, -2]),
        "threshold": np.array([0.5, -2, -2, 0.5, 0.5, -2, -2]),
        "impurity": np.zeros(7),
        "n_node_samples": np.ones(7, dtype=np.int64),
        "weighted_n_node_samples": np.ones(7),
    }
    problem, depth = check_tree_nodes(nodes, np.ones((7, 1, 2)) / 2, 1, True)
    assert problem == "4 of 7 nodes cannot be reached from the root (the children form a cycle)"
    assert depth == 0
    fine = {
        **nodes,
        "left_child": np.array([1, -1, -1]),
        "right_child": np.array([2, -1, -1]),
        "feature": np.array([0, -2, -2]),
        "threshold": np.array([0.5, -2, -2]),
        "impurity": np.zeros(3),
        "n_node_samples": np.ones(3, dtype=np.int64),
        "weighted_n_node_samples": np.ones(3),
    }
    assert check_tree_nodes(fine, np.ones((3, 1, 2)) / 2, 1, True) == (None, 1)


def test_one_megabyte_file_inflating_to_a_gibibyte_is_refused(pca_file, iris, tmp_path):
    members = read_members(pca_file)
    doc = json.loads(members["model.json"])
    target = doc["model"]["attributes"]["mean_"]["__array__"]
    entries = [
        zeros_bomb(name, (2**27 - 16,)) if name == target else entry(name, data)
        for name, data in members.items()
    ]
    bomb = raw_zip(tmp_path / "bomb.scaleout", entries)
    assert bomb.stat().st_size < 1_100_000  # ~1 MB on disk, 1 GiB decompressed
    result = _guarded_refusal(bomb, iris[0], tmp_path)
    assert re.search(
        r"declares 10737\d{5} bytes decompressed from a 10\d{5}-byte file \(ratio 10\d\d; the "
        r"limit is 100 above 67108864 bytes\): a decompression bomb\?",
        result["message"],
    ), result["message"]
    assert result["maxrss_mb"] < 400, result
    # headers that lie (a small declared size) do not let it through either
    entries = [
        zeros_bomb(name, (2**27 - 16,), declared_size=128 + 24)
        if name == target
        else entry(name, data)
        for name, data in members.items()
    ]
    liar = raw_zip(tmp_path / "liar.scaleout", entries)
    result = _guarded_refusal(liar, iris[0], tmp_path)
    assert f"mean_: array member {target!r} is corrupt: Bad CRC-32" in result["message"]
    assert result["maxrss_mb"] < 400, result


def test_huge_declared_shape_is_refused_before_allocation(pca_file, tmp_path):
    members = read_members(pca_file)
    doc = json.loads(members["model.json"])
    target = doc["model"]["attributes"]["components_"]["__array__"]
    header = npy_header((1000000, 1000000))
    members[target] = header + bytes(64)
    path = raw_zip(tmp_path / "shape.scaleout", [entry(n, d) for n, d in members.items()])
    with pytest.raises(
        ModelFileError,
        match=r"declares shape \(1000000, 1000000\) "
        r"\(1000000000000 elements\); the limit is 268435456",
    ):
        so.load(path)
    header = npy_header((2, 4))
    members[target] = header + bytes(8)
    path = raw_zip(tmp_path / "short.scaleout", [entry(n, d) for n, d in members.items()])
    with pytest.raises(
        ModelFileError,
        match=r"components_: array .* declares shape \(2, 4\) of "
        r"float64 \(64 bytes\) but its member holds 8 bytes of data",
    ):
        so.load(path)


def test_deep_json_is_refused_without_recursion_error(pca_file, tmp_path):
    def nest(doc):
        doc["model"]["params"]["tol"] = json.loads("[" * 50 + "]" * 50)

    shallow = edit_json(pca_file, tmp_path / "shallow.scaleout", nest)
    with pytest.raises(ModelFileError, match="invalid parameters"):
        so.load(shallow)
    members = read_members(pca_file)
    text = members["model.json"].decode()
    members["model.json"] = text.replace(
        '"tol": 0.0', '"tol": ' + "[" * 100_000 + "]" * 100_000
    ).encode()
    path = raw_zip(tmp_path / "deep.scaleout", [entry(n, d) for n, d in members.items()])
    with pytest.raises(
        ModelFileError,
        match="model.json is nested 100003 levels deep; the "
        r"limit is 64 \(ModelFileLimits.max_json_depth\)",
    ):
        so.load(path)
    assert issubclass(ModelFileError, ModelFormatError)
