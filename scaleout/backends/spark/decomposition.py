"""PCA on Spark MLlib (``pyspark.ml.feature.PCA``).

Spark eigendecomposes the covariance matrix; the column means and variances
come from the data check's aggregation job, so ``mean_`` and
``explained_variance_`` need no extra pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...exceptions import InvalidParameterError
from .algorithm import Algorithm
from .models import pca_state, sign_flip
from .params import pca_k

if TYPE_CHECKING:
    from .convert import Prepared

#: The output column of a PCA stage.
PCA_OUTPUT = "__so_pca"


class PCAAlgorithm(Algorithm):
    """PCA: ``k`` components of the centred data, signs as scikit-learn."""

    moments = True
    cache_input = True  # MLlib's PCA scans twice (column stats, then the covariance)

    def k(self, params: dict[str, Any], n_rows: int, n_features: int) -> int:
        """Components Spark computes (all of them for a float ``n_components``)."""
        n_components = params.get("n_components")
        k = pca_k(n_components, n_rows, n_features)
        limit = min(n_rows, n_features)
        if k is None:
            return n_features
        if not 1 <= k <= limit:
            raise InvalidParameterError(
                f"n_components={n_components} must be between 1 and min(n_samples, "
                f"n_features)={limit} with svd_solver={params.get('svd_solver', 'auto')!r}"
            )
        return k

    def stage(
        self, params: dict[str, Any], prepared: Prepared, features: str, n_features: int
    ) -> Any:
        from pyspark.ml.feature import PCA

        k = self.k(params, prepared.n_rows, n_features)
        return PCA(k=k, inputCol=features, outputCol=PCA_OUTPUT)

    def state(
        self, model: Any, params: dict[str, Any], prepared: Prepared, n_features: int
    ) -> dict[str, Any]:
        return pca_state(
            np.asarray(model.pc.toArray()),
            np.asarray(model.explainedVariance.toArray()),
            params.get("n_components"),
            prepared.means,
            prepared.variances,
            prepared.n_rows,
        )

    @staticmethod
    def signs(model: Any) -> np.ndarray:
        """+1/-1 per Spark component: Spark's output times these is scikit-learn's."""
        return sign_flip(np.asarray(model.pc.toArray()).T)
