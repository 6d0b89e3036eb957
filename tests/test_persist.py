"""save / load: JSON + .npy in a zip, no pickle, atomic, versioned."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn import datasets as skdatasets

import scaleout as so
from scaleout.exceptions import ModelFormatError, NotFittedError, ScaleoutError


@pytest.fixture(scope="module")
def wine():
    return skdatasets.load_wine(return_X_y=True)


def _models():
    return [
        so.LinearRegression(),
        so.LogisticRegression(max_iter=5000, C=np.inf),
        so.LogisticRegression(max_iter=5000, class_weight={0: 1.0, 1: 2.0, 2: 0.5}),
        so.DecisionTreeClassifier(max_depth=4, random_state=0),
        so.DecisionTreeRegressor(max_depth=4, random_state=0),
        so.KMeans(3, n_init=2, random_state=0),
        so.PCA(3),
        so.make_pipeline(so.PCA(5), so.LogisticRegression(max_iter=5000)),
        so.StandardScaler(),
        so.StandardScaler(with_mean=False, with_std=False),
        so.MinMaxScaler((-2, 3), clip=True),
        so.make_pipeline(so.StandardScaler(), so.LogisticRegression(max_iter=5000)),
    ]


@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_round_trip_predicts_identically(model, wine, tmp_path):
    X, y = wine
    model.fit(
        X,
        y.astype(float)
        if "Regressor" in type(model).__name__ or type(model).__name__ == "LinearRegression"
        else y,
    )
    path = model.save(tmp_path / "m.scaleout")
    loaded = so.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    for method in ("predict", "predict_proba", "decision_function", "transform"):
        if hasattr(model, method) and hasattr(loaded, method):
            assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X), method)
    if isinstance(model, (so.StandardScaler, so.MinMaxScaler)):  # one-to-one: width kept
        assert_array_equal(loaded.inverse_transform(X), model.inverse_transform(X))
        for attr in model._fitted_attrs:  # None stays None, an int count stays an int
            saved, read = getattr(model, attr), getattr(loaded, attr)
            plain = {np.floating: float, np.integer: int}
            kind = next((v for k, v in plain.items() if isinstance(saved, k)), type(saved))
            assert type(read) is kind, attr
            assert_array_equal(read, saved)
    assert loaded.backend_ == model.backend_ == "sklearn"
    assert loaded.fit_stats_["rows"] == len(X)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


def test_string_classes_and_feature_names_survive(tmp_path):
    import pandas as pd

    X, y = skdatasets.load_iris(return_X_y=True, as_frame=True)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    model = so.DecisionTreeClassifier(max_depth=3).fit(X, labels)
    loaded = so.load(model.save(tmp_path / "iris.scaleout"))
    assert loaded.classes_.dtype == object
    assert_array_equal(loaded.classes_, model.classes_)
    assert_array_equal(loaded.feature_names_in_, X.columns)
    assert_array_equal(loaded.predict(X), model.predict(X))
    with pytest.raises(so.exceptions.DataError, match="Feature names unseen at fit time"):
        loaded.predict(pd.DataFrame(X.to_numpy(), columns=list("abcd")))


def test_file_holds_json_and_npy_only(wine, tmp_path):
    X, y = wine
    path = so.LogisticRegression(max_iter=5000).fit(X, y).save(tmp_path / "m.scaleout")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        document = json.loads(zf.read("model.json"))
    assert names[0] == "model.json"
    assert all(n.startswith("arrays/") and n.endswith(".npy") for n in names[1:])
    assert document["format"] == "scaleout-model"
    assert document["format_version"] == 1
    assert document["model"]["class"] == "LogisticRegression"
    assert document["model"]["params"]["C"] == 1.0


def _rewrite_json(path, tmp_path, change):
    out = tmp_path / "edited.scaleout"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "model.json":
                document = json.loads(data)
                change(document)
                data = json.dumps(document).encode()
            dst.writestr(name, data)
    return out


def test_wrong_version_and_corrupt_files_are_rejected(wine, tmp_path):
    X, _ = wine
    path = so.PCA(2).fit(X).save(tmp_path / "m.scaleout")

    newer = _rewrite_json(path, tmp_path, lambda d: d.update(format_version=99))
    with pytest.raises(ModelFormatError, match="format_version 99"):
        so.load(newer)

    unknown = _rewrite_json(path, tmp_path, lambda d: d["model"].update({"class": "os.system"}))
    with pytest.raises(ModelFormatError, match=r"unknown model class 'os\.system'"):
        so.load(unknown)

    truncated = tmp_path / "truncated.scaleout"
    truncated.write_bytes(open(path, "rb").read()[:100])
    with pytest.raises(ModelFormatError, match="not a scaleout model file"):
        so.load(truncated)

    with pytest.raises(ModelFormatError, match="no model file"):
        so.load(tmp_path / "absent.scaleout")


def test_pickled_array_is_refused(wine, tmp_path):
    X, _ = wine
    path = so.PCA(2).fit(X).save(tmp_path / "m.scaleout")
    evil = tmp_path / "evil.scaleout"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "arrays/0.npy":
                import io

                buffer = io.BytesIO()
                np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
                data = buffer.getvalue()
            dst.writestr(name, data)
    with pytest.raises(ModelFormatError, match="unreadable"):
        so.load(evil)


def test_unfitted_and_unsavable_models(tmp_path):
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(NotFittedError):
        so.PCA(2).save(tmp_path / "x.scaleout")
    X, y = skdatasets.load_iris(return_X_y=True)
    pipe = so.Pipeline([("scale", StandardScaler()), ("lr", so.LogisticRegression())]).fit(X, y)
    with pytest.raises(ScaleoutError, match="StandardScaler is not a scaleout estimator"):
        pipe.save(tmp_path / "p.scaleout")
    assert not os.listdir(tmp_path)
