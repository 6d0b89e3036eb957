"""The ``spark`` engine: scikit-learn estimators fitted by Spark MLlib.

``backend="spark"`` (or a Spark DataFrame as input) fits with ``pyspark.ml``
on the session from :func:`.session.get_session` (the active one, or one
built from ``spark_master`` / ``spark_conf``), and returns the same
portable NumPy model as every engine: ``predict`` runs locally, ``save``
needs no Spark.

Modules, one job each; one module per algorithm, named as scikit-learn's:

* :mod:`.linear_model`, :mod:`.tree`, :mod:`.cluster`, :mod:`.decomposition`,
  :mod:`.preprocessing` — each algorithm whole: its checks (``check_task``), its scikit-learn →
  MLlib parameter table and mapping, its MLlib stage and the conversion of the
  fitted MLlib model to scikit-learn's attributes (:mod:`.algorithm` is their
  common base); registered by estimator class in :data:`ALGORITHMS` below;
* :mod:`.session` — the one SparkSession of the process;
* :mod:`.params` — what the algorithms share (bins, depth limits, messages);
* :mod:`.convert` — data into Spark, checked in one aggregation job;
  :mod:`.data` — a user's Spark DataFrame as a Dataset;
* :mod:`.predict` — ``predict`` / ``transform`` on a Spark DataFrame;
* :mod:`.progress` — job counting and progress lines; :mod:`.errors` —
  Spark failures → scaleout errors.
* :mod:`.passes` — :class:`~.passes.SparkPasses`, the engine-neutral
  kernels' passes as ``mapInArrow`` jobs on the executors; :mod:`.kernel_fit`
  — an estimator with a kernel (``_kernel``) and no entry in
  :data:`ALGORITHMS` is fitted by its kernel on them (``fit_stats_["path"]``
  says so, with ``kernel_passes``, ``pass_seconds``, ``storage`` and
  ``partitions``).

``fit_stats_``: ``rows``; ``spark_jobs``, the Spark jobs the fit ran (Spark
does not report passes over the data: every job reads it at most once per
stage, and MLlib caches what it iterates over); ``passes``, equal to
``spark_jobs``; ``iterations`` (L-BFGS / Lloyd iterations, tree depth);
``seconds`` (``prepare_seconds`` for the data check, ``fit_seconds`` for
MLlib and the conversion; ``mllib_seconds``, inside the MLlib estimator's
``fit``, where one is called; ``newton_passes``, ``newton_decrements`` and
``newton_seconds`` for LogisticRegression's Newton fit); ``data_check`` (``"in the fit"`` or ``"own
job"``, see :func:`.convert.prepare`); ``classes_from`` for a classifier
(``"Parquet statistics"`` or ``"a Spark job"``); ``spark_master``.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from ..._config import get_config, set_config
from ...cluster import KMeans
from ...decomposition import PCA
from ...engines.base import Backend, FitResult, FitTask, PipelineResult
from ...exceptions import ClusterError, UnsupportedOnBackend
from ...kernels import kernel_of
from ...linear_model import LinearRegression, LogisticRegression
from ...preprocessing import MinMaxScaler, StandardScaler
from ...registry import implementation, register_implementation
from ...tree import DecisionTreeClassifier, DecisionTreeRegressor
from .algorithm import Algorithm
from .cluster import KMeansAlgorithm
from .convert import FEATURES, diagnose_bad_rows, prepare, release
from .decomposition import PCA_OUTPUT, PCAAlgorithm, check_pca_output
from .errors import spark_errors
from .linear_model import LinearRegressionAlgorithm, LogisticRegressionAlgorithm
from .preprocessing import SCALERS, MinMaxScalerAlgorithm, StandardScalerAlgorithm, scaled
from .progress import JobTracker
from .session import get_session, quiet_pandas
from .tree import TreeAlgorithm

if TYPE_CHECKING:
    from ...base import ScaleoutEstimator
    from ...data import Dataset

__all__ = ["ALGORITHMS", "SparkBackend", "get_session"]

ALGORITHMS: dict[type, Algorithm] = {
    LinearRegression: LinearRegressionAlgorithm(),
    LogisticRegression: LogisticRegressionAlgorithm(),
    DecisionTreeClassifier: TreeAlgorithm(classifier=True),
    DecisionTreeRegressor: TreeAlgorithm(classifier=False),
    KMeans: KMeansAlgorithm(),
    PCA: PCAAlgorithm(),
    StandardScaler: StandardScalerAlgorithm(),
    MinMaxScaler: MinMaxScalerAlgorithm(),
}
for _estimator, _algorithm in ALGORITHMS.items():
    register_implementation("spark", _estimator, _algorithm)

#: Final pipeline steps that can follow a PCA step: the algorithms whose models map
#: through the sign convention of scikit-learn's components (they implement
#: :meth:`Algorithm.flip_features`).
AFTER_PCA = tuple(
    estimator.__name__
    for estimator, algorithm in ALGORITHMS.items()
    if type(algorithm).flip_features is not Algorithm.flip_features
)


_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_LOOPBACK_CONF = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def _probe_master(master: str, timeout: float = 5.0) -> None:
    """Fail at once when nothing listens at a ``spark://host:port`` master (each one of a list)."""
    import socket

    for part in master[len("spark://") :].split(","):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit():
            raise ClusterError(
                f"cannot read a host and port from the Spark master {master!r}; "
                "expected e.g. 'spark://127.0.0.1:7077'"
            )
        try:
            socket.create_connection((host, int(port)), timeout=timeout).close()
        except OSError as exc:
            why = exc.strerror or str(exc) or type(exc).__name__
            raise ClusterError(
                f"cannot reach the Spark master at {master}: {why}; is the cluster up? "
                "(scaleout cluster status)"
            ) from None


class SparkBackend(Backend):
    """Fit with Spark MLlib; the fitted model is plain NumPy (see the module docs)."""

    name = "spark"
    requires = ("pyspark",)
    extra = "spark"
    schemes = ("spark", "k8s", "mesos")
    address_help = "'spark://host:port', 'yarn' or 'local[*]'"
    native_pipelines = True

    # ---------------------------------------------------------------- input
    @classmethod
    def claims(cls, data: Any) -> bool:
        """A Spark DataFrame."""
        return type(data).__module__.startswith("pyspark") and hasattr(data, "sparkSession")

    def wrap(self, data: Any, target: Any = None) -> Dataset:
        from .data import SparkDataset

        return SparkDataset(data, target=target)

    # -------------------------------------------------------------- address
    @classmethod
    def accepts_address(cls, address: str) -> bool:
        """``spark://``, ``k8s://``, ``mesos://``, ``yarn``, ``local`` and ``local[N]``."""
        return (
            super().accepts_address(address)
            or address in ("yarn", "local")
            or address.startswith("local[")
        )

    def connect(self, address: str | None) -> None:
        """Later spark fits run on the master at ``address`` (None: ``local[*]``).

        For a master on 127.0.0.1 the driver is bound to loopback too, and the
        executors use this interpreter (``PYSPARK_PYTHON``) unless set. A Spark
        session already started on another master is stopped, so the next fit
        builds one on the new master. A ``spark://`` master nothing listens on
        raises a :class:`~scaleout.exceptions.ClusterError` at once; the secret
        of a cluster ``scaleout cluster up`` recorded is added when the session
        is built (see :func:`scaleout.clusters.credentials.spark_auth_conf`).
        """
        master = "local[*]" if address is None else address
        if master.startswith("spark://"):
            _probe_master(master)
        conf = dict(get_config()["spark_conf"])
        if master.startswith("spark://") and urlparse(master).hostname in _LOOPBACK:
            for key, value in _LOOPBACK_CONF.items():
                conf.setdefault(key, value)
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if address is None:
            set_config(spark_master=master)
        else:
            set_config(spark_master=master, spark_conf=conf)
        _stop_other_session(master)

    # ------------------------------------------------------------- support
    def supports(self, estimator: type) -> bool:
        """An estimator with an MLlib mapping (:data:`ALGORITHMS`) or a kernel (``_kernel``)."""
        return super().supports(estimator) or kernel_of(estimator) is not None

    def check_supported(self, task: FitTask) -> None:
        """The MLlib mapping's checks; without one, the kernel's (naming backend 'spark')."""
        kernel = kernel_of(task.estimator)
        if implementation(self.name, task.estimator) is None and kernel is not None:
            kernel.check_params(task.params, backend=self.name)
            return
        super().check_supported(task)

    # ------------------------------------------------------------------ fit
    def fit(self, task: FitTask, dataset: Dataset, sample_weight: Any = None) -> FitResult:
        if getattr(task.estimator, "_kernel_everywhere", False):
            return self._fit_table(task, dataset)[0]
        name = task.name
        algorithm = implementation(self.name, task.estimator)
        if algorithm is None:
            return self._fit_kernel(task, dataset, sample_weight)
        if sample_weight is not None and not algorithm.weights:
            raise UnsupportedOnBackend(
                f"{name}.fit(sample_weight=...) is not supported by backend 'spark'; "
                "supported: sample_weight=None"
            )
        params = task.params
        start = time.perf_counter()
        spark = get_session()
        with spark_errors(f"fitting {name}"), quiet_pandas(), JobTracker(spark, name) as jobs:
            prepared = prepare(
                spark,
                dataset,
                label=algorithm.label,
                sample_weight=sample_weight,
                class_weight=params.get("class_weight") if algorithm.weights else None,
                moments=algorithm.moments,
                check_in_fit=True,
                max_abs=algorithm.max_abs,
            )
            checked = time.perf_counter()
            try:
                task.check_target(prepared.classes)
                state, info = algorithm.fit(
                    spark, params, prepared, prepared.frame, FEATURES, prepared.n_features
                )
            except Exception as exc:
                diagnose_bad_rows(prepared, exc)
                raise
            finally:
                release(prepared)
        algorithm.finish(state, info, dataset)
        done = time.perf_counter()
        info["data_check"] = "in the fit" if "unchecked" in prepared.extra else "own job"
        if "classes_from" in prepared.extra:
            info["classes_from"] = prepared.extra["classes_from"]
        return FitResult(state, _stats(spark, prepared.n_rows, jobs, start, checked, done, info))

    def _fit_kernel(self, task: FitTask, dataset: Dataset, sample_weight: Any) -> FitResult:
        """Fit with the estimator's kernel on Spark's executors (:mod:`.kernel_fit`)."""
        from .kernel_fit import fit_kernel

        kernel = kernel_of(task.estimator)
        assert kernel is not None  # check_supported ran first
        start = time.perf_counter()
        spark = get_session()
        with (
            spark_errors(f"fitting {task.name}"),
            quiet_pandas(),
            JobTracker(spark, task.name) as jobs,
        ):
            state, info, rows, checked = fit_kernel(spark, task, kernel, dataset, sample_weight)
        done = time.perf_counter()
        info["data_check"] = "own job"
        return FitResult(state, _stats(spark, rows, jobs, start, checked, done, info))

    def _fit_table(self, task: FitTask, dataset: Dataset) -> tuple[FitResult, Any, str | None]:
        """A table transformer: its kernel over the raw table's Arrow batches (:mod:`.table`).

        Returns the result, the Spark frame of the raw table and its target column.
        """
        from .passes import SparkPasses
        from .table import table_frame

        kernel = kernel_of(task.estimator)
        assert kernel is not None
        start = time.perf_counter()
        spark = get_session()
        with (
            spark_errors(f"fitting {task.name}"),
            quiet_pandas(),
            JobTracker(spark, task.name) as jobs,
        ):
            frame, target = table_frame(spark, dataset)
            passes = SparkPasses(frame, list(dataset.feature_names), raw=True)
            passes.feature_names = list(dataset.feature_names)
            checked = time.perf_counter()
            try:
                state = kernel.run(passes, task.params, backend=self.name)
            finally:
                passes.close()
            info = {
                "path": "scaleout kernel on Spark executors (SparkPasses, raw table)",
                "kernel_passes": passes.passes,
                "storage": passes.storage,
            }
        done = time.perf_counter()
        stats = _stats(spark, passes.n_rows, jobs, start, checked, done, info)
        return FitResult(state, stats), frame, target

    def _fit_table_then(self, tasks: list[FitTask], dataset: Dataset) -> PipelineResult:
        """A table transformer, then the rest of the pipeline on its output rows.

        The transformer is fitted by its kernel; the rest (MLlib, as any Spark
        pipeline) reads one ``mapInArrow`` of scikit-learn's fitted ``transform``
        over the raw table (:func:`.table.transformed_frame`).
        """
        from .data import SparkDataset
        from .table import transformed_frame

        first, frame, target = self._fit_table(tasks[0], dataset)
        step = tasks[0].fitted(first.state, dataset.n_features)
        width = len(step.get_feature_names_out())
        first.n_features = dataset.n_features
        if len(tasks) == 1:
            return PipelineResult([first], first.stats)
        for task in tasks[1:]:
            self.check_supported(task)
        transformed, _ = transformed_frame(
            frame, step._local_estimator(), list(dataset.feature_names), target, width
        )
        rest = self.fit_pipeline(tasks[1:], SparkDataset(transformed, target=target))
        for result in rest.steps:
            result.n_features = width if result.n_features is None else result.n_features
        stats = {**rest.stats, "rows": first.stats["rows"],
                 "passes": first.stats["passes"] + rest.stats.get("passes", 0),
                 "seconds": first.stats["seconds"] + rest.stats.get("seconds", 0.0),
                 "table_step": first.stats}
        return PipelineResult([first, *rest.steps], stats)

    # ------------------------------------------------------------- pipeline
    def fit_pipeline(
        self, tasks: list[FitTask], dataset: Dataset, **fit_params: Any
    ) -> PipelineResult:
        """Fit ``[PCA] + final`` as one ``pyspark.ml.Pipeline`` on the assembled vectors.

        Supported: any single supported estimator, or one PCA step (an int
        or None ``n_components``) followed by LinearRegression,
        LogisticRegression or KMeans; either after a StandardScaler or
        MinMaxScaler (:meth:`_fit_scaler_then`). Spark's PCA output is made exactly
        scikit-learn's (centred input, components' signs flipped into the
        final model).
        """
        if getattr(tasks[0].estimator, "_kernel_everywhere", False):
            if fit_params:
                raise UnsupportedOnBackend(
                    f"Pipeline.fit({', '.join(fit_params)}=...) is not supported by backend "
                    "'spark'"
                )
            return self._fit_table_then(tasks, dataset)
        self._check_pipeline(tasks, fit_params)
        final = tasks[-1]
        final_name = final.name
        if len(tasks) == 1:
            result = self.fit(final, dataset)
            return PipelineResult([result], result.stats)
        if tasks[0].name in SCALERS:
            return self._fit_scaler_then(tasks[0], tasks[1:], dataset)
        pca, algorithm = tasks[0], ALGORITHMS[final.estimator]
        final_params = final.params
        start = time.perf_counter()
        spark = get_session()
        with (
            spark_errors("fitting the pipeline"),
            quiet_pandas(),
            JobTracker(spark, f"Pipeline(PCA, {final_name})") as jobs,
        ):
            prepared = prepare(
                spark,
                dataset,
                label=algorithm.label,
                class_weight=final_params.get("class_weight") if algorithm.weights else None,
                moments=True,
                centre=True,
                cache=True,
            )
            checked = time.perf_counter()
            try:
                final.check_target(prepared.classes)
                pca_state, final_state, info, k = self._fit_pca_then(
                    spark, pca, final, prepared, algorithm
                )
            finally:
                release(prepared)
        algorithm.finish(final_state, info, dataset, partial(_project, pca_state))
        done = time.perf_counter()
        info["data_check"] = "own job"
        stats = _stats(spark, prepared.n_rows, jobs, start, checked, done, info)
        steps = [FitResult(pca_state, stats), FitResult(final_state, stats, n_features=k)]
        return PipelineResult(steps, stats)

    def _fit_scaler_then(
        self, scaler: FitTask, rest: list[FitTask], dataset: Dataset
    ) -> PipelineResult:
        """A scaler then ``rest`` (one estimator, or PCA and one estimator).

        The checked columns are cached; the scaler's pass reads them, and the
        next steps read scikit-learn's ``transform`` of them, in SQL over the
        cache (:func:`.preprocessing.scaled`: the same doubles).
        """
        final = rest[-1]
        pca = rest[0] if len(rest) == 2 else None
        algorithm = ALGORITHMS[final.estimator]
        names = ", ".join(task.name for task in (scaler, *rest))
        start = time.perf_counter()
        spark = get_session()
        with (
            spark_errors("fitting the pipeline"),
            quiet_pandas(),
            JobTracker(spark, f"Pipeline({names})") as jobs,
        ):
            prepared = prepare(
                spark,
                dataset,
                label=algorithm.label,
                class_weight=final.params.get("class_weight") if algorithm.weights else None,
                moments=algorithm.moments or pca is not None,
                cache=True,
                max_abs=algorithm.max_abs,
            )
            checked = time.perf_counter()
            p = prepared.n_features
            try:
                final.check_target(prepared.classes)
                scaler_state, _ = ALGORITHMS[scaler.estimator].fit(
                    spark, scaler.params, prepared, prepared.frame, FEATURES, p
                )
                after = scaled(
                    prepared, scaler.name, scaler.params, scaler_state, centre=pca is not None
                )
                if pca is None:
                    pca_state, k = None, p
                    final_state, info = algorithm.fit(
                        spark, final.params, after, after.frame, FEATURES, p
                    )
                else:
                    pca_state, final_state, info, k = self._fit_pca_then(
                        spark, pca, final, after, algorithm
                    )
            finally:
                release(prepared)
        transform = scaler.fitted(scaler_state, p).transform
        if pca_state is not None:
            scale, project = transform, partial(_project, pca_state)

            def transform(X: np.ndarray) -> np.ndarray:
                return project(scale(X))

        algorithm.finish(final_state, info, dataset, transform)
        done = time.perf_counter()
        info["data_check"] = "own job"
        stats = _stats(spark, prepared.n_rows, jobs, start, checked, done, info)
        steps = [FitResult(scaler_state, stats)]
        if pca_state is not None:
            steps.append(FitResult(pca_state, stats, n_features=p))
        steps.append(FitResult(final_state, stats, n_features=k))
        return PipelineResult(steps, stats)

    @staticmethod
    def _fit_pca_then(
        spark: Any, pca: FitTask, final: FitTask, prepared: Any, algorithm: Algorithm
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:
        """Fit PCA then ``final``: (PCA state, final state, info, components kept)."""
        final_name = final.name
        pca_params, final_params = pca.params, final.params
        pca_algorithm = ALGORITHMS[PCA]
        p = prepared.n_features
        k = pca_algorithm.k(pca_params, prepared.n_rows, p)
        pca_stage = pca_algorithm.stage(pca_params, prepared, FEATURES, p)
        pca_model = pca_stage.fit(prepared.frame)
        frame = pca_model.transform(prepared.frame)
        pca_state = pca_algorithm.state(pca_model, pca_params, prepared, p)
        check_pca_output(frame, pca_state, final_name, prepared.source)
        if final_name == "KMeans":
            final_state, info = algorithm.fit(spark, final_params, prepared, frame, PCA_OUTPUT, k)
        else:
            frame, features = _zero_degenerate(frame, pca_model)
            final_model = algorithm.stage(final_params, prepared, features, k).fit(frame)
            final_state = algorithm.state(final_model, final_params, prepared, k)
            info = algorithm.info(final_model)
        algorithm.flip_features(final_state, PCAAlgorithm.signs(pca_model), final_name)
        return pca_state, final_state, info, k

    def _check_pipeline(self, tasks: list[FitTask], fit_params: dict[str, Any]) -> None:
        if fit_params:
            raise UnsupportedOnBackend(
                f"Pipeline.fit({', '.join(fit_params)}=...) is not supported by backend 'spark'"
            )
        if len(tasks) == 1:
            return
        names = [task.name for task in tasks]
        supported = (
            "one estimator, or PCA followed by one of "
            f"{', '.join(AFTER_PCA)} (PCA with an int or None n_components), each "
            "optionally after a StandardScaler or MinMaxScaler"
        )
        rest = tasks[1:] if names[0] in SCALERS else tasks
        later = [task.name for task in rest]
        if len(rest) == 1 and later[0] not in SCALERS:
            return
        if len(rest) != 2 or later[0] != "PCA" or later[1] not in AFTER_PCA:
            raise UnsupportedOnBackend(
                f"Pipeline({' -> '.join(names)}) is not supported by backend 'spark'; "
                f"supported: {supported}"
            )
        n_components = rest[0].params.get("n_components")
        if isinstance(n_components, float):
            raise UnsupportedOnBackend(
                f"PCA(n_components={n_components!r}) inside a Pipeline is not supported by "
                f"backend 'spark'; supported: {supported}"
            )

    # -------------------------------------------------------------- predict
    def predict_frame(
        self, estimator: ScaleoutEstimator, method: str, sdf: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """``estimator.<method>`` on a Spark DataFrame, distributed (see :mod:`.predict`).

        Returns
        -------
        pyspark.sql.DataFrame
            ``sdf``'s columns plus the output column(s).
        """
        from .predict import predict_frame

        with spark_errors(f"preparing {type(estimator).__name__}.{method}"), quiet_pandas():
            return predict_frame(estimator, method, sdf, *args, **kwargs)


#: A PCA component whose variance is at most this share of the first one's is
#: numerically zero (rounding noise of a rank-deficient covariance).
DEGENERATE_VARIANCE = 1e-12


def _zero_degenerate(frame: Any, pca_model: Any) -> tuple[Any, str]:
    """``frame`` with the numerically zero PCA components set to exactly 0.

    MLlib's linear models scale every feature by its standard deviation inside
    the optimiser: a component of rounding noise (std ~1e-16, as the last
    components of rank-deficient data) blows the scaled problem up and L-BFGS
    fails ("Line search zoom failed", all-zero coefficients). An exactly
    constant feature is skipped by MLlib (coefficient 0), which is also what
    scikit-learn's solution gives such a component (up to rounding noise).
    Returns the frame and the vector column the final step reads.
    """
    ratio = np.asarray(pca_model.explainedVariance.toArray())
    keep = ratio > DEGENERATE_VARIANCE * ratio[0] if ratio.size else ratio.astype(bool)
    if keep.all():
        return frame, PCA_OUTPUT
    from pyspark.ml.feature import ElementwiseProduct
    from pyspark.ml.linalg import Vectors

    masked = PCA_OUTPUT + "_kept"
    product = ElementwiseProduct(
        scalingVec=Vectors.dense(keep.astype(float)), inputCol=PCA_OUTPUT, outputCol=masked
    )
    return product.transform(frame), masked


def _project(pca_state: dict[str, Any], X: Any) -> Any:
    """Rows through a fitted (non-whitening) PCA step: centred, onto the components."""
    return (X - pca_state["mean_"]) @ pca_state["components_"].T


def _stats(
    spark: Any,
    rows: int,
    jobs: JobTracker,
    start: float,
    checked: float,
    done: float,
    info: dict[str, Any],
) -> dict[str, Any]:
    return {
        "rows": int(rows),
        "passes": int(jobs.jobs),
        "spark_jobs": int(jobs.jobs),
        **{k: v for k, v in info.items() if isinstance(v, (int, float, str))},
        "prepare_seconds": checked - start,
        "fit_seconds": done - checked,
        "seconds": done - start,
        "spark_master": str(spark.sparkContext.master),
    }


def _stop_other_session(master: str) -> None:
    """Stop an active Spark session on another master (one SparkContext per process)."""
    if "pyspark" not in sys.modules:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None and session.sparkContext.master != master:
        session.stop()
