"""Save and load fitted models: JSON + NumPy arrays in one zip file, no pickle.

Format (``format_version`` 1), documented in ``docs/model-format.md``::

    model.scaleout  (a zip archive)
    ├── model.json        what the model is: class, parameters, scalar
    │                     attributes, backend, fit stats, array references
    └── arrays/<n>.npy    every array, in NumPy's .npy format (never object dtype)

Loading treats the file as untrusted input: it builds only registered
scaleout classes, never unpickles, reads within size and depth limits
(:mod:`scaleout.model_archive`) and checks every value against the class's
schema (:mod:`scaleout.model_schema`, :mod:`scaleout.model_reader`) before any
use, so a hostile or damaged file gives a ``ModelFileError``, never a crash.
Saving writes a temporary file beside the target and renames it, so a crash
never leaves a half-written model; an fsspec URL (``s3://...``) is written
locally first and then uploaded (:mod:`scaleout.storage`).
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from typing import Any

import numpy as np

from ._sktree import tree_arrays
from .exceptions import ModelFileError, ScaleoutError
from .model_archive import ModelArchive, ModelFileLimits
from .model_reader import ModelReader

FORMAT_NAME = "scaleout-model"
FORMAT_VERSION = 1
_UNSAVED_ATTRS = {"labels_"}  # as long as the training data: not part of the model


def _estimator_classes() -> dict[str, type]:
    from .registry import estimator_classes

    return estimator_classes()


class _Writer:
    """Collects arrays while encoding a model description to JSON values."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def add_array(self, array: np.ndarray) -> dict[str, Any]:
        member = f"arrays/{len(self.arrays)}.npy"
        entry: dict[str, Any] = {"__array__": member}
        if array.dtype == object:
            if not all(isinstance(v, str) for v in array.ravel()):
                raise ScaleoutError(
                    "cannot save an object array that holds non-string values "
                    f"(first types: {sorted({type(v).__name__ for v in array.ravel()[:10]})})"
                )
            array = array.astype(str)
            entry["dtype"] = "object"
        # keep the memory order (F or C): matmuls on it are then bit-identical
        self.arrays[member] = array if array.flags.f_contiguous else np.ascontiguousarray(array)
        return entry

    def encode(self, value: Any) -> Any:
        from sklearn.base import BaseEstimator
        from sklearn.tree._tree import Tree

        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, type) and issubclass(value, np.generic):  # a dtype parameter
            return {"__dtype__": np.dtype(value).name}
        if isinstance(value, BaseEstimator):  # an unfitted step in a parameter
            return {"__estimator__": self.encode_estimator(value)}
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, (float, np.floating)):
            value = float(value)
            return value if math.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.ndarray):
            return self.add_array(value)
        if isinstance(value, Tree):
            return {"__tree__": self.encode_tree(value)}
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"__dict__": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise ScaleoutError(
            f"cannot save a value of type {type(value).__name__} without pickle: {value!r}"
        )

    def encode_estimator(self, estimator: Any) -> list[Any]:
        """``[class name, parameters]`` of a registered scaleout estimator (a ColumnTransformer's
        branches): its class must be registered, as for a model."""
        name = type(estimator).__name__
        classes = _estimator_classes()
        if classes.get(name) is not type(estimator):
            raise ScaleoutError(
                f"{type(estimator).__module__}.{name} is not a scaleout estimator; only "
                "scaleout estimators can be saved without pickle"
            )
        params = estimator.get_params(deep=False)
        return [name, {k: self.encode(v) for k, v in params.items()}]

    def encode_tree(self, tree: Any) -> dict[str, Any]:
        arrays = tree_arrays(tree)
        return {
            "n_features": arrays["n_features"],
            "n_classes": self.add_array(arrays["n_classes"]),
            "max_depth": arrays["max_depth"],
            "nodes": {name: self.add_array(a) for name, a in arrays["nodes"].items()},
            "values": self.add_array(arrays["values"]),
        }


def _describe(model: Any, writer: _Writer) -> dict[str, Any]:
    from .pipeline import Pipeline

    name = type(model).__name__
    if name not in _estimator_classes() or type(model) is not _estimator_classes()[name]:
        raise ScaleoutError(
            f"{name} is not a scaleout estimator; only scaleout estimators and pipelines of "
            f"them can be saved without pickle (supported: {sorted(_estimator_classes())})"
        )
    if isinstance(model, Pipeline):
        params = {"backend": model.backend, "verbose": model.verbose}
        steps = [{"name": n, "estimator": _describe(step, writer)} for n, step in model.steps]
        body: dict[str, Any] = {"class": name, "params": params, "steps": steps}
    else:
        model._check_is_fitted()
        params = {k: writer.encode(v) for k, v in model.get_params(deep=False).items()}
        attributes = {
            attr: writer.encode(getattr(model, attr))
            for attr in (*model._fitted_attrs, "n_features_in_", "feature_names_in_")
            if attr not in _UNSAVED_ATTRS and hasattr(model, attr)
        }
        body = {"class": name, "params": params, "attributes": attributes}
    if hasattr(model, "backend_"):
        body["backend_"] = model.backend_
        body["fit_stats_"] = writer.encode(dict(model.fit_stats_))
    return body


def save(
    model: Any,
    path: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
) -> str:
    """Save a fitted scaleout model to ``path`` atomically.

    Parameters
    ----------
    model : scaleout estimator or Pipeline
        A fitted model.
    path : str or path-like
        Destination file (conventionally ``*.scaleout``): a local path or an
        fsspec URL such as ``s3://bucket/models/m.scaleout``.
    storage_options : dict, optional
        Passed to the fsspec filesystem of a URL (credentials, endpoint, ...).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    ScaleoutError
        For a model that holds something that cannot be saved without pickle
        (e.g. a non-scaleout step in a pipeline).
    StorageError
        When a URL's filesystem is unavailable or the upload fails.

    Notes
    -----
    A local file is written beside the target and renamed over it; a URL is
    written to a local temporary file and then uploaded (see
    :mod:`scaleout.storage`), so readers never see a partial model.
    """
    from . import __version__
    from .storage import local_output

    path = os.fspath(path)
    writer = _Writer()
    document = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "scaleout_version": __version__,
        "model": _describe(model, writer),
    }
    text = json.dumps(document, indent=1, allow_nan=False)
    with (
        local_output(path, suffix=".scaleout", storage_options=storage_options) as tmp,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf,
    ):
        zf.writestr("model.json", text)
        for member, array in writer.arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            zf.writestr(member, buffer.getvalue())
    return path


def load(
    path: str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
    limits: ModelFileLimits | None = None,
) -> Any:
    """Load a model saved by :func:`save`; needs no engine but NumPy/scikit-learn.

    The file is untrusted input: its size, its zip members, the depth of its
    JSON and every array (dtype, shape, values, a tree's structure) are
    checked against the estimator's schema before any of it is used (see
    ``docs/model-format.md``).

    Parameters
    ----------
    path : str or path-like
        A ``.scaleout`` file: a local path or an fsspec URL
        (``s3://bucket/models/m.scaleout``; read whole into memory).
    storage_options : dict, optional
        Passed to the fsspec filesystem of a URL.
    limits : ModelFileLimits, optional
        Bounds on decompressed sizes, array elements and JSON depth; the
        defaults (:class:`~scaleout.model_archive.ModelFileLimits`) hold real
        models and refuse decompression bombs.

    Returns
    -------
    estimator or Pipeline
        The fitted model, ready to ``predict``.

    Raises
    ------
    ModelFileError
        For a file that is missing, not a scaleout model, corrupt, over a
        limit, of a format version this scaleout does not read, or holding
        anything that does not fit the estimator's schema. The message names
        the file, the attribute or array and what is wrong. A subclass of
        :class:`~scaleout.exceptions.ModelFormatError`.
    """
    from .storage import is_url, local_path, read_bytes

    path = os.fspath(path)
    limits = limits or ModelFileLimits()
    source: Any = local_path(path)
    if is_url(path):
        try:
            data = read_bytes(path, storage_options)
        except FileNotFoundError:
            raise ModelFileError(f"no model file at {path!r}") from None
        source, size = io.BytesIO(data), len(data)
    elif not os.path.isfile(source):
        raise ModelFileError(f"no model file at {path!r}")
    else:
        size = os.path.getsize(source)
    with ModelArchive(source, path, size, limits) as archive:
        document = archive.document()
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise archive.error(f"is not a scaleout model file (format is not {FORMAT_NAME!r})")
        version = document.get("format_version")
        if version != FORMAT_VERSION:
            raise archive.error(
                f"has format_version {version!r:.40}; this scaleout reads version "
                f"{FORMAT_VERSION}. Use the scaleout version that wrote it "
                f"({str(document.get('scaleout_version', 'unknown'))[:40]})."
            )
        unknown = sorted(set(document) - {"format", "format_version", "scaleout_version", "model"})
        if unknown:
            raise archive.error(f"model.json has unknown keys {unknown}")
        model, _, _ = ModelReader(archive, _estimator_classes()).build(document.get("model"))
        return model
