"""scikit-learn's own estimator checks, run on every scaleout estimator."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

import scaleout as so

ESTIMATORS = [
    so.LinearRegression(),
    so.LogisticRegression(),
    so.DecisionTreeClassifier(random_state=0),
    so.DecisionTreeRegressor(random_state=0),
    so.KMeans(n_clusters=2, n_init=2, random_state=0),
    so.PCA(n_components=2, random_state=0),
]

# Checks expected to fail, with the reason. Keys: estimator class name -> {check: reason}.
# These are exactly the ones scikit-learn itself marks as failing for the estimators we
# delegate to (sklearn.utils._test_common.instance_generator.PER_ESTIMATOR_XFAIL_CHECKS).
_WEIGHTS = "scikit-learn's own estimator: sample_weight is not equivalent to repeating samples"
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    "KMeans": {"check_sample_weight_equivalence_on_dense_data": _WEIGHTS},
}


def _expected_failed(estimator):
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
