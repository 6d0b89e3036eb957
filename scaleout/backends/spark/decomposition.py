"""PCA on Spark MLlib.

A lone PCA fit is one pass: MLlib's ``RowMatrix.computeGramianMatrix`` over
the rows ``[x - shift, 1]`` gives the column sums, the row count and the
Gram matrix at once, hence the means and the covariance; the driver
eigendecomposes the (p x p) covariance as ``pyspark.ml.feature.PCA`` does
(which needs two passes: column statistics, then the covariance, through
the same ``RowMatrix``). The shift is the first row, so the sums of squares
do not cancel when the means are large against the spread. The rows are
checked inside that pass (``prepare(check_in_fit=True)``). In a pipeline,
PCA is the ``pyspark.ml.feature.PCA`` stage of a ``pyspark.ml.Pipeline``,
fed with centred vectors and the moments of the check job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...exceptions import InvalidParameterError
from .algorithm import Algorithm
from .models import pca_state, sign_flip
from .params import pca_k
from .stats import gramian_moments

if TYPE_CHECKING:
    from .convert import Prepared

#: The output column of a PCA stage.
PCA_OUTPUT = "__so_pca"


class PCAAlgorithm(Algorithm):
    """PCA: ``k`` components of the centred data, signs as scikit-learn."""

    def fit(
        self,
        spark: Any,
        params: dict[str, Any],
        prepared: Prepared,
        frame: Any,
        features: str,
        n_features: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One Gramian pass, then the eigendecomposition on the driver."""
        k = self.k(params, prepared.n_rows, n_features)
        means, covariance, n_rows = gramian_moments(spark, frame, prepared.raw_columns)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        order = np.argsort(eigenvalues)[::-1][:k]
        eigenvalues = np.clip(eigenvalues, 0.0, None)
        variances = np.clip(np.diag(covariance), 0.0, None)
        total = float(variances.sum())
        ratio = eigenvalues[order] / total if total > 0 else np.zeros(len(order))
        state = pca_state(
            eigenvectors[:, order],
            ratio,
            params.get("n_components"),
            means,
            variances,
            n_rows,
        )
        return state, {"solver": "gramian"}

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
