"""Pipeline specifications: a small JSON or YAML document naming the steps, columns and parameters.

A job file, ``scaleout fit --pipeline`` and ``scaleout job --pipeline`` describe
a preprocessing + model pipeline with it, so a job runs on a cluster or on EMR
exactly as the same pipeline written in Python::

    backend: auto                # optional
    steps:
      - ColumnTransformer:
          transformers:
            - name: num
              columns: [bill_length_mm, body_mass_g]
              steps: [{SimpleImputer: {strategy: median}}, {StandardScaler: {}}]
            - name: cat
              columns: [island, sex]
              steps: [{OneHotEncoder: {handle_unknown: ignore}}]
            - name: extra
              columns: [year]
              steps: passthrough   # or drop
          remainder: drop
      - LogisticRegression: {C: 1.0}

Each step is a mapping of one class name to its parameters. Several steps make
``so.make_pipeline(*steps, backend=...)``; one step is the estimator itself.
The class names are looked up in scaleout's registry
(:func:`scaleout.registry.estimator_classes`) and nowhere else: a document
never imports a module or evaluates anything, so one from an untrusted job file
can build only registered estimators with checked parameter names. A class
with a ``transformers`` parameter (``ColumnTransformer``) takes the nested form
above: each transformer is ``name``, ``columns`` (column names) and ``steps``
(one step: the estimator; several: a pipeline; or ``passthrough`` / ``drop``).

:func:`pipeline_to_spec` is the inverse, for a pipeline of registered classes
(non-default parameters only).
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .exceptions import InvalidParameterError, ScaleoutError

__all__ = [
    "PipelineSpecError",
    "build_pipeline",
    "is_inline_spec",
    "load_pipeline_spec",
    "pipeline_from_spec",
    "pipeline_to_spec",
]

#: Keys of the document.
DOC_KEYS = ("backend", "steps")
#: Keys of one transformer of a ``ColumnTransformer`` step.
TRANSFORMER_KEYS = ("name", "columns", "steps")
#: What a transformer's ``steps`` may be instead of steps.
PASSTHROUGH = ("passthrough", "drop")
#: Largest spec file or inline document read (bytes).
MAX_SPEC_BYTES = 1 << 20
#: Most values (mappings, lists and scalars, YAML aliases expanded) a document may hold.
MAX_SPEC_VALUES = 10_000


class PipelineSpecError(InvalidParameterError):
    """A pipeline specification that cannot be read or built.

    The message names the document (file or ``<inline>``) and the place in it
    (``steps[1].LogisticRegression``) and what is expected there. An
    :class:`~scaleout.exceptions.InvalidParameterError`, hence a ``ValueError``.
    """


# ------------------------------------------------------------------ reading


def is_inline_spec(text: str) -> bool:
    """Whether a ``--pipeline`` value is a JSON document itself rather than a path or URL."""
    return text.lstrip().startswith("{")


def _yaml(name: str) -> Any:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML is in the dev environment
        raise ScaleoutError(
            f"pipeline spec {name}: reading YAML needs PyYAML (pip install pyyaml, or "
            "pip install 'scaleout[yaml]'); or write the spec as JSON"
        ) from None
    return yaml


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _parse(text: str, name: str, kind: str) -> Any:
    if len(text.encode("utf-8", errors="replace")) > MAX_SPEC_BYTES:
        raise PipelineSpecError(f"pipeline spec {name} is over {MAX_SPEC_BYTES} bytes")
    if kind == "json":
        try:
            return json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise PipelineSpecError(
                f"pipeline spec {name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                f"column {exc.colno}"
            ) from None
        except ValueError as exc:  # a duplicate key
            raise PipelineSpecError(f"pipeline spec {name} is not valid JSON: {exc}") from None
        except RecursionError:
            raise PipelineSpecError(f"pipeline spec {name} is nested too deeply") from None
    yaml = _yaml(name)
    try:
        return yaml.safe_load(text)  # safe_load: plain data only, never a Python object
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntax error"
        raise PipelineSpecError(
            f"pipeline spec {name} is not valid YAML: {problem}{where}"
        ) from None
    except yaml.YAMLError as exc:
        raise PipelineSpecError(f"pipeline spec {name} is not valid YAML: {exc}") from None
    except RecursionError:
        raise PipelineSpecError(f"pipeline spec {name} is nested too deeply") from None


def _kind(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    raise PipelineSpecError(
        f"pipeline spec file {path!r}: the name must end in .json, .yaml or .yml"
    )


def _count_values(doc: Any, name: str) -> None:
    """Refuse a document of more than MAX_SPEC_VALUES values (a YAML alias bomb included)."""
    count = 0
    stack = [doc]
    while stack:
        value = stack.pop()
        count += 1
        if count > MAX_SPEC_VALUES:
            raise PipelineSpecError(
                f"pipeline spec {name} holds more than {MAX_SPEC_VALUES} values "
                "(YAML aliases expanded)"
            )
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def load_pipeline_spec(
    source: Mapping[str, Any] | str | os.PathLike[str],
    *,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Read a pipeline specification.

    Parameters
    ----------
    source : dict, str or path-like
        The document itself (a mapping, or JSON text starting with ``{``), or
        the path or fsspec URL of a ``.json``, ``.yaml`` or ``.yml`` file.
    storage_options : dict, optional
        fsspec options for a URL.

    Returns
    -------
    dict
        The document, checked to be a mapping of at most
        :data:`MAX_SPEC_VALUES` values (its steps are checked by
        :func:`build_pipeline`).

    Raises
    ------
    PipelineSpecError
        A missing file, a syntax error (with the file name, line and column),
        a document that is not a mapping.
    ScaleoutError
        A YAML file while PyYAML is not installed.
    """
    if isinstance(source, Mapping):
        doc: Any = source
        name = "<inline>"
    else:
        text_source = os.fspath(source)
        if is_inline_spec(text_source):
            name = "<inline>"
            doc = _parse(text_source, name, "json")
        else:
            from . import storage

            name = repr(text_source)
            kind = _kind(text_source)
            try:
                raw = storage.read_bytes(text_source, storage_options)
            except (FileNotFoundError, IsADirectoryError):
                raise PipelineSpecError(
                    f"pipeline spec file {text_source!r} does not exist"
                ) from None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise PipelineSpecError(
                    f"pipeline spec file {text_source!r} is not UTF-8 text"
                ) from None
            doc = _parse(text, name, kind)
    if not isinstance(doc, Mapping):
        raise PipelineSpecError(
            f"pipeline spec {name} must be a mapping with the key 'steps', "
            f"got {type(doc).__name__}"
        )
    _count_values(doc, name)
    return dict(doc)


# ------------------------------------------------------------------ building


def _param_defaults(cls: type) -> dict[str, Any]:
    """The constructor parameters of ``cls`` and their defaults (scikit-learn's rule)."""
    signature = inspect.signature(cls.__init__)  # type: ignore[misc]
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _classes() -> dict[str, type]:
    from .registry import estimator_classes

    return estimator_classes()


def _normalise(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Builder:
    """Builds the estimators of one document; ``name`` is the document, for the messages."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.classes = _classes()

    def error(self, where: str, message: str) -> PipelineSpecError:
        return PipelineSpecError(f"pipeline spec {self.name}: {where}: {message}")

    def lookup(self, class_name: Any, where: str) -> type:
        if isinstance(class_name, str):
            cls = self.classes.get(class_name)
            if cls is None:  # ``logistic_regression`` as on the command line
                by_key = {_normalise(n): c for n, c in self.classes.items()}
                cls = by_key.get(_normalise(class_name))
            if cls is not None:
                return cls
        known = [
            n
            for n, c in self.classes.items()
            if not getattr(c, "_composite", False) or "transformers" in _param_defaults(c)
        ]
        raise self.error(where, f"unknown class {class_name!r}; known: {', '.join(sorted(known))}")

    def one_step(self, item: Any, where: str) -> tuple[type, dict[str, Any], str]:
        """``{ClassName: {params}}`` → (class, params, location)."""
        if not (isinstance(item, Mapping) and len(item) == 1):
            raise self.error(
                where,
                "a step is a mapping of one class name to its parameters, e.g. "
                f"{{StandardScaler: {{}}}}; got {_short(item)}",
            )
        ((class_name, params),) = item.items()
        cls = self.lookup(class_name, where)
        where = f"{where}.{cls.__name__}"
        if params is None:  # ``- StandardScaler:`` in YAML
            params = {}
        if not isinstance(params, Mapping):
            raise self.error(
                where, f"the parameters must be a mapping, got {_short(params)}"
            )
        return cls, dict(params), where

    def step(self, item: Any, where: str) -> Any:
        cls, params, where = self.one_step(item, where)
        defaults = _param_defaults(cls)
        if "transformers" in defaults:
            return self.column_transformer(cls, params, defaults, where)
        if getattr(cls, "_composite", False):
            raise self.error(
                where, "a pipeline is not a step here; list its steps in 'steps' instead"
            )
        return self.construct(cls, params, defaults, where)

    def check_names(self, params: Mapping[str, Any], defaults: dict[str, Any], where: str) -> None:
        for key in params:
            if key not in defaults:
                raise self.error(
                    where, f"unknown parameter {key!r}; valid: {', '.join(sorted(defaults))}"
                )

    def construct(
        self, cls: type, params: dict[str, Any], defaults: dict[str, Any], where: str
    ) -> Any:
        self.check_names(params, defaults, where)
        for key, value in params.items():
            # JSON and YAML have no tuples: a list where the default is a tuple becomes one
            if isinstance(value, list) and isinstance(defaults[key], tuple):
                params[key] = tuple(value)
        try:
            estimator = cls(**params)
        except (TypeError, ValueError) as exc:
            raise self.error(where, str(exc)) from None
        validate = getattr(estimator, "_validate_params", None)
        if callable(validate):
            try:
                validate()  # scikit-learn's constraint table: values checked here, not at fit
            except (InvalidParameterError, ValueError, TypeError) as exc:
                raise self.error(where, str(exc).strip().splitlines()[0]) from None
        return estimator

    def steps_of(self, steps: Any, where: str) -> Any:
        """A transformer's ``steps``: one step → the estimator, several → a pipeline."""
        if isinstance(steps, str):
            if steps in PASSTHROUGH:
                return steps
            raise self.error(
                where, f"expected a list of steps, 'passthrough' or 'drop', got {steps!r}"
            )
        if isinstance(steps, Mapping):
            steps = [steps]
        if not isinstance(steps, list) or not steps:
            raise self.error(
                where,
                f"expected a list of steps, 'passthrough' or 'drop', got {_short(steps)}",
            )
        built = [self.step(item, f"{where}[{i}]") for i, item in enumerate(steps)]
        if len(built) == 1:
            return built[0]
        from .pipeline import make_pipeline

        return make_pipeline(*built)

    def column_transformer(
        self, cls: type, params: dict[str, Any], defaults: dict[str, Any], where: str
    ) -> Any:
        self.check_names(params, defaults, where)
        transformers = params.get("transformers")
        if not isinstance(transformers, list) or not transformers:
            raise self.error(
                f"{where}.transformers",
                "expected a list of transformers, each with 'name', 'columns' and 'steps'",
            )
        built = []
        names: set[str] = set()
        for i, entry in enumerate(transformers):
            at = f"{where}.transformers[{i}]"
            if not isinstance(entry, Mapping):
                raise self.error(
                    at, f"a transformer is a mapping with 'name', 'columns' and 'steps', "
                    f"got {_short(entry)}"
                )
            unknown = sorted(str(k) for k in entry if k not in TRANSFORMER_KEYS)
            if unknown:
                raise self.error(
                    at, f"unknown key {unknown[0]!r}; valid: {', '.join(TRANSFORMER_KEYS)}"
                )
            missing = [k for k in TRANSFORMER_KEYS if k not in entry]
            if missing:
                raise self.error(at, f"missing {', '.join(repr(k) for k in missing)}")
            name = entry["name"]
            if not isinstance(name, str) or not name:
                raise self.error(f"{at}.name", f"expected a non-empty string, got {_short(name)}")
            if name in names:
                raise self.error(f"{at}.name", f"duplicate transformer name {name!r}")
            names.add(name)
            columns = entry["columns"]
            if not (
                isinstance(columns, list)
                and columns
                and all(isinstance(c, str) for c in columns)
            ):
                raise self.error(
                    f"{at}.columns",
                    f"expected a non-empty list of column names (strings), got {_short(columns)}",
                )
            built.append((name, self.steps_of(entry["steps"], f"{at}.steps"), list(columns)))
        params["transformers"] = built
        remainder = params.get("remainder")
        if remainder is not None and not isinstance(remainder, str):
            params["remainder"] = self.steps_of(remainder, f"{where}.remainder")
        elif isinstance(remainder, str) and remainder not in PASSTHROUGH:
            raise self.error(
                f"{where}.remainder",
                f"expected 'passthrough', 'drop' or steps, got {remainder!r}",
            )
        return self.construct(cls, params, defaults, where)


def build_pipeline(
    spec: Mapping[str, Any], *, backend: str | None = None, name: str = "<inline>"
) -> Any:
    """Build the (unfitted) estimator a pipeline specification describes.

    Parameters
    ----------
    spec : dict
        The document (see the module docstring).
    backend : str, optional
        Overrides the document's ``backend``.
    name : str, default "<inline>"
        The document's name in error messages (e.g. the file).

    Returns
    -------
    estimator
        ``so.make_pipeline(*steps, backend=...)``, or the one step's estimator
        (with ``backend`` set when given).

    Raises
    ------
    PipelineSpecError
        Naming the place in the document: an unknown key, class or parameter,
        a parameter value scikit-learn's constraints refuse, a step that is not
        a one-key mapping, columns that are not a list of strings, ...
    """
    if not isinstance(spec, Mapping):
        raise PipelineSpecError(
            f"pipeline spec {name} must be a mapping with the key 'steps', "
            f"got {type(spec).__name__}"
        )
    unknown = sorted(str(k) for k in spec if k not in DOC_KEYS)
    if unknown:
        raise PipelineSpecError(
            f"pipeline spec {name}: unknown key {unknown[0]!r}; valid: {', '.join(DOC_KEYS)}"
        )
    if "steps" not in spec:
        raise PipelineSpecError(f"pipeline spec {name}: missing 'steps' (a list of steps)")
    steps = spec["steps"]
    if not isinstance(steps, list) or not steps:
        raise PipelineSpecError(
            f"pipeline spec {name}: 'steps' must be a non-empty list of steps, "
            f"got {_short(steps)}"
        )
    if backend is None:
        backend = spec.get("backend")
    if backend is not None and not isinstance(backend, str):
        raise PipelineSpecError(
            f"pipeline spec {name}: 'backend' must be a string such as 'auto', 'sklearn', "
            f"'dask' or 'spark', got {_short(backend)}"
        )
    builder = _Builder(name)
    built = [builder.step(item, f"steps[{i}]") for i, item in enumerate(steps)]
    if len(built) == 1:
        estimator = built[0]
        if backend is not None and "backend" in estimator.get_params(deep=False):
            estimator.set_params(backend=backend)
        return estimator
    from .pipeline import make_pipeline

    return make_pipeline(*built, backend=backend or "auto")


def pipeline_from_spec(
    source: Mapping[str, Any] | str | os.PathLike[str],
    *,
    backend: str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """Read and build a pipeline specification: :func:`load_pipeline_spec` then
    :func:`build_pipeline`.

    Parameters
    ----------
    source : dict, str or path-like
        The document, inline JSON text, or a ``.json`` / ``.yaml`` / ``.yml``
        path or URL.
    backend : str, optional
        Overrides the document's ``backend``.
    storage_options : dict, optional
        fsspec options for a URL.

    Returns
    -------
    estimator
    """
    doc = load_pipeline_spec(source, storage_options=storage_options)
    name = (
        "<inline>"
        if isinstance(source, Mapping) or is_inline_spec(os.fspath(source))
        else repr(os.fspath(source))
    )
    return build_pipeline(doc, backend=backend, name=name)


# ------------------------------------------------------------------ writing


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON/YAML data (tuples and arrays as lists, NumPy scalars as numbers)."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where)
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, Mapping) and all(isinstance(k, (str, int, float, bool)) for k in value):
        return {k: _plain(v, where) for k, v in value.items()}
    raise PipelineSpecError(
        f"{where}: a {type(value).__name__} cannot be written in a pipeline spec "
        "(numbers, strings, booleans, null, lists and mappings only)"
    )


def _registered(estimator: Any, where: str) -> type:
    cls = type(estimator)
    if _classes().get(cls.__name__) is not cls:
        raise PipelineSpecError(
            f"{where}: {cls.__name__} is not a registered scaleout class; a pipeline spec "
            f"names only {', '.join(sorted(_classes()))}"
        )
    return cls


def _params_to_spec(estimator: Any, cls: type, where: str, skip: tuple[str, ...] = ()) -> dict:
    defaults = _param_defaults(cls)
    params = estimator.get_params(deep=False)
    return {
        key: _plain(value, f"{where}.{key}")
        for key, value in params.items()
        if key not in skip and not _is_default(value, defaults.get(key, inspect.Parameter.empty))
    }


def _steps_to_spec(value: Any, where: str) -> Any:
    """A transformer's estimator (or pipeline, or 'passthrough'/'drop') as a list of steps."""
    from .pipeline import Pipeline

    if isinstance(value, str) and value in PASSTHROUGH:
        return value
    if isinstance(value, Pipeline):
        _check_plain_pipeline(value, where, nested=True)
        return [_step_to_spec(step, f"{where}[{i}]") for i, (_, step) in enumerate(value.steps)]
    return [_step_to_spec(value, f"{where}[0]")]


def _step_to_spec(estimator: Any, where: str) -> dict[str, Any]:
    if isinstance(estimator, str) or estimator is None:
        raise PipelineSpecError(
            f"{where}: a pipeline step {estimator!r} cannot be written in a pipeline spec"
        )
    cls = _registered(estimator, where)
    where = f"{where}.{cls.__name__}"
    defaults = _param_defaults(cls)
    if "transformers" not in defaults:
        if getattr(cls, "_composite", False):
            raise PipelineSpecError(f"{where}: a pipeline inside a pipeline's steps")
        return {cls.__name__: _params_to_spec(estimator, cls, where)}
    params = _params_to_spec(estimator, cls, where, skip=("transformers", "remainder"))
    transformers = []
    for i, item in enumerate(estimator.get_params(deep=False)["transformers"]):
        at = f"{where}.transformers[{i}]"
        name, step, columns = item
        if isinstance(columns, str) or not (
            isinstance(columns, (list, tuple, np.ndarray))
            and all(isinstance(c, str) for c in columns)
        ):
            raise PipelineSpecError(
                f"{at}: columns must be a list of column names, got {_short(columns)}"
            )
        transformers.append(
            {"name": name, "columns": list(columns), "steps": _steps_to_spec(step, f"{at}.steps")}
        )
    spec: dict[str, Any] = {"transformers": transformers}
    remainder = estimator.get_params(deep=False).get("remainder", "drop")
    if not _is_default(remainder, defaults.get("remainder")):
        spec["remainder"] = _steps_to_spec(remainder, f"{where}.remainder")
    spec.update(params)
    return {cls.__name__: spec}


def _check_plain_pipeline(pipeline: Any, where: str, *, nested: bool) -> None:
    """A pipeline whose settings a spec can hold (steps named as make_pipeline names them)."""
    extra = {
        "memory": pipeline.memory,
        "verbose": pipeline.verbose,
        "transform_input": getattr(pipeline, "transform_input", None),
    }
    if nested:
        extra["backend"] = None if pipeline.backend == "auto" else pipeline.backend
    for key, value in extra.items():
        if value not in (None, False):
            raise PipelineSpecError(
                f"{where}: a pipeline's {key}={_short(value)} cannot be written in a pipeline spec"
            )


def pipeline_to_spec(estimator: Any) -> dict[str, Any]:
    """The pipeline specification of a scaleout pipeline or estimator (the inverse of
    :func:`build_pipeline`).

    Parameters
    ----------
    estimator : Pipeline or estimator
        Made of registered scaleout classes. Step names are not kept: a
        rebuilt pipeline names its steps as :func:`scaleout.make_pipeline` does.

    Returns
    -------
    dict
        ``{"backend": ..., "steps": [...]}``: parameters that differ from
        their defaults only; ``backend`` only when it is not ``"auto"``.

    Raises
    ------
    PipelineSpecError
        For a step of an unregistered class, a parameter value that is not
        plain data (an estimator, a function), or pipeline settings a spec
        cannot hold (``memory``, ``verbose``).
    """
    from .pipeline import Pipeline

    doc: dict[str, Any] = {}
    if isinstance(estimator, Pipeline):
        _check_plain_pipeline(estimator, "pipeline", nested=False)
        if estimator.backend != "auto":
            doc["backend"] = estimator.backend
        doc["steps"] = [
            _step_to_spec(step, f"steps[{i}]") for i, (_, step) in enumerate(estimator.steps)
        ]
        return doc
    step = _step_to_spec(estimator, "steps[0]")
    ((class_name, params),) = step.items()
    backend = params.pop("backend", None)
    if backend is not None:
        doc["backend"] = backend
    doc["steps"] = [{class_name: params}]
    return doc
