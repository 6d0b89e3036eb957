"""Every bad input of issue 2 gets a clear scaleout error before any fitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import scaleout as so
from scaleout.exceptions import DataError, DataFileNotFoundError, InvalidParameterError

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
y = (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_feature_names_column_and_row(bad):
    frame = pd.DataFrame(X.copy(), columns=["a", "b", "c"])
    frame.iloc[17, 1] = bad
    with pytest.raises(DataError, match=r"column 'b'.*row 17"):
        so.LogisticRegression().fit(frame, y)


def test_non_finite_target():
    target = X[:, 0].copy()
    target[5] = np.nan
    with pytest.raises(DataError, match="NaN"):
        so.LinearRegression().fit(X, target)


def test_empty_and_one_dimensional_data():
    with pytest.raises(DataError, match=r"0 sample\(s\)"):
        so.KMeans(2).fit(np.empty((0, 3)))
    with pytest.raises(DataError, match=r"Expected 2D array, got 1D array"):
        so.LinearRegression().fit(X[:, 0], y)


def test_non_numeric_column_is_named():
    frame = pd.DataFrame({"a": X[:, 0], "city": ["x"] * len(X)})
    with pytest.raises(DataError, match="column 'city'"):
        so.LogisticRegression().fit(frame, y)


def test_non_numeric_parquet_column_named_before_reading(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "city": ["x"] * len(X), "y": y}), path)
    with pytest.raises(DataError, match="'city'"):
        so.read_parquet(path, target="y")


def test_missing_target_column_and_file(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "y": y}), path)
    with pytest.raises(DataError, match="'label'"):
        so.read_parquet(path, target="label")
    with pytest.raises(DataFileNotFoundError, match=r"nothing\.parquet"):
        so.read_parquet(tmp_path / "nothing.parquet", target="y")
    with pytest.raises(DataError, match="requires y"):
        so.LogisticRegression().fit(so.read_parquet(path))


def test_predict_with_other_features():
    model = so.LogisticRegression().fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    with pytest.raises(DataError, match=r"X has 2 features, but LogisticRegression is expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(DataError, match="Feature names must be in the same order"):
        model.predict(pd.DataFrame(X, columns=["c", "b", "a"]))
    assert model.predict(X).shape == (60,)  # plain NumPy is accepted positionally


def test_single_class():
    with pytest.raises(DataError, match=r"at least 2 classes.*got 1 class: \[1\]"):
        so.DecisionTreeClassifier().fit(X, np.ones(60, dtype=int))


def test_continuous_target_for_classifier():
    with pytest.raises(DataError, match="Unknown label type"):
        so.LogisticRegression().fit(X, X[:, 0])


def test_unknown_parameter_value_before_any_data_is_read(tmp_path):
    with pytest.raises(
        InvalidParameterError, match="'max_depth' parameter of DecisionTreeClassifier"
    ):
        so.DecisionTreeClassifier(max_depth=-3).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'solver' parameter of LogisticRegression"):
        so.LogisticRegression(solver="magic").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'backend' parameter"):
        so.PCA(backend=3).fit(X)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        so.PCA(colour="red")


def test_non_finite_sample_weight():
    weights = np.ones(len(X))
    weights[7] = np.nan
    with pytest.raises(DataError, match="sample_weight contains NaN or infinity: row 7"):
        so.LinearRegression().fit(X, X[:, 0], sample_weight=weights)


def test_weight_count_is_one_check_for_every_engine():
    """base, the sklearn and dask engines and plug-ins all call data.check_weight_count."""
    import scaleout.backends.dask as dask_engine
    import scaleout.backends.sklearn as sklearn_engine
    import scaleout.base as base
    from scaleout.data import check_weight_count

    for module in (base, sklearn_engine, dask_engine):
        assert module.check_weight_count is check_weight_count
    for weights, n_rows in ((np.ones(59), 60), (np.ones((60, 1)), 60), ([1.0, 2.0], 3)):
        shape = np.shape(weights)
        with pytest.raises(DataError) as info:
            check_weight_count(weights, n_rows)
        assert str(info.value) == (
            f"sample_weight.shape == {shape}, expected ({n_rows},): one weight per row"
        )
    for weights, n_rows in ((None, 60), (2.0, 60), (np.float64(2.0), 60), (np.ones(59), None),
                            (np.ones(60), 60), ([1.0, 2.0, 3.0], 3)):
        check_weight_count(weights, n_rows)  # nothing to refuse (None: not known yet)


def test_max_bins_is_validated_on_every_engine():
    with pytest.raises(InvalidParameterError, match="'max_bins' parameter"):
        so.DecisionTreeClassifier(max_bins=1).fit(X, y)
