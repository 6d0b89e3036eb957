"""Predict / transform a Spark DataFrame where it lives.

The fitted model is plain NumPy, so it ships to the executors inside the
function given to ``mapInArrow``: every Arrow batch is converted to a NumPy
array and passed to the equivalent scikit-learn estimator
(``estimator.to_sklearn()``), exactly as a local ``predict`` would. The
result is a Spark DataFrame: the input's columns plus the output columns.
Nothing runs until a Spark action (``count``, ``write``, ``toArrow``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ...exceptions import DataError, UnsupportedOnBackend
from ...registry import implementation
from .data import is_vector_type

if TYPE_CHECKING:
    from ...base import ScaleoutEstimator

__all__ = ["OUTPUT_COLUMNS", "predict_frame"]

#: Output column(s) of each method; ``transform`` uses the estimator's feature names out.
OUTPUT_COLUMNS = {
    "predict": "prediction",
    "predict_proba": "probability",
    "predict_log_proba": "log_probability",
    "decision_function": "decision_function",
    "score_samples": "score_samples",
    "apply": "leaf",
}

_VECTOR = "__so_vector"


def _feature_columns(estimator: ScaleoutEstimator, sdf: Any) -> tuple[list[str] | None, str | None]:
    """(feature column names, or None) and (a vector column, or None) of ``sdf``."""
    names = list(sdf.schema.fieldNames())
    types = {f.name: f.dataType for f in sdf.schema.fields}
    p = int(estimator.n_features_in_)
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None:
        missing = [n for n in fitted if n not in names]
        if not missing:
            return [str(n) for n in fitted], None
        raise DataError(
            f"The feature names should match those that were passed during fit: the Spark "
            f"DataFrame has no column(s) {missing[:5]}; columns: {names[:30]}"
        )
    vectors = [n for n in names if is_vector_type(types[n])]
    if len(vectors) == 1:
        return None, vectors[0]
    produced = _transform_output(names, p)
    if produced is not None:  # a previous step's transform output (a pipeline's PCA)
        return produced, None
    default = [f"x{j}" for j in range(p)]
    if all(n in names for n in default):
        return default, None
    from pyspark.sql import types as T

    numeric = [n for n in names if isinstance(types[n], (T.NumericType, T.BooleanType))]
    if len(numeric) == p:
        return numeric, None
    raise DataError(
        f"cannot tell which columns of the Spark DataFrame are the {p} features: it has "
        f"{len(numeric)} numeric columns {numeric[:10]} and {len(vectors)} vector columns; "
        "select the feature columns (in the order used in fit) or pass one vector column"
    )


def _transform_output(names: list[str], p: int) -> list[str] | None:
    """The last ``p`` columns when they are one ``transform`` output: ``pca0 .. pca{p-1}``."""
    import re

    if len(names) < p:
        return None
    last = names[len(names) - p :]
    match = re.fullmatch(r"(.*?)0", last[0])
    if match is None:
        return None
    prefix = match.group(1)
    return last if last == [f"{prefix}{j}" for j in range(p)] else None


def _output_fields(estimator: Any, method: str, local: Any, classes: Any) -> list[Any]:
    """Spark fields of the method's output (one column, or one per transformed feature)."""
    from pyspark.sql import types as T

    if method == "transform":
        names = [str(n) for n in local.get_feature_names_out()]
        if names == [f"x{j}" for j in range(len(names))] and not hasattr(local, "components_"):
            # a one-to-one transformer (a scaler) names its outputs as its inputs: on a
            # frame that holds those columns, name them as a PCA's (standardscaler0, ...)
            prefix = type(estimator).__name__.lower()
            names = [f"{prefix}{j}" for j in range(len(names))]
        return [T.StructField(n, T.DoubleType()) for n in names]
    name = OUTPUT_COLUMNS[method]
    if method in ("predict_proba", "predict_log_proba"):
        return [T.StructField(name, T.ArrayType(T.DoubleType(), containsNull=False))]
    if method == "decision_function" and classes is not None and len(classes) > 2:
        return [T.StructField(name, T.ArrayType(T.DoubleType(), containsNull=False))]
    if method == "apply":
        return [T.StructField(name, T.LongType())]
    if method == "predict" and classes is not None:
        return [T.StructField(name, _label_type(np.asarray(classes)))]
    if method == "predict" and _integer_predict(estimator):
        return [T.StructField(name, T.IntegerType())]
    return [T.StructField(name, T.DoubleType())]


def _integer_predict(estimator: Any) -> bool:
    """Whether the Spark implementation of the estimator's class declares integer
    predictions (KMeans' cluster indices)."""
    algorithm = implementation("spark", type(estimator))
    return bool(getattr(algorithm, "integer_predict", False))


def _label_type(classes: np.ndarray) -> Any:
    from pyspark.sql import types as T

    if classes.dtype.kind == "b":
        return T.BooleanType()
    if classes.dtype.kind in "iu":
        return T.LongType()
    if classes.dtype.kind == "f":
        return T.DoubleType()
    return T.StringType()


def _to_arrow(values: np.ndarray, fields: list[Any]) -> list[pa.Array]:
    from pyspark.sql import types as T

    if len(fields) > 1 or (values.ndim == 2 and not isinstance(fields[0].dataType, T.ArrayType)):
        return [
            pa.array(np.ascontiguousarray(values[:, j]), type=pa.float64())
            for j in range(values.shape[1])
        ]
    field = fields[0]
    if isinstance(field.dataType, T.ArrayType):
        flat = pa.array(np.ascontiguousarray(values, dtype=np.float64).ravel())
        offsets = pa.array(np.arange(0, values.size + 1, values.shape[1], dtype=np.int32))
        return [pa.ListArray.from_arrays(offsets, flat)]
    if isinstance(field.dataType, T.StringType):
        return [pa.array([str(v) for v in values.tolist()], type=pa.string())]
    if isinstance(field.dataType, T.BooleanType):
        return [pa.array(values.astype(bool))]
    if isinstance(field.dataType, T.LongType):
        return [pa.array(values.astype(np.int64))]
    if isinstance(field.dataType, T.IntegerType):
        return [pa.array(values.astype(np.int32))]
    return [pa.array(values.astype(np.float64))]


def _batch_features(batch: pa.RecordBatch, columns: list[str] | None, p: int) -> np.ndarray:
    if columns is None:
        vectors = batch.column(_VECTOR)
        if vectors.null_count:
            raise DataError("Input X contains a missing (null) vector")
        values = vectors.flatten().to_numpy(zero_copy_only=False)
        if values.size != batch.num_rows * p:
            raise DataError(f"the vectors must all have {p} entries")
        return values.reshape(batch.num_rows, p)
    X = np.empty((batch.num_rows, len(columns)), dtype=np.float64, order="F")
    for j, name in enumerate(columns):
        column = batch.column(name)
        if column.null_count:
            raise DataError(f"Input X contains missing (null) values in column {name!r}")
        X[:, j] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return X


def predict_frame(
    estimator: ScaleoutEstimator, method: str, sdf: Any, *args: Any, **kwargs: Any
) -> Any:
    """Apply ``estimator.<method>`` to a Spark DataFrame, distributed.

    Parameters
    ----------
    estimator : ScaleoutEstimator
        A fitted scaleout estimator (any engine fitted it).
    method : str
        "predict", "predict_proba", "predict_log_proba", "decision_function",
        "transform", "score_samples" or "apply".
    sdf : pyspark.sql.DataFrame
        Holds the feature columns: the names seen in ``fit``; else one
        vector column; else its last columns when they are the output of
        another ``transform`` (``pca0..``: so a fitted ``Pipeline`` predicts
        on a Spark DataFrame); else ``x0..``; else its only numeric columns.

    Returns
    -------
    pyspark.sql.DataFrame
        ``sdf``'s columns plus ``prediction`` / ``probability`` (array of
        float, columns ordered as ``classes_``) / ``log_probability`` /
        ``decision_function`` / ``score_samples`` / ``leaf``, or, for
        ``transform``, one float column per output feature named as
        ``get_feature_names_out()`` (``pca0, pca1, ...``; a scaler's, whose
        outputs would take its inputs' default names ``x0, ...``:
        ``standardscaler0, ...``).

    Raises
    ------
    UnsupportedOnBackend
        For a method with extra arguments or whose result is not one value
        per row (``score``, ``decision_path``).
    DataError
        When the feature columns cannot be found. Bad values (NaN, nulls)
        are reported by the Spark action that runs the prediction.
    """
    import sklearn

    # the equivalent scikit-learn estimator (NotFittedError when not fitted); the rows reach
    # it as NumPy batches, so without the column names it was fitted with
    local = estimator.to_sklearn()
    local.__dict__.pop("feature_names_in_", None)
    if (method not in OUTPUT_COLUMNS and method != "transform") or args or kwargs:
        raise UnsupportedOnBackend(
            f"{type(estimator).__name__}.{method}(...) on a Spark DataFrame is not supported; "
            f"supported: {sorted([*OUTPUT_COLUMNS, 'transform'])} without extra arguments "
            "(collect the rows with toArrow() or toPandas() for the others)"
        )
    columns, vector = _feature_columns(estimator, sdf)
    classes = getattr(estimator, "classes_", None)
    fields = _output_fields(estimator, method, local, classes)
    taken = set(sdf.schema.fieldNames())
    clash = [f.name for f in fields if f.name in taken]
    if clash:
        raise DataError(
            f"the Spark DataFrame already has column(s) {clash}; drop or rename them before "
            f"{method}"
        )
    frame = sdf
    if vector is not None:
        from pyspark.ml.functions import vector_to_array
        from pyspark.sql import functions as F

        frame = sdf.withColumn(_VECTOR, vector_to_array(F.col(f"`{vector}`")))
    p = int(estimator.n_features_in_)
    from pyspark.sql import types as T

    schema = T.StructType([*sdf.schema.fields, *fields])
    kept = list(sdf.schema.fieldNames())

    def apply(batches: Any) -> Any:
        for batch in batches:
            X = _batch_features(batch, columns, p)
            with sklearn.config_context(assume_finite=False):
                values = np.asarray(getattr(local, method)(X))
            arrays = [batch.column(name) for name in kept]
            arrays += _to_arrow(values, fields)
            yield pa.RecordBatch.from_arrays(arrays, names=[f.name for f in schema.fields])

    return frame.mapInArrow(apply, schema)
