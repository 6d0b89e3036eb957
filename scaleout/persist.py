"""Save and load fitted models: JSON + NumPy arrays in one zip file, no pickle.

Format (``format_version`` 1), documented in ``docs/model-format.md``::

    model.scaleout  (a zip archive)
    ├── model.json        what the model is: class, parameters, scalar
    │                     attributes, backend, fit stats, array references
    └── arrays/<n>.npy    every array, in NumPy's .npy format (never object dtype)

Loading reads JSON and ``.npy`` with ``allow_pickle=False`` and builds only
classes from scaleout's own whitelist, so an untrusted file cannot run code.
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

from ._sktree import build_tree, tree_arrays
from .exceptions import ModelFormatError, ScaleoutError

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
        from sklearn.tree._tree import Tree

        if value is None or isinstance(value, (bool, str)):
            return value
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

    def encode_tree(self, tree: Any) -> dict[str, Any]:
        arrays = tree_arrays(tree)
        return {
            "n_features": arrays["n_features"],
            "n_classes": self.add_array(arrays["n_classes"]),
            "max_depth": arrays["max_depth"],
            "nodes": {name: self.add_array(a) for name, a in arrays["nodes"].items()},
            "values": self.add_array(arrays["values"]),
        }


class _Reader:
    """Decodes JSON values written by :class:`_Writer`, reading arrays lazily."""

    def __init__(self, archive: zipfile.ZipFile, path: str) -> None:
        self.archive = archive
        self.path = path

    def array(self, entry: dict[str, Any]) -> np.ndarray:
        member = entry["__array__"]
        try:
            with self.archive.open(member) as handle:
                array = np.lib.format.read_array(io.BytesIO(handle.read()), allow_pickle=False)
        except KeyError:
            raise ModelFormatError(f"{self.path!r}: missing array member {member!r}") from None
        except ValueError as exc:
            raise ModelFormatError(
                f"{self.path!r}: array {member!r} is unreadable: {exc}"
            ) from None
        return array.astype(object) if entry.get("dtype") == "object" else array

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__array__" in value:
            return self.array(value)
        if "__float__" in value:
            return float(value["__float__"])
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {self.decode(k): self.decode(v) for k, v in value["__dict__"]}
        if "__tree__" in value:
            return self.tree(value["__tree__"])
        raise ModelFormatError(f"{self.path!r}: unknown value encoding {sorted(value)}")

    def tree(self, spec: dict[str, Any]) -> Any:
        nodes = {name: self.array(entry) for name, entry in spec["nodes"].items()}
        try:
            return build_tree(
                spec["n_features"],
                self.array(spec["n_classes"]),
                nodes,
                self.array(spec["values"]),
                spec["max_depth"],
            )
        except ValueError as exc:
            raise ModelFormatError(f"{self.path!r}: invalid tree: {exc}") from None


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


def _build(body: dict[str, Any], reader: _Reader) -> Any:
    classes = _estimator_classes()
    name = body.get("class")
    if name not in classes:
        raise ModelFormatError(
            f"{reader.path!r}: unknown model class {name!r}; expected one of {sorted(classes)}"
        )
    cls = classes[name]
    if name == "Pipeline":
        steps = [(step["name"], _build(step["estimator"], reader)) for step in body["steps"]]
        model = cls(steps, **body.get("params", {}))
    else:
        params = {k: reader.decode(v) for k, v in body.get("params", {}).items()}
        try:
            model = cls(**params)
            model._validate_params()
        except (TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"{reader.path!r}: invalid parameters for {name}: {exc}"
            ) from None
        attributes = body.get("attributes", {})
        missing = [a for a in (*cls._required_attrs, "n_features_in_") if a not in attributes]
        if missing:
            raise ModelFormatError(
                f"{reader.path!r}: {name} is missing fitted attributes {missing}"
            )
        for attr, value in attributes.items():
            setattr(model, attr, reader.decode(value))
    if "backend_" in body:
        model.backend_ = body["backend_"]
        model.fit_stats_ = reader.decode(body.get("fit_stats_", {}))
    return model



def load(path: str | os.PathLike[str], *, storage_options: dict[str, Any] | None = None) -> Any:
    """Load a model saved by :func:`save`; needs no engine but NumPy/scikit-learn.

    Parameters
    ----------
    path : str or path-like
        A ``.scaleout`` file: a local path or an fsspec URL
        (``s3://bucket/models/m.scaleout``; read whole into memory).
    storage_options : dict, optional
        Passed to the fsspec filesystem of a URL.

    Returns
    -------
    estimator or Pipeline
        The fitted model, ready to ``predict``.

    Raises
    ------
    ModelFormatError
        For a file that is not a scaleout model, is corrupt, or has a format
        version this scaleout does not read.
    """
    from .storage import is_url, local_path, read_bytes

    path = os.fspath(path)
    source: Any = local_path(path)
    if is_url(path):
        try:
            source = io.BytesIO(read_bytes(path, storage_options))
        except FileNotFoundError:
            raise ModelFormatError(f"no model file at {path!r}") from None
    elif not os.path.isfile(source):
        raise ModelFormatError(f"no model file at {path!r}")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFormatError(
            f"{path!r} is not a scaleout model file (not a zip archive: {exc})"
        ) from None
    with archive:
        try:
            document = json.loads(archive.read("model.json"))
        except KeyError:
            raise ModelFormatError(
                f"{path!r} is not a scaleout model file (no model.json)"
            ) from None
        except (ValueError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(f"{path!r}: model.json is corrupt: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise ModelFormatError(
                f"{path!r} is not a scaleout model file (format is not {FORMAT_NAME!r})"
            )
        version = document.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelFormatError(
                f"{path!r} has format_version {version!r}; this scaleout reads version "
                f"{FORMAT_VERSION}. Use the scaleout version that wrote it "
                f"({document.get('scaleout_version', 'unknown')})."
            )
        try:
            return _build(document["model"], _Reader(archive, path))
        except (KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise ModelFormatError(f"{path!r}: model description is corrupt: {exc!r}") from None
