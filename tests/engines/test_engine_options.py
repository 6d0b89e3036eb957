"""Options and row weights on every engine: scikit-learn's model where the engine
supports the option, ``UnsupportedOnBackend`` (a strict xfail of the GAPS table)
where it declares it does not."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from sklearn import cluster, decomposition, linear_model, preprocessing, tree

import scaleout as so
from tests.engines.conftest import load
from tests.engines.test_engine_parity import (
    check_kmeans,
    check_linear,
    check_logistic,
    check_minmax_scaler,
    check_pca,
    check_standard_scaler,
    check_tree,
)
from tests.engines.tolerances import tolerance

LOGISTIC = {"tol": 1e-8, "max_iter": 5000}


@dataclass(frozen=True)
class Option:
    """An estimator with one non-default option (or ``sample_weight``).

    ``key`` names the case in the GAPS table; ``algorithm`` is the
    tolerance row; ``params`` go to both estimators; ``weighted`` fits with
    row weights.
    """

    key: str
    algorithm: str
    ours: Callable[..., Any]
    ref: Callable[..., Any]
    params: dict[str, Any]
    data: str
    check: Callable[..., None]
    supervised: bool = True
    weighted: bool = False

    def __str__(self) -> str:
        return self.key


OPTION_CASES = (
    Option(
        "LinearRegression(positive=True)",
        "LinearRegression",
        so.LinearRegression,
        linear_model.LinearRegression,
        {"positive": True},
        "diabetes",
        check_linear,
    ),
    Option(
        "LinearRegression(fit_intercept=False)",
        "LinearRegression",
        so.LinearRegression,
        linear_model.LinearRegression,
        {"fit_intercept": False},
        "regression",
        check_linear,
    ),
    Option(
        "LogisticRegression(C=0.05)",
        "LogisticRegression",
        so.LogisticRegression,
        linear_model.LogisticRegression,
        {"C": 0.05, **LOGISTIC},
        "wine",
        check_logistic,
    ),
    Option(
        "LogisticRegression(class_weight='balanced')",
        "LogisticRegression",
        so.LogisticRegression,
        linear_model.LogisticRegression,
        {"class_weight": "balanced", **LOGISTIC},
        "breast_cancer",
        check_logistic,
    ),
    Option(
        "LogisticRegression(l1_ratio=1, solver='saga')",
        "LogisticRegression",
        so.LogisticRegression,
        linear_model.LogisticRegression,
        {"C": 0.05, "l1_ratio": 1.0, "solver": "saga", "tol": 1e-10, "max_iter": 5000},
        "breast_cancer",
        check_logistic,
    ),
    Option(
        "LogisticRegression(solver='liblinear')",
        "LogisticRegression",
        so.LogisticRegression,
        linear_model.LogisticRegression,
        {"solver": "liblinear", "tol": 1e-8},
        "breast_cancer",
        check_logistic,
    ),
    Option(
        "DecisionTreeClassifier(criterion='entropy')",
        "DecisionTreeClassifier",
        so.DecisionTreeClassifier,
        tree.DecisionTreeClassifier,
        {"criterion": "entropy", "max_depth": 4, "random_state": 0},
        "wine",
        check_tree,
    ),
    Option(
        "DecisionTreeClassifier(splitter='random')",
        "DecisionTreeClassifier",
        so.DecisionTreeClassifier,
        tree.DecisionTreeClassifier,
        {"splitter": "random", "max_depth": 4, "random_state": 0},
        "wine",
        check_tree,
    ),
    Option(
        "DecisionTreeRegressor(criterion='absolute_error')",
        "DecisionTreeRegressor",
        so.DecisionTreeRegressor,
        tree.DecisionTreeRegressor,
        {"criterion": "absolute_error", "max_depth": 3, "random_state": 0},
        "diabetes",
        check_tree,
    ),
    Option(
        "KMeans(init='random')",
        "KMeans",
        so.KMeans,
        cluster.KMeans,
        {"n_clusters": 3, "init": "random", "n_init": 3, "random_state": 0},
        "wine",
        check_kmeans,
        supervised=False,
    ),
    Option(
        "KMeans(algorithm='elkan')",
        "KMeans",
        so.KMeans,
        cluster.KMeans,
        {"n_clusters": 3, "algorithm": "elkan", "n_init": 3, "random_state": 0},
        "wine",
        check_kmeans,
        supervised=False,
    ),
    Option(
        "PCA(n_components=0.8)",
        "PCA",
        so.PCA,
        decomposition.PCA,
        {"n_components": 0.8},
        "wine",
        check_pca,
        supervised=False,
    ),
    Option(
        "PCA(whiten=True)",
        "PCA",
        so.PCA,
        decomposition.PCA,
        {"n_components": 3, "whiten": True},
        "wine",
        check_pca,
        supervised=False,
    ),
    Option(
        "PCA(n_components='mle')",
        "PCA",
        so.PCA,
        decomposition.PCA,
        {"n_components": "mle"},
        "wine",
        check_pca,
        supervised=False,
    ),
    Option(
        "StandardScaler(with_mean=False)",
        "StandardScaler",
        so.StandardScaler,
        preprocessing.StandardScaler,
        {"with_mean": False},
        "raw_wine",
        check_standard_scaler,
        supervised=False,
    ),
    Option(
        "StandardScaler(with_std=False)",
        "StandardScaler",
        so.StandardScaler,
        preprocessing.StandardScaler,
        {"with_std": False},
        "offset",
        check_standard_scaler,
        supervised=False,
    ),
    Option(
        "MinMaxScaler(clip=True)",
        "MinMaxScaler",
        so.MinMaxScaler,
        preprocessing.MinMaxScaler,
        {"feature_range": (2, 3), "clip": True},
        "raw_wine",
        check_minmax_scaler,
        supervised=False,
    ),
    # ---------------------------------------------------------------- row weights
    Option(
        "LinearRegression.fit(sample_weight)",
        "LinearRegression",
        so.LinearRegression,
        linear_model.LinearRegression,
        {},
        "diabetes",
        check_linear,
        weighted=True,
    ),
    Option(
        "LogisticRegression.fit(sample_weight)",
        "LogisticRegression",
        so.LogisticRegression,
        linear_model.LogisticRegression,
        LOGISTIC,
        "wine",
        check_logistic,
        weighted=True,
    ),
    Option(
        "DecisionTreeClassifier.fit(sample_weight)",
        "DecisionTreeClassifier",
        so.DecisionTreeClassifier,
        tree.DecisionTreeClassifier,
        {"max_depth": 4, "random_state": 0},
        "breast_cancer",
        check_tree,
        weighted=True,
    ),
    Option(
        "DecisionTreeRegressor.fit(sample_weight)",
        "DecisionTreeRegressor",
        so.DecisionTreeRegressor,
        tree.DecisionTreeRegressor,
        {"max_depth": 4, "random_state": 0},
        "diabetes",
        check_tree,
        weighted=True,
    ),
    Option(
        "StandardScaler.fit(sample_weight)",
        "StandardScaler",
        so.StandardScaler,
        preprocessing.StandardScaler,
        {},
        "offset",
        check_standard_scaler,
        supervised=False,
        weighted=True,
    ),
    Option(
        "KMeans.fit(sample_weight)",
        "KMeans",
        so.KMeans,
        cluster.KMeans,
        {"n_clusters": 3, "n_init": 3, "random_state": 0},
        "wine",
        check_kmeans,
        supervised=False,
        weighted=True,
    ),
)


@pytest.mark.parametrize("case", OPTION_CASES, ids=str)
def test_option_gives_sklearns_model(case: Option, engine: str) -> None:
    X, y = load(case.data)
    args = (X, y) if case.supervised else (X,)
    weights = {}
    if case.weighted:
        weights["sample_weight"] = np.random.default_rng(0).uniform(0.5, 2.0, size=X.shape[0])
    ours = case.ours(backend=engine, **case.params).fit(*args, **weights)
    ref = case.ref(**case.params).fit(*args, **weights)
    assert ours.backend_ == engine
    case.check(ours, ref, X, y, tolerance(case.algorithm, engine), **weights)
