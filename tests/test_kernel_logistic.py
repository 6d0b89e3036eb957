"""The dask engine's out-of-core LogisticRegression kernel against scikit-learn.

The kernel runs scikit-learn's lbfgs objective and L-BFGS-B call with the loss
and gradient summed over chunks, so on the same data it must reach the same
solution (to rounding) in the same number of iterations.
"""

from __future__ import annotations

import pickle
import warnings
from functools import partial

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from scaleout.exceptions import DataError, UnsupportedOnBackend
from scaleout.kernels.logistic import (
    _binary_loss_grad,
    _multinomial_loss_grad,
    check_logistic_params,
    fit_logistic_regression,
)
from scaleout.kernels.passes import InMemoryPasses


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _synthetic():
    X, y = make_classification(
        n_samples=1500,
        n_features=12,
        n_informative=6,
        weights=[0.8, 0.2],
        flip_y=0.05,
        random_state=3,
    )
    return StandardScaler().fit_transform(X), y


DATASETS = {
    "breast_cancer": partial(_standardized, load_breast_cancer),
    "wine": partial(_standardized, load_wine),
    "digits": partial(_standardized, load_digits),
    "synthetic": _synthetic,
}


def _fit_both(X, y, chunk_rows=97, **params):
    """(kernel state, sklearn estimator, passes) fitted on the same data."""
    sk = LogisticRegression(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # penalty / l1_ratio=None
        sk.fit(X, y)
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=chunk_rows)
    state = fit_logistic_regression(passes, sk.get_params())
    return state, sk, passes


def _as_sklearn(state):
    est = LogisticRegression()
    est.coef_ = state["coef_"]
    est.intercept_ = state["intercept_"]
    est.classes_ = state["classes_"]
    est.n_features_in_ = state["coef_"].shape[1]
    return est


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def _assert_parity(state, sk, X):
    np.testing.assert_array_equal(state["classes_"], sk.classes_)
    assert state["classes_"].dtype == sk.classes_.dtype
    assert state["coef_"].shape == sk.coef_.shape
    assert state["intercept_"].shape == sk.intercept_.shape
    assert _rel(state["coef_"], sk.coef_) <= 1e-3
    np.testing.assert_allclose(
        state["intercept_"], sk.intercept_, rtol=1e-3, atol=1e-3 * np.abs(sk.coef_).max()
    )
    assert state["n_iter_"].shape == (1,)
    assert state["n_iter_"].dtype == np.int32
    agree = np.mean(_as_sklearn(state).predict(X) == sk.predict(X))
    assert agree >= 0.999


# ---------------------------------------------------------------------------
# Parity with scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "n_classes"),
    [
        ("breast_cancer", {}, 2),
        ("wine", {}, 3),
        ("digits", {"max_iter": 300}, 10),
        ("synthetic", {"C": 0.01}, 2),
        ("synthetic", {"C": 100.0}, 2),
        ("synthetic", {"C": np.inf}, 2),
        ("synthetic", {"fit_intercept": False}, 2),
        ("synthetic", {"class_weight": {0: 1.0, 1: 4.0}}, 2),
        ("synthetic", {"class_weight": "balanced"}, 2),
        ("wine", {"class_weight": "balanced", "C": 0.1}, 3),
        ("wine", {"fit_intercept": False, "C": 10.0}, 3),
    ],
)
def test_matches_sklearn(name, params, n_classes):
    X, y = DATASETS[name]()
    state, sk, _ = _fit_both(X, y, **params)
    _assert_parity(state, sk, X)
    n_features = X.shape[1]
    expected = (1, n_features) if n_classes == 2 else (n_classes, n_features)
    assert state["coef_"].shape == expected
    # same iterates, so the same iteration count as scikit-learn
    np.testing.assert_array_equal(state["n_iter_"], sk.n_iter_)
    if not params.get("fit_intercept", True):
        np.testing.assert_array_equal(state["intercept_"], np.zeros(len(state["intercept_"])))


def test_wine_is_multinomial_full_matrix():
    X, y = DATASETS["wine"]()
    state, sk, _ = _fit_both(X, y)
    assert state["coef_"].shape == (3, 13)
    assert state["intercept_"].shape == (3,)
    # the symmetric multinomial parametrisation with l2 penalty has coefficient
    # columns summing to zero (gradient of the penalty balances the softmax one)
    np.testing.assert_allclose(state["coef_"].sum(axis=0), 0.0, atol=1e-6)
    proba_ours = _as_sklearn(state).predict_proba(X)
    np.testing.assert_allclose(proba_ours, sk.predict_proba(X), atol=1e-6)


def test_string_labels():
    X, y = DATASETS["wine"]()
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    state, sk, _ = _fit_both(X, labels, chunk_rows=40)
    assert state["classes_"].tolist() == ["barbera", "barolo", "grignolino"]
    _assert_parity(state, sk, X)

    Xb, yb = DATASETS["breast_cancer"]()
    labels = np.array(["malignant", "benign"], dtype=object)[yb]
    state, sk, _ = _fit_both(Xb, labels, chunk_rows=100)
    assert state["classes_"].tolist() == ["benign", "malignant"]
    _assert_parity(state, sk, Xb)


def test_C_changes_coefficients_as_sklearn():
    X, y = DATASETS["synthetic"]()
    ours, theirs = {}, {}
    for C in (0.01, 1.0, 100.0):
        state, sk, _ = _fit_both(X, y, C=C)
        _assert_parity(state, sk, X)
        ours[C], theirs[C] = state["coef_"], sk.coef_
    norms = [np.linalg.norm(ours[C]) for C in (0.01, 1.0, 100.0)]
    # weaker penalty, larger coefficients
    assert norms[0] < norms[1] < norms[2]
    assert norms[0] < 0.75 * norms[2]
    # and the change from C=0.01 to C=100 is scikit-learn's change
    assert _rel(ours[100.0] - ours[0.01], theirs[100.0] - theirs[0.01]) <= 1e-3


def test_no_penalty_spellings_agree():
    X, y = DATASETS["synthetic"]()
    by_C, _, _ = _fit_both(X, y, C=np.inf)
    base = LogisticRegression().get_params()
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=200)
    by_penalty = fit_logistic_regression(passes, {**base, "penalty": None, "C": 0.5})
    np.testing.assert_allclose(by_penalty["coef_"], by_C["coef_"], rtol=1e-10)
    # l1_ratio is irrelevant without a penalty (scikit-learn's C=inf rule)
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=200)
    by_ratio = fit_logistic_regression(passes, {**base, "C": np.inf, "l1_ratio": 0.5})
    np.testing.assert_allclose(by_ratio["coef_"], by_C["coef_"], rtol=1e-10)


def test_class_weight_dict_equals_balanced_when_same_weights():
    X, y = DATASETS["synthetic"]()
    counts = np.bincount(y)
    balanced = {k: len(y) / (2 * c) for k, c in enumerate(counts)}
    a, _, _ = _fit_both(X, y, class_weight="balanced")
    b, _, _ = _fit_both(X, y, class_weight=balanced)
    np.testing.assert_allclose(a["coef_"], b["coef_"], rtol=1e-10)
    unweighted, _, _ = _fit_both(X, y)
    assert _rel(a["coef_"], unweighted["coef_"]) > 0.05  # the weights matter


# ---------------------------------------------------------------------------
# Passes, chunking, convergence
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_pass_count_is_one_plus_function_evaluations(class_weight, monkeypatch):
    from scaleout.kernels import logistic as linear_model

    evaluations = []
    real_minimize = linear_model.optimize.minimize

    def counting_minimize(*args, **kwargs):
        result = real_minimize(*args, **kwargs)
        evaluations.append(result.nfev)
        return result

    monkeypatch.setattr(linear_model.optimize, "minimize", counting_minimize)
    X, y = DATASETS["breast_cancer"]()
    state, _, passes = _fit_both(X, y, class_weight=class_weight)
    # classes and class counts (for 'balanced' too) in one pass, then one per evaluation
    assert passes.passes == 1 + evaluations[0]
    assert evaluations[0] >= state["n_iter_"][0] >= 5


def test_chunking_does_not_change_the_fit():
    X, y = DATASETS["wine"]()
    params = LogisticRegression().get_params()
    one_row = fit_logistic_regression(InMemoryPasses.from_arrays(X, y, chunk_rows=1), params)
    whole = fit_logistic_regression(InMemoryPasses.from_arrays(X, y, chunk_rows=10**9), params)
    np.testing.assert_allclose(one_row["coef_"], whole["coef_"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(one_row["intercept_"], whole["intercept_"], rtol=0, atol=1e-8)
    np.testing.assert_array_equal(one_row["n_iter_"], whole["n_iter_"])


def test_max_iter_warns_like_sklearn():
    X, y = DATASETS["digits"]()
    sk = LogisticRegression(max_iter=5)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        sk.fit(X, y)
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=500)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 5 iter"):
        state = fit_logistic_regression(passes, sk.get_params())
    np.testing.assert_array_equal(state["n_iter_"], np.array([5], dtype=np.int32))
    assert _rel(state["coef_"], sk.coef_) <= 1e-6


def test_converged_fit_does_not_warn():
    X, y = DATASETS["breast_cancer"]()
    passes = InMemoryPasses.from_arrays(X, y, chunk_rows=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fit_logistic_regression(passes, LogisticRegression().get_params())


def test_chunk_functions_pickle():
    classes = np.array([0, 1, 2])
    coef = np.zeros((3, 5))
    for fn in (
        partial(_binary_loss_grad, coef=coef[0], positive=1, class_weight=None, fit_intercept=True),
        partial(
            _multinomial_loss_grad,
            coef=coef,
            classes=classes,
            class_weight=np.ones(3),
            fit_intercept=False,
        ),
    ):
        clone = pickle.loads(pickle.dumps(fn))
        assert clone.func is fn.func


def test_binary_chunk_loss_is_exact_for_confident_rows():
    # log(1 + exp(-z)) for a confidently right row must not cancel to 0 or go negative
    from scaleout.data import Batch

    X = np.array([[30.0], [-30.0], [30.0], [-30.0]])
    y = np.array([1, 0, 0, 1])
    loss, grad, weight = _binary_loss_grad(
        Batch(X, y, "t", 0), np.array([1.0, 0.0]), positive=1, class_weight=None, fit_intercept=True
    )
    expected = 2 * np.log1p(np.exp(-30.0)) + 2 * (30.0 + np.log1p(np.exp(-30.0)))
    assert loss == pytest.approx(expected, rel=1e-15)
    assert weight == 4.0
    e = np.exp(-30.0) / (1 + np.exp(-30.0))
    expected_grad = [30 * (-e - e + (1 - e) + (1 - e)), -e + e + (1 - e) - (1 - e)]
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# Parameters the kernel refuses, and bad data
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "option", "supported"),
    [
        ({"solver": "saga"}, "solver='saga'", "supported solvers: 'lbfgs'"),
        ({"solver": "liblinear"}, "solver='liblinear'", "supported solvers: 'lbfgs'"),
        ({"penalty": "l1"}, "penalty='l1'", "supported penalties: 'l2', None"),
        ({"penalty": "elasticnet"}, "penalty='elasticnet'", "supported penalties"),
        ({"l1_ratio": 1.0}, "l1_ratio=1.0", "supported l1_ratio values: 0.0, None"),
        ({"l1_ratio": 0.5, "C": 2.0}, "l1_ratio=0.5", "supported l1_ratio values"),
        ({"dual": True}, "dual=True", "supported dual values: False"),
        ({"warm_start": True}, "warm_start=True", "supported warm_start values: False"),
        ({"class_weight": [1, 2]}, "class_weight=[1, 2]", "None, a dict, 'balanced'"),
    ],
)
def test_unsupported_options_raise(change, option, supported):
    params = {**LogisticRegression().get_params(), **change}
    with pytest.raises(UnsupportedOnBackend) as info:
        check_logistic_params(params)
    message = str(info.value)
    assert f"LogisticRegression({option})" in message
    assert "backend 'dask'" in message
    assert supported in message
    assert isinstance(info.value, ValueError)
    # and the fit refuses before reading any data
    passes = InMemoryPasses.from_arrays(np.zeros((4, 2)), np.array([0, 1, 0, 1]))
    with pytest.raises(UnsupportedOnBackend):
        fit_logistic_regression(passes, params)
    assert passes.passes == 0


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"penalty": "l2"},
        {"penalty": None},
        {"l1_ratio": None},
        {"C": np.inf, "l1_ratio": 1.0},
        {"intercept_scaling": 5.0, "random_state": 7, "n_jobs": 2, "verbose": 1},
        {"class_weight": "balanced"},
        {"class_weight": {0: 2.0}},
    ],
)
def test_supported_options_pass(change):
    check_logistic_params({**LogisticRegression().get_params(), **change})


def test_bad_targets():
    X = np.random.default_rng(0).standard_normal((20, 3))
    params = LogisticRegression().get_params()
    with pytest.raises(DataError, match="at least 2 classes"):
        fit_logistic_regression(InMemoryPasses.from_arrays(X, np.ones(20), chunk_rows=7), params)
    with pytest.raises(DataError, match="continuous"):
        fit_logistic_regression(InMemoryPasses.from_arrays(X, X[:, 0], chunk_rows=7), params)
    with pytest.raises(DataError, match="needs a target"):
        fit_logistic_regression(InMemoryPasses.from_arrays(X, None, chunk_rows=7), params)
