"""Newton's method for the L2 logistic objective (scaleout/kernels/logistic_newton.py).

The chunk terms are checked against the objective written out with SciPy and
against finite differences of it; any chunking must give the same sums; and
the method, run in memory, must reach scikit-learn's optimum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_expit, log_softmax
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from scaleout.kernels.logistic_newton import (
    chunk_newton_terms,
    hessian_side,
    minimise_newton,
    split_terms,
    terms_size,
)


def _data_objective(X, y, s, theta):
    Xt = np.hstack([X, np.ones((len(X), 1))])
    if theta.shape[0] == 1:
        z = Xt @ theta[0]
        return float(-(s * (y * log_expit(z) + (1 - y) * log_expit(-z))).sum())
    log_p = log_softmax(Xt @ theta.T, axis=1)
    return float(-(s * log_p[np.arange(len(y)), y]).sum())


def _problem(n_classes, seed=0, n=60, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.integers(0, n_classes, size=n)
    s = rng.uniform(0.5, 2.0, size=n)
    rows = 1 if n_classes == 2 else n_classes
    theta = rng.normal(scale=0.7, size=(rows, p + 1))
    return X, y, s, theta


@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_chunk_terms_are_the_objective_and_its_derivatives(n_classes):
    X, y, s, theta = _problem(n_classes)
    p = X.shape[1]
    terms = chunk_newton_terms(X, y, s, theta)
    assert terms.shape == (terms_size(p, n_classes),)
    objective, gradient, hessian = split_terms(terms, p, n_classes)
    side = hessian_side(p, n_classes)
    assert gradient.shape == theta.shape and hessian.shape == (side, side)
    assert objective == pytest.approx(_data_objective(X, y, s, theta), rel=1e-12)
    h = 1e-6
    numeric = np.zeros(theta.size)
    numeric_hessian = np.zeros((side, side))
    for i in range(theta.size):
        e = np.zeros(theta.size)
        e[i] = h
        up, down = theta + e.reshape(theta.shape), theta - e.reshape(theta.shape)
        numeric[i] = (_data_objective(X, y, s, up) - _data_objective(X, y, s, down)) / (2 * h)
        g_up = split_terms(chunk_newton_terms(X, y, s, up), p, n_classes)[1]
        g_down = split_terms(chunk_newton_terms(X, y, s, down), p, n_classes)[1]
        numeric_hessian[i] = (g_up - g_down).ravel() / (2 * h)
    np.testing.assert_allclose(gradient.ravel(), numeric, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hessian, numeric_hessian, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hessian, hessian.T, rtol=0, atol=1e-12)


def test_terms_of_confident_rows_stay_finite():
    X = np.array([[800.0], [-800.0], [0.0]])
    y = np.array([0, 1, 1])
    terms = chunk_newton_terms(X, y, None, np.array([[1.0, 0.0]]))
    objective, gradient, _hessian = split_terms(terms, 1, 2)
    assert np.isfinite(terms).all()
    assert objective == pytest.approx(1600.0 + np.log(2.0), rel=1e-12)
    assert gradient[0, 0] == pytest.approx(800.0 + 800.0, rel=1e-12)


def test_an_empty_chunk_adds_nothing():
    theta = np.zeros((3, 4))
    terms = chunk_newton_terms(np.empty((0, 3)), np.empty(0), None, theta)
    assert terms.shape == (terms_size(3, 3),) and not terms.any()


@settings(max_examples=40, deadline=None)
@given(
    n_classes=st.sampled_from([2, 3]),
    seed=st.integers(0, 2**16),
    cuts=st.lists(st.integers(0, 60), max_size=6),
    weighted=st.booleans(),
)
def test_any_chunking_gives_the_same_terms(n_classes, seed, cuts, weighted):
    X, y, s, theta = _problem(n_classes, seed=seed)
    s = s if weighted else None
    whole = chunk_newton_terms(X, y, s, theta)
    bounds = [0, *sorted(cuts), len(X)]
    parts = sum(
        chunk_newton_terms(X[a:b], y[a:b], None if s is None else s[a:b], theta)
        for a, b in itertools.pairwise(bounds)
    )
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-12 * np.abs(whole).max())


def _minimise(X, y, weights=None, *, C=1.0, fit_intercept=True, max_steps=100, chunk=37):
    classes, index = np.unique(y, return_inverse=True)

    def evaluate(theta):
        return sum(
            chunk_newton_terms(
                X[a : a + chunk],
                index[a : a + chunk],
                None if weights is None else weights[a : a + chunk],
                theta,
            )
            for a in range(0, len(X), chunk)
        )

    return minimise_newton(
        evaluate,
        X.shape[1],
        len(classes),
        C=C,
        fit_intercept=fit_intercept,
        max_steps=max_steps,
    )


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_newton_reaches_scikit_learns_optimum(loader, fit_intercept):
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    result = _minimise(X, y, weights, C=0.5, fit_intercept=fit_intercept)
    assert result.converged and result.steps <= 12 and result.passes == result.steps
    reference = LogisticRegression(
        C=0.5, fit_intercept=fit_intercept, solver="newton-cholesky", tol=1e-12, max_iter=1000
    )
    reference.fit(X, y, sample_weight=weights)
    coef, intercept = result.coef, result.intercept
    if coef.shape[0] > 1:  # scikit-learn's lbfgs keeps the intercepts' sum at zero too
        assert abs(intercept.sum()) <= 1e-9
    np.testing.assert_allclose(coef, reference.coef_, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(intercept, reference.intercept_, rtol=1e-8, atol=1e-8)
    if not fit_intercept:
        assert not intercept.any()


def test_newton_is_unmoved_by_a_column_of_tiny_spread():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=500) > 0).astype(int)
    scale = np.array([1.0, 1e-5, 1.0])
    result = _minimise(X * scale, y, C=1.0)
    _objective, gradient, _ = split_terms(
        chunk_newton_terms(X * scale, y, None, np.hstack([result.coef, result.intercept[:, None]])),
        3,
        2,
    )
    gradient[:, :-1] += result.coef / 1.0
    assert result.converged
    assert np.abs(gradient).max() <= 1e-8


def test_a_step_limit_stops_unconverged():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    result = _minimise(X, y, max_steps=2)
    assert result.steps == 2 and not result.converged
    assert len(result.decrements) == 2 and result.decrements[1] < result.decrements[0]


def test_an_infinite_c_is_refused():
    with pytest.raises(ValueError, match="finite C > 0"):
        minimise_newton(lambda theta: None, 2, 2, C=np.inf, fit_intercept=True, max_steps=5)
