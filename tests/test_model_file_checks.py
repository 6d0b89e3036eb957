"""What ``so.load`` checks in a model file, and the message each refusal gives."""

from __future__ import annotations

import json

import numpy as np
import pytest
from model_file_tools import (
    edit_array,
    edit_json,
    read_members,
    write_members,
)
from numpy.testing import assert_array_equal
from sklearn import datasets as skdatasets

import scaleout as so
from scaleout.exceptions import ModelFileError
from scaleout.model_archive import ModelFileLimits
from scaleout.model_schema import SCHEMAS, schema_of
from scaleout.persist import _UNSAVED_ATTRS
from scaleout.registry import estimator_classes


@pytest.fixture(scope="module")
def iris():
    return skdatasets.load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def files(iris, tmp_path_factory):
    X, y = iris
    directory = tmp_path_factory.mktemp("models")
    models = {
        "logistic": so.LogisticRegression(max_iter=500).fit(X, y),
        "binary": so.LogisticRegression(max_iter=500).fit(X, y == 1),
        "pca": so.PCA(3).fit(X),
        "kmeans": so.KMeans(3, n_init=1, random_state=0).fit(X),
        "tree": so.DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y),
        "pipeline": so.make_pipeline(so.PCA(3), so.LogisticRegression(max_iter=500)).fit(X, y),
    }
    return {name: model.save(directory / f"{name}.scaleout") for name, model in models.items()}


def test_every_registered_estimator_has_a_schema_naming_what_it_saves():
    classes = estimator_classes()
    assert set(SCHEMAS) == set(classes)
    for name, cls in classes.items():
        schema = schema_of(name)
        if getattr(cls, "_composite", False):
            assert schema.composite and not schema.attributes
            continue
        saved = set(cls._fitted_attrs) - _UNSAVED_ATTRS | {"n_features_in_", "feature_names_in_"}
        assert set(schema.attributes) == saved, name
        assert set(cls._required_attrs) <= set(schema.attributes), name


def _set(index, value):
    def change(array):
        array[index] = value
        return array

    return change


@pytest.mark.parametrize(
    ("name", "keys", "change", "message"),
    [
        ("logistic", ("attributes", "coef_"), lambda a: a[:, :3].copy(),
         r"LogisticRegression\) coef_ \(shape \(3, 3\)\): n_features is 3 here but 4 elsewhere"),
        ("logistic", ("attributes", "coef_"), lambda a: a.astype(np.int64),
         r"LogisticRegression\) coef_: expected a float array, found dtype int64"),
        ("logistic", ("attributes", "coef_"), _set((0, 1), np.nan),
         r"coef_: expected finite values, found nan at index \(0, 1\)"),
        ("logistic", ("attributes", "classes_"), _set(1, 0),
         r"classes_: class labels must be unique, found \[0, 0, 2\]"),
        ("logistic", ("attributes", "n_iter_"), lambda a: a.reshape(1, 1),
         r"n_iter_: expected a 1-D array \(1,\), found shape \(1, 1\)"),
        ("binary", ("attributes", "coef_"), lambda a: np.vstack([a, a]),
         r"intercept_ \(shape \(1,\)\): n_rows is 1 here but 2 elsewhere in the model"),
        ("binary", ("attributes", "classes_"), lambda a: np.arange(3),
         r"coef_ and intercept_ have 1 rows for 3 classes; expected 3"),
        ("pca", ("attributes", "mean_"), lambda a: a[:2].copy(),
         r"PCA\) mean_ \(shape \(2,\)\): n_features is 2 here but 4 elsewhere"),
        ("pca", ("attributes", "components_"), lambda a: a.astype(np.float16),
         r"components_: expected a float array, found dtype float16"),
        ("kmeans", ("attributes", "cluster_centers_"), lambda a: a[:2].copy(),
         r"cluster_centers_ has 2 rows but the parameter n_clusters is 3"),
        ("tree", ("attributes", "tree_", "values"), lambda a: a[:, :, :2].copy(),
         r"tree_ values: expected float64 of shape \(\d+, 1, 3\), found float64 of shape"),
        ("tree", ("attributes", "tree_", "nodes", "threshold"), _set(0, np.inf),
         r"node 0's threshold is inf; expected a finite number"),
        ("tree", ("attributes", "tree_", "nodes", "feature"), lambda a: np.where(a < 0, 0, a),
         r"leaf \d+ has feature 0 and threshold -2.0; expected -2 for both"),
        ("tree", ("attributes", "tree_", "nodes", "n_node_samples"), _set(2, -1),
         r"node 2's n_node_samples is -1; expected finite and >= 0"),
        ("tree", ("attributes", "tree_", "nodes", "left_child"), lambda a: a.astype(np.int32),
         r"tree_ nodes left_child: expected a 1-D array of int64, found int32"),
        ("tree", ("attributes", "tree_", "nodes", "impurity"), lambda a: a[:-1].copy(),
         r"tree_ nodes impurity: has \d+ nodes but left_child \d+"),
    ],
)  # fmt: skip
def test_bad_arrays_are_refused_naming_attribute_and_problem(
    files, tmp_path, name, keys, change, message
):
    bad = edit_array(files[name], tmp_path / "bad.scaleout", keys, change)
    with pytest.raises(ModelFileError, match=message) as caught:
        so.load(bad)
    assert str(caught.value).startswith(f"{str(bad)!r}: model (")


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("pca", lambda d: d["model"]["attributes"].update(evil_=1),
         r"unknown attributes \['evil_'\]; a PCA file may hold \['components_', "),
        ("pca", lambda d: d["model"]["attributes"].pop("components_"),
         r"missing fitted attributes \['components_'\]"),
        ("pca", lambda d: d["model"]["attributes"].update(n_components_=True),
         r"n_components_: expected an int, found bool True"),
        ("pca", lambda d: d["model"]["attributes"].update(n_components_=9),
         r"n_components_: expected an int in \[0, 4\], found 9"),
        ("pca", lambda d: d["model"]["attributes"].update(noise_variance_={"__float__": "nan"}),
         r"noise_variance_: expected a finite number, found nan"),
        ("pca", lambda d: d["model"].update(extra=1),
         r"unknown keys \['extra'\]; expected some of"),
        ("pca", lambda d: d["model"]["params"].update(n_components="many"),
         r"invalid parameters: The 'n_components' parameter of PCA must be"),
        ("pca", lambda d: d["model"]["params"].update(tol={"__float__": "1e5"}),
         r"__float__ must be 'inf', '-inf' or 'nan', found '1e5'"),
        ("kmeans", lambda d: d["model"]["attributes"].update(labels_={"__array__": "arrays/0.npy"}),
         r"unknown attributes \['labels_'\]"),
        ("tree", lambda d: d["model"]["attributes"]["tree_"]["__tree__"].update(max_depth=30),
         r"tree_: max_depth is 30 but the nodes are 3 deep"),
        ("tree", lambda d: d["model"]["attributes"].update(n_classes_=2),
         r"n_classes_: n_classes is 2 here but 3 elsewhere"),
        ("pipeline", lambda d: d["model"]["steps"].reverse(),
         r"step 1: the step before 'pca' does not transform, so it cannot come first"),
        ("pipeline", lambda d: d["model"]["steps"][1].update(name="pca"),
         r"step 1: step name 'pca' is used twice"),
        ("pipeline", lambda d: d["model"]["steps"][0]["estimator"]["attributes"].update(
            n_components_=2),
         r"step 0 'pca' \(PCA\) components_ \(shape \(3, 4\)\): n_components is 3 here but 2"),
        ("pipeline", lambda d: d["model"]["steps"][0]["estimator"].update({"class": "Pipeline"}),
         r"step 0 'pca' \(Pipeline\): params must be backend and verbose"),
        ("pipeline", lambda d: d["model"]["steps"][0]["estimator"].update({"class": "os.system"}),
         r"step 0 'pca': unknown model class 'os.system'; expected one of "
         r"\['ColumnTransformer', 'DecisionTree"),
    ],
)  # fmt: skip
def test_bad_descriptions_are_refused(files, tmp_path, name, change, message):
    bad = edit_json(files[name], tmp_path / "bad.scaleout", change)
    with pytest.raises(ModelFileError, match=message):
        so.load(bad)


def test_pipeline_steps_must_chain(files, tmp_path, iris):
    def narrow(doc):
        doc["model"]["steps"][1]["estimator"]["attributes"]["n_features_in_"] = 2

    members = read_members(edit_json(files["pipeline"], tmp_path / "p.scaleout", narrow))
    doc = json.loads(members["model.json"])
    coef = doc["model"]["steps"][1]["estimator"]["attributes"]["coef_"]["__array__"]
    members[coef] = edit_array_bytes(members[coef], lambda a: a[:, :2].copy())
    bad = write_members(tmp_path / "chain.scaleout", members)
    with pytest.raises(
        ModelFileError,
        match=r"step 1: step 'logisticregression' expects 2 features but the previous step "
        r"outputs 3",
    ):
        so.load(bad)


def edit_array_bytes(data, change):
    import io

    from model_file_tools import npy_bytes

    return npy_bytes(change(np.load(io.BytesIO(data))))


def test_json_that_is_not_plain_json_is_refused(files, tmp_path):
    members = read_members(files["pca"])
    text = members["model.json"].decode()
    for bad_text, message in [
        (text.replace('"tol": 0.0', '"tol": NaN'), r"NaN is not valid JSON"),
        (text.replace('"tol": 0.0', '"tol": 0.0, "tol": 1.0'), r"duplicate key 'tol'"),
        (text.replace('"format_version": 1', '"format_version": 2'),
         r"has format_version 2; this scaleout reads version 1"),
        ("\udcff".encode("utf-8", "surrogatepass") + members["model.json"], r"corrupt"),
    ]:  # fmt: skip
        path = write_members(tmp_path / "json.scaleout", {**members, "model.json": bad_text
                             if isinstance(bad_text, bytes) else bad_text.encode()})  # fmt: skip
        with pytest.raises(ModelFileError, match=message):
            so.load(path)


def test_limits_are_checked_and_can_be_changed(files, tmp_path, iris):
    path = files["pca"]
    with pytest.raises(ModelFileError, match=r"zip member 'arrays/\d\.npy' declares \d+ bytes "
                       r"decompressed; the limit is 100 bytes"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_member_bytes=100))
    with pytest.raises(ModelFileError, match=r"has 6 zip members; the limit is 3 "
                       r"\(ModelFileLimits.max_members\)"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_members=3))
    with pytest.raises(ModelFileError, match=r"declares \d+ bytes decompressed in all; the "
                       r"limit is 1000 bytes"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_total_bytes=1000))
    with pytest.raises(ModelFileError, match=r"components_: array 'arrays/\d\.npy' declares "
                       r"shape \(3, 4\) \(12 elements\); the limit is 5"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_array_elements=5))
    with pytest.raises(ModelFileError, match=r"model.json is nested 5 levels deep; the limit "
                       r"is 3"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_json_depth=3))
    with pytest.raises(ModelFileError, match=r"zip member 'model.json' declares \d+ bytes"):
        so.load(path, limits=ModelFileLimits(max_json_bytes=100))
    with pytest.raises(ModelFileError, match=r"declares \d+ bytes decompressed from a \d+-byte "
                       r"file \(ratio \d+; the limit is 0.1 above 0 bytes\)"):  # fmt: skip
        so.load(path, limits=ModelFileLimits(max_ratio=0.1, ratio_floor_bytes=0))
    loaded = so.load(path, limits=ModelFileLimits(max_member_bytes=10_000, max_json_depth=5))
    assert_array_equal(loaded.transform(iris[0]), so.load(path).transform(iris[0]))


def test_harmless_encodings_load_identically(files, tmp_path, iris):
    X = iris[0]
    original = so.load(files["logistic"])
    big_endian = edit_array(files["logistic"], tmp_path / "be.scaleout", ("attributes", "coef_"),
                            lambda a: a.astype(">f8"))  # fmt: skip
    loaded = so.load(big_endian)
    assert loaded.coef_.dtype == np.dtype("<f8")
    assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
    f32 = edit_array(files["kmeans"], tmp_path / "f32.scaleout", ("attributes", "cluster_centers_"),
                     lambda a: np.asfortranarray(a.astype(np.float32)))  # fmt: skip
    kmeans = so.load(f32)
    assert kmeans.cluster_centers_.flags.c_contiguous
    assert_array_equal(kmeans.predict(X), so.load(files["kmeans"]).predict(X))


def test_characters_beyond_unicode_are_refused(tmp_path, iris):
    X, y = iris
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    path = so.LogisticRegression(max_iter=500).fit(X, labels).save(tmp_path / "s.scaleout")
    members = read_members(path)
    doc = json.loads(members["model.json"])
    member = doc["model"]["attributes"]["classes_"]["__array__"]
    data = bytearray(members[member])
    data[-4:] = b"\xff\xff\xff\xff"  # numpy raised SystemError converting it to str
    bad = write_members(tmp_path / "bad.scaleout", {**members, member: bytes(data)})
    with pytest.raises(ModelFileError, match=r"classes_: array 'arrays/\d+\.npy' holds a "
                       r"character code above U\+10FFFF"):  # fmt: skip
        so.load(bad)


def test_kmeans_default_n_clusters_is_checked(tmp_path, iris):
    path = so.KMeans(n_init=1, random_state=0).fit(iris[0]).save(tmp_path / "k.scaleout")
    no_params = edit_json(path, tmp_path / "np.scaleout", lambda d: d["model"].pop("params"))
    assert so.load(no_params).cluster_centers_.shape == (8, 4)  # the default n_clusters=8

    def three(doc):
        doc["model"]["params"]["n_clusters"] = 3

    with pytest.raises(ModelFileError, match="cluster_centers_ has 8 rows but the parameter "
                       "n_clusters is 3"):  # fmt: skip
        so.load(edit_json(path, tmp_path / "three.scaleout", three))


def test_missing_file_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match=r"no model file at '.*absent.scaleout'"):
        so.load(tmp_path / "absent.scaleout")
