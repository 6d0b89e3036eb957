"""Build a model from a checked ``model.json``: every value against its class's schema.

Nothing from the file is used before it is checked: the class must be a
registered estimator with a schema (:mod:`scaleout.model_schema`), every
attribute must be named by that schema and have its type, dtype and shape,
dimensions must agree across attributes (and pipeline steps), and a tree's
nodes must form a tree (:mod:`scaleout.model_tree`). Every refusal is a
:class:`~scaleout.exceptions.ModelFileError` naming the model, the attribute
and what was expected against what was found.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._sktree import NODE_FIELDS, build_tree
from .exceptions import ModelFileError, ScaleoutError
from .model_archive import ModelArchive
from .model_schema import Array, Bool, Document, Float, Int, Schema, Spec, Tree, schema_of
from .model_tree import check_tree_nodes

__all__ = ["ModelReader"]

_MAX_STEPS = 1000


def _node_dtypes() -> dict[str, np.dtype]:
    from sklearn.tree._tree import NODE_DTYPE

    return {name: NODE_DTYPE.fields[name][0] for name in NODE_FIELDS}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return f"an object with keys {sorted(value)[:5]}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{type(value).__name__} {value!r:.80}"


class ModelReader:
    """Decodes and checks the models of one archive.

    Parameters
    ----------
    archive : ModelArchive
        The open file.
    classes : dict of str to type
        The registered estimator classes (:func:`scaleout.registry.estimator_classes`).
    """

    def __init__(self, archive: ModelArchive, classes: dict[str, type]) -> None:
        self.archive = archive
        self.classes = classes

    def fail(self, where: str, what: str) -> ModelFileError:
        return self.archive.error(f"{where}: {what}")

    # ------------------------------------------------------------------ models
    def build(self, body: Any, where: str = "model") -> tuple[Any, int, int | None]:
        """The model described by ``body``, its ``n_features_in_`` and output width."""
        if not isinstance(body, dict):
            raise self.fail(where, f"expected an object describing a model, found {_kind(body)}")
        name = body.get("class")
        if not isinstance(name, str) or name not in self.classes:
            raise self.fail(
                where, f"unknown model class {name!r:.80}; expected one of {sorted(self.classes)}"
            )
        schema = schema_of(name)
        if schema is None:
            raise self.fail(where, f"{name} has no model-file schema; it cannot be loaded")
        where = f"{where} ({name})"
        if schema.composite:
            model, n_in, width = self._pipeline(self.classes[name], body, where)
        else:
            model, n_in, width = self._estimator(self.classes[name], schema, body, where)
        allowed = {"class", "params", "backend_", "fit_stats_"}
        allowed |= {"steps"} if schema.composite else {"attributes"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise self.fail(where, f"unknown keys {unknown}; expected some of {sorted(allowed)}")
        if "backend_" in body:
            backend = body["backend_"]
            if not isinstance(backend, str) or len(backend) > 200:
                raise self.fail(where, f"backend_ must be a short str, found {_kind(backend)}")
            model.backend_ = backend
            stats = self.plain(body.get("fit_stats_", {"__dict__": []}), f"{where} fit_stats_")
            if not isinstance(stats, dict):
                raise self.fail(where, f"fit_stats_ must be a dict, found {_kind(stats)}")
            model.fit_stats_ = stats
        return model, n_in, width

    def _estimator(
        self, cls: type, schema: Schema, body: dict[str, Any], where: str
    ) -> tuple[Any, int, int | None]:
        raw_params = body.get("params", {})
        if not isinstance(raw_params, dict):
            raise self.fail(where, f"params must be an object, found {_kind(raw_params)}")
        params = {k: self.plain(v, f"{where} parameter {k!r}") for k, v in raw_params.items()}
        try:
            model = cls(**params)
            model._validate_params()
        except (ScaleoutError, TypeError, ValueError) as exc:
            raise self.fail(where, f"invalid parameters: {exc}") from None
        attributes = body.get("attributes")
        if not isinstance(attributes, dict):
            raise self.fail(where, f"attributes must be an object, found {_kind(attributes)}")
        unknown = sorted(set(attributes) - set(schema.attributes))
        if unknown:
            raise self.fail(
                where,
                f"unknown attributes {unknown}; a {cls.__name__} file may hold "
                f"{sorted(schema.attributes)}",
            )
        required = (*cls._required_attrs, "n_features_in_")  # type: ignore[attr-defined]
        missing = [a for a in required if a not in attributes]
        if missing:
            raise self.fail(where, f"missing fitted attributes {missing}")
        dims: dict[str, int] = {}
        values: dict[str, Any] = {}
        for attr, spec in schema.attributes.items():
            if attr in attributes:
                values[attr] = self.attribute(spec, attributes[attr], dims, f"{where} {attr}")
        if schema.checks is not None:
            problems = schema.checks(dims, model.get_params(deep=False))
            if problems:
                raise self.fail(where, "; ".join(problems))
        if schema.value_checks is not None:
            problems = schema.value_checks(values, model.get_params(deep=False))
            if problems:
                raise self.fail(where, "; ".join(problems))
        for attr, value in values.items():
            setattr(model, attr, value)
        if schema.output_width == "rebuilt":  # a table transformer: scikit-learn's, rebuilt
            try:
                model._publish()
                width = len(model.get_feature_names_out())
            except (ScaleoutError, TypeError, ValueError, KeyError, IndexError) as exc:
                raise self.fail(where, f"cannot rebuild the fitted transformer: {exc}") from None
            saved = values.get("n_features_out_")
            if saved is not None and saved != width:
                raise self.fail(
                    where,
                    f"the rebuilt transformer outputs {width} features, the file says {saved}",
                )
            return model, dims["n_features"], width
        width = dims.get(schema.output_width) if schema.output_width else None
        return model, dims["n_features"], width

    def _pipeline(self, cls: type, body: dict[str, Any], where: str) -> tuple[Any, int, int | None]:
        params = body.get("params", {})
        if not isinstance(params, dict) or not set(params) <= {"backend", "verbose"}:
            raise self.fail(where, f"params must be backend and verbose, found {_kind(params)}")
        if not isinstance(params.get("backend", "auto"), str):
            raise self.fail(where, f"backend must be a str, found {_kind(params['backend'])}")
        if not isinstance(params.get("verbose", False), int):  # bool, or an int as 0/1
            raise self.fail(where, f"verbose must be a bool, found {_kind(params['verbose'])}")
        steps = body.get("steps")
        if not isinstance(steps, list) or not 1 <= len(steps) <= _MAX_STEPS:
            raise self.fail(
                where, f"steps must be a list of 1 to {_MAX_STEPS}, found {_kind(steps)}"
            )
        built: list[tuple[str, Any]] = []
        n_in: int | None = None
        width: int | None = None
        for index, step in enumerate(steps):
            at = f"{where} step {index}"
            if not isinstance(step, dict) or set(step) != {"name", "estimator"}:
                raise self.fail(
                    at, f"expected an object with name and estimator, found {_kind(step)}"
                )
            name = step["name"]
            if not isinstance(name, str) or not name or "__" in name or len(name) > 200:
                raise self.fail(at, f"invalid step name {name!r:.80}")
            if name in {n for n, _ in built}:
                raise self.fail(at, f"step name {name!r} is used twice")
            if index and width is None:
                raise self.fail(
                    at, f"the step before {name!r} does not transform, so it cannot come first"
                )
            model, step_in, step_width = self.build(step["estimator"], f"{at} {name!r}")
            if index and step_in != width:
                raise self.fail(
                    at,
                    f"step {name!r} expects {step_in} features but the previous step outputs "
                    f"{width}",
                )
            n_in = step_in if n_in is None else n_in
            width = step_width
            built.append((name, model))
        return cls(built, **params), n_in, width  # type: ignore[return-value]

    # -------------------------------------------------------------- attributes
    def attribute(self, spec: Spec, raw: Any, dims: dict[str, int], where: str) -> Any:
        """Decode ``raw`` as ``spec`` says, binding and checking dimensions."""
        if raw is None and isinstance(spec, Array) and spec.nullable:
            return None
        if isinstance(spec, Int):
            return self._int(spec, raw, dims, where)
        if isinstance(spec, Float):
            return self._float(spec, raw, where)
        if isinstance(spec, Array):
            return self._array(spec, raw, dims, where)
        if isinstance(spec, Bool):
            if not isinstance(raw, bool):
                raise self.fail(where, f"expected true or false, found {_kind(raw)}")
            return raw
        if isinstance(spec, Document):
            value = self.plain(raw, where)
            problems = spec.check(value)
            if problems:
                raise self.fail(where, "; ".join(problems[:3]))
            if spec.dim is not None and spec.size is not None:
                self._bind(dims, spec.dim, spec.size(value), where)
            return value
        return self._tree(spec, raw, dims, where)

    def _bind(self, dims: dict[str, int], dim: str, value: int, where: str) -> None:
        if dims.setdefault(dim, value) != value:
            raise self.fail(where, f"{dim} is {value} here but {dims[dim]} elsewhere in the model")

    def _int(self, spec: Int, raw: Any, dims: dict[str, int], where: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.fail(where, f"expected an int, found {_kind(raw)}")
        maximum = dims.get(spec.maximum) if isinstance(spec.maximum, str) else spec.maximum
        if raw < spec.minimum or (maximum is not None and raw > maximum):
            bound = f"[{spec.minimum}, {maximum}]" if maximum is not None else f">= {spec.minimum}"
            raise self.fail(where, f"expected an int in {bound}, found {raw}")
        if spec.dim:
            self._bind(dims, spec.dim, raw, where)
        return raw

    def _float(self, spec: Float, raw: Any, where: str) -> float:
        value = self.plain(raw, where)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"expected a number, found {_kind(raw)}")
        if spec.keep_int and isinstance(value, int):
            if spec.minimum is not None and value < spec.minimum:
                raise self.fail(where, f"expected a number >= {spec.minimum}, found {value}")
            return value
        value = float(value)
        if spec.finite and not math.isfinite(value):
            raise self.fail(where, f"expected a finite number, found {value}")
        if spec.minimum is not None and not value >= spec.minimum:
            raise self.fail(where, f"expected a number >= {spec.minimum}, found {value}")
        return value

    def _array(self, spec: Array, raw: Any, dims: dict[str, int], where: str) -> np.ndarray:
        array = self.raw_array(raw, where)
        kind = array.dtype.kind
        ok = {
            "float": kind == "f" and array.dtype.itemsize in (4, 8),
            "int": kind in "iu",
            "labels": kind in "biufUO",  # O: str arrays saved for object ones
            "names": kind in "UO",
        }[spec.kind]
        if not ok:
            raise self.fail(where, f"expected a {spec.kind} array, found dtype {array.dtype}")
        if array.ndim != len(spec.shape):
            raise self.fail(
                where,
                f"expected a {len(spec.shape)}-D array {spec.shape}, found shape {array.shape}",
            )
        for size, dim in zip(array.shape, spec.shape, strict=True):
            if isinstance(dim, int):
                if size != dim:
                    raise self.fail(where, f"expected shape {spec.shape}, found {array.shape}")
            else:
                self._bind(dims, dim, size, f"{where} (shape {array.shape})")
        if kind == "f" and spec.finite and not np.isfinite(array).all():
            raise self.fail(where, f"expected finite values, found {_first_bad(array)}")
        if spec.minimum is not None and kind in "iuf" and array.size and array.min() < spec.minimum:
            raise self.fail(where, f"expected values >= {spec.minimum}, found {array.min()}")
        if spec.kind == "labels" and len(np.unique(array)) != len(array):
            raise self.fail(where, f"class labels must be unique, found {array.tolist()[:10]}")
        if kind == "U" and spec.kind in ("labels", "names"):
            array = array.astype(object)
        return np.ascontiguousarray(array) if spec.c_order else array

    def raw_array(self, raw: Any, where: str) -> np.ndarray:
        """The array an ``{"__array__": member}`` entry names (dtype and size checked)."""
        if (
            not isinstance(raw, dict)
            or "__array__" not in raw
            or not set(raw)
            <= {
                "__array__",
                "dtype",
            }
        ):
            raise self.fail(
                where, f"expected an array entry {{'__array__': ...}}, found {_kind(raw)}"
            )
        array = self.archive.array(raw["__array__"], where)
        if "dtype" in raw:
            if raw["dtype"] != "object" or array.dtype.kind != "U":
                raise self.fail(
                    where,
                    f"dtype {raw['dtype']!r:.40} with stored dtype {array.dtype}: only str arrays "
                    "are stored for object arrays",
                )
            array = array.astype(object)
        return array

    def _tree(self, spec: Tree, raw: Any, dims: dict[str, int], where: str) -> Any:
        expected = {"n_features", "n_classes", "max_depth", "nodes", "values"}
        tree = raw.get("__tree__") if isinstance(raw, dict) and set(raw) == {"__tree__"} else None
        if not isinstance(tree, dict) or set(tree) != expected:
            raise self.fail(
                where, f"expected {{'__tree__': {sorted(expected)}}}, found {_kind(raw)}"
            )
        n_features = self._int(Int(minimum=1), tree["n_features"], dims, f"{where} n_features")
        if n_features != dims["n_features"]:
            raise self.fail(
                where, f"the tree has {n_features} features but the model {dims['n_features']}"
            )
        n_classes = self._array(Array("int", (1,), minimum=1), tree["n_classes"], dims, where)
        expected_classes = dims.get("n_classes", 1) if spec.classifier else 1
        if int(n_classes[0]) != expected_classes:
            raise self.fail(
                where, f"n_classes is {n_classes.tolist()}; expected [{expected_classes}]"
            )
        node_specs = tree["nodes"]
        node_dtypes = _node_dtypes()
        fields = set(node_dtypes) - {"missing_go_to_left"}
        if not isinstance(node_specs, dict) or not fields <= set(node_specs) <= set(node_dtypes):
            raise self.fail(
                where,
                f"nodes must hold the fields {sorted(node_dtypes)}, found {_kind(node_specs)}",
            )
        nodes: dict[str, np.ndarray] = {}
        for name in node_dtypes:
            if name not in node_specs:
                continue
            at = f"{where} nodes {name}"
            array = self.raw_array(node_specs[name], at)
            if array.dtype != node_dtypes[name] or array.ndim != 1:
                raise self.fail(
                    at,
                    f"expected a 1-D array of {node_dtypes[name]}, found {array.dtype} of shape "
                    f"{array.shape}",
                )
            if nodes and len(array) != len(nodes["left_child"]):
                raise self.fail(
                    at, f"has {len(array)} nodes but left_child {len(nodes['left_child'])}"
                )
            nodes[name] = array
        count = len(nodes["left_child"])
        values = self.raw_array(tree["values"], f"{where} values")
        shape = (count, 1, expected_classes)
        if values.dtype != np.float64 or values.shape != shape:
            raise self.fail(
                f"{where} values",
                f"expected float64 of shape {shape}, found {values.dtype} of shape {values.shape}",
            )
        problem, depth = check_tree_nodes(nodes, values, n_features, spec.classifier)
        if problem:
            raise self.fail(where, problem)
        max_depth = tree["max_depth"]
        if isinstance(max_depth, bool) or max_depth != depth:
            raise self.fail(where, f"max_depth is {max_depth!r:.40} but the nodes are {depth} deep")
        return build_tree(n_features, n_classes, nodes, values, depth)

    def _step(self, raw: Any, where: str) -> Any:
        """An unfitted registered estimator in a parameter: ``[class name, parameters]``."""
        if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], dict):
            raise self.fail(where, f"__estimator__ must be [class, params], found {_kind(raw)}")
        name, raw_params = raw
        if not isinstance(name, str) or name not in self.classes:
            raise self.fail(where, f"unknown estimator class {name!r:.80} in a parameter")
        params = {k: self.plain(v, f"{where} {name}.{k}") for k, v in raw_params.items()}
        try:
            return self.classes[name](**params)
        except (ScaleoutError, TypeError, ValueError) as exc:
            raise self.fail(where, f"invalid parameters of {name}: {exc}") from None

    # ----------------------------------------------------------- plain values
    def plain(self, raw: Any, where: str) -> Any:
        """A parameter or fit statistic: JSON values, floats, tuples, dicts, arrays."""
        if raw is None or isinstance(raw, (bool, int, float, str)):  # sizes: max_json_bytes
            return raw
        if isinstance(raw, list):
            return [self.plain(v, where) for v in raw]
        if not isinstance(raw, dict) or (len(raw) != 1 and "__array__" not in raw):
            raise self.fail(where, f"unknown value encoding {_kind(raw)}")
        if "__array__" in raw:
            return self.raw_array(raw, where)
        ((key, value),) = raw.items()
        if key == "__float__":
            if value not in ("inf", "-inf", "nan"):
                raise self.fail(
                    where, f"__float__ must be 'inf', '-inf' or 'nan', found {value!r:.40}"
                )
            return float(value)
        if key == "__dtype__":
            if value not in _DTYPES:
                raise self.fail(where, f"__dtype__ must be one of {sorted(_DTYPES)}, "
                                       f"found {value!r:.40}")
            return np.dtype(value).type
        if key == "__estimator__":
            return self._step(value, where)
        if key == "__tuple__" and isinstance(value, list):
            return tuple(self.plain(v, where) for v in value)
        if key == "__dict__" and isinstance(value, list):
            result = {}
            for item in value:
                if not isinstance(item, list) or len(item) != 2:
                    raise self.fail(
                        where, f"a __dict__ item must be [key, value], found {_kind(item)}"
                    )
                k = self.plain(item[0], where)
                if not isinstance(k, (str, int, float, bool, type(None))):
                    raise self.fail(where, f"a dict key must be a scalar, found {_kind(item[0])}")
                result[k] = self.plain(item[1], where)
            return result
        raise self.fail(where, f"unknown value encoding {_kind(raw)}")


#: The dtypes a parameter may name (an encoder's ``dtype``).
_DTYPES = frozenset(
    {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"}
)


def _first_bad(array: np.ndarray) -> str:
    index = np.unravel_index(int(np.flatnonzero(~np.isfinite(array))[0]), array.shape)
    return f"{array[index]} at index {tuple(int(i) for i in index)}"
