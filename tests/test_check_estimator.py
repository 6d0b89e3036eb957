"""scikit-learn's own estimator checks, run on every scaleout estimator on every engine.

The checks come from :func:`sklearn.utils.estimator_checks.estimator_checks_generator`
(what ``parametrize_with_checks`` runs), once per installed engine
(:func:`scaleout.backends.available_backends`, read at collection time: an engine
registered later is checked without edits), each estimator with
``backend=<engine>``.

Expected failures are strict xfails from three tables, keyed by estimator class
name (and engine):

* :data:`SKLEARN_OWN` -- checks scikit-learn itself marks as failing for the
  estimator we delegate to (``PER_ESTIMATOR_XFAIL_CHECKS``), on the sklearn engine
  (the kernels pass them: dask's KMeans is weight-equivalent);
* :data:`GAPS` -- options an engine declares unsupported: the check must fail
  with ``UnsupportedOnBackend``;
* :data:`PRECISION` -- the engine's model is scikit-learn's within the engine's
  parity tolerance, but not within the check's 1e-7 (for the integrator to decide);
* an engine outside :data:`~tests.engines.tolerances.TABLED_ENGINES` (a plug-in)
  declares its own gaps: an ``UnsupportedOnBackend`` it raises is an xfail.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import estimator_checks_generator

import scaleout as so
from scaleout.engines import available_backends
from scaleout.exceptions import UnsupportedOnBackend
from tests.engines.tolerances import TABLED_ENGINES

ESTIMATORS = [
    so.LinearRegression(),
    so.LogisticRegression(),
    so.DecisionTreeClassifier(random_state=0),
    so.DecisionTreeRegressor(random_state=0),
    so.KMeans(n_clusters=2, n_init=2, random_state=0),
    so.PCA(n_components=2, random_state=0),
    so.StandardScaler(),
    so.MinMaxScaler(),
]

# estimator class name -> {check: reason}, on the sklearn engine.
_WEIGHTS = "scikit-learn's own estimator: sample_weight is not equivalent to repeating samples"
SKLEARN_OWN: dict[str, dict[str, str]] = {
    "KMeans": {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
        # run because the sklearn engine takes sparse input (input_tags.sparse)
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS,
    },
}

# (estimator class name, engine) -> {check: reason}: the check must raise UnsupportedOnBackend.
_SPARK_KMEANS_WEIGHTS = "KMeans.fit(sample_weight=...) is not supported by backend 'spark'"
GAPS: dict[tuple[str, str], dict[str, str]] = {
    ("KMeans", "spark"): {
        "check_sample_weights_pandas_series": _SPARK_KMEANS_WEIGHTS,
        "check_sample_weights_not_an_array": _SPARK_KMEANS_WEIGHTS,
        "check_sample_weights_list": _SPARK_KMEANS_WEIGHTS,
        "check_sample_weights_shape": _SPARK_KMEANS_WEIGHTS,
        "check_sample_weights_not_overwritten": _SPARK_KMEANS_WEIGHTS,
        "check_sample_weight_equivalence_on_dense_data": _SPARK_KMEANS_WEIGHTS,
    },
}

# (estimator class name, engine) -> {check: reason}: the engine fits the same model
# within its parity tolerance (tests/engines/tolerances.py), not within the check's
# rtol=1e-7. Empty: Spark LogisticRegression, the last entry, now ends with Newton
# steps at the optimum (scaleout/backends/spark/logistic_newton.py).
PRECISION: dict[tuple[str, str], dict[str, str]] = {}


#: Engines whose checks run in ``make test-slow`` (not the default run): Spark's ~1,000
#: short fits take about 4 minutes on 2 cores (each fit is several Spark jobs), which
#: would take the default run past its 15 minutes.
SLOW_ENGINES = ("spark",)


def _check_name(check: Any) -> str:
    return getattr(check, "func", check).__name__


def _marks(name: str, engine: str, check: str) -> list[pytest.MarkDecorator]:
    if check in GAPS.get((name, engine), {}):
        reason = f"gap on {engine}: {GAPS[name, engine][check]}"
        return [pytest.mark.xfail(raises=UnsupportedOnBackend, strict=True, reason=reason)]
    if check in PRECISION.get((name, engine), {}):
        return [pytest.mark.xfail(strict=True, reason=PRECISION[name, engine][check])]
    if engine == "sklearn" and check in SKLEARN_OWN.get(name, {}):
        return [pytest.mark.xfail(strict=True, reason=SKLEARN_OWN[name][check])]
    return []


def _params() -> Iterator[Any]:
    for engine in available_backends():
        for template in ESTIMATORS:
            estimator = clone(template).set_params(backend=engine)
            name = type(estimator).__name__
            for instance, check in estimator_checks_generator(estimator, mark=None):
                check_name = _check_name(check)
                keywords = getattr(check, "keywords", {})
                suffix = f"({','.join(f'{k}={v}' for k, v in keywords.items())})" * bool(keywords)
                marks = _marks(name, engine, check_name)
                if engine in SLOW_ENGINES:
                    marks.append(pytest.mark.slow)
                yield pytest.param(
                    engine,
                    instance,
                    check,
                    id=f"{engine}-{name}-{check_name}{suffix}",
                    marks=marks,
                )


@pytest.mark.parametrize(("engine", "estimator", "check"), list(_params()))
def test_sklearn_compatible_estimator(engine, estimator, check, request):
    if engine == "spark":
        request.getfixturevalue("spark")  # the run's one local session
    options = {"dask_scheduler": "threads"} if engine == "dask" else {}
    with so.config_context(progress=False, **options):
        try:
            check(estimator)
        except Exception as exc:
            # Some checks catch the estimator's error and raise their own (e.g.
            # check_sample_weights_pandas_series): surface a declared gap as itself.
            gap = _unsupported_cause(exc)
            if gap is not None and engine not in TABLED_ENGINES:
                pytest.xfail(f"declared by {engine}: {gap}")
            if gap is not None and gap is not exc:
                raise gap from exc
            raise


def _unsupported_cause(exc: BaseException | None) -> UnsupportedOnBackend | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UnsupportedOnBackend):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
