"""Fuzz ``so.load`` with seeded mutations of saved models of every registered estimator.

Every mutant is loaded, then predicted with, in a child process (a crash or a
hang there fails the test, naming the mutant). A mutant must either raise
``ModelFileError`` or load to a model whose every prediction method works and
gives the original's shapes; mutants that change nothing the model means
(member order, compression, whitespace, fit statistics) must load and predict
exactly as the original. No child may grow past a memory bound.

Mutation classes (see :func:`mutants`): ``bytes`` (flipped bytes), ``truncate``,
``json-value`` (any value of model.json replaced), ``json-key`` (keys dropped,
renamed, added), ``index`` (int array entries: -1, -2, 0, out of range,
10**9, self and parent indices: cycles), ``value`` (NaN, inf, huge floats),
``shape`` (elements dropped or added, reshaped, emptied), ``dtype`` (float ->
float32/float16/int/str/complex/bool, int -> float/int32/uint8/str, big-endian,
Fortran flag), ``size`` (huge declared shapes, zip headers that lie, a
decompression bomb), ``zip`` (members duplicated, missing, renamed, extra) and
``harmless`` (must load and predict identically).
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from model_file_tools import (
    entry,
    load_all_guarded,
    npy_bytes,
    npy_header,
    raw_zip,
    read_members,
    write_members,
    zeros_bomb,
)
from sklearn import datasets as skdatasets

import scaleout as so
from scaleout.registry import estimator_classes

#: Mutants per base model and class of mutation (default run; the slow run has 6x).
PER_CLASS = 8
MEMORY_LIMIT_MB = 700


def _base_models() -> dict[str, Any]:
    X, y = skdatasets.load_iris(return_X_y=True)
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    holes = X.copy()
    holes[::7, 0] = np.nan
    return {
        "LinearRegression": so.LinearRegression().fit(X, y.astype(float)),
        "LogisticRegression-binary": so.LogisticRegression(max_iter=500).fit(X, y == 0),
        "LogisticRegression-str": so.LogisticRegression(max_iter=500).fit(frame, names),
        "DecisionTreeClassifier": so.DecisionTreeClassifier(max_depth=4, random_state=0).fit(
            X, names
        ),
        "DecisionTreeRegressor": so.DecisionTreeRegressor(max_depth=4, random_state=0).fit(
            X, X[:, 3]
        ),
        "KMeans": so.KMeans(3, n_init=1, random_state=0).fit(X),
        "PCA": so.PCA(3).fit(frame),
        "StandardScaler": so.StandardScaler().fit(frame, sample_weight=np.arange(150) % 3),
        "StandardScaler-mean-only": so.StandardScaler(with_std=False).fit(X),
        "MinMaxScaler": so.MinMaxScaler((-1, 2), clip=True).fit(frame),
        "Pipeline": so.make_pipeline(so.PCA(3), so.LogisticRegression(max_iter=500)).fit(X, y),
        # the table transformers: summaries rebuilt into scikit-learn's transformers on load
        "SimpleImputer": so.SimpleImputer(strategy="median", add_indicator=True).fit(holes),
        "OneHotEncoder": so.OneHotEncoder(handle_unknown="ignore", min_frequency=3).fit(X),
        "OrdinalEncoder": so.OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1
        ).fit(X),
        "ColumnTransformer": so.ColumnTransformer(
            [
                ("num", so.make_pipeline(so.SimpleImputer(), so.StandardScaler()), [0, 1]),
                ("cat", so.OneHotEncoder(handle_unknown="ignore"), [2, 3]),
            ]
        ).fit(holes),
    }


@pytest.fixture(scope="module")
def base_files(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("base")
    return {
        name: Path(model.save(directory / f"{name}.scaleout"))
        for name, model in _base_models().items()
    }


def test_every_registered_estimator_is_fuzzed(base_files):
    fuzzed = {name.split("-")[0] for name in base_files}
    assert fuzzed == set(estimator_classes())


# ------------------------------------------------------------------ mutations
_ALTERNATIVES: list[Any] = [
    None, True, False, -1, 0, 1, 2, 3, 10**9, -(10**18), 10**30, 0.5, -1e308, 1e308,
    {"__float__": "nan"}, {"__float__": "inf"}, {"__float__": "1e5"}, "x", "", "auto",
    [], [1, 2], {}, {"__array__": "arrays/999.npy"}, {"__array__": "arrays/0.npy"},
    {"__array__": "../model.json"}, {"__tuple__": [1]}, {"__tuple__": 5}, {"__dict__": [[1, 2]]},
    {"__dict__": [[[1], 2]]}, {"__unknown__": 1}, [[[[]]]], "PCA", "Pipeline",
    "LogisticRegression", "KMeans", "os.system",
]  # fmt: skip


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document (dict keys and list indices), leaves and inner nodes."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _at(doc: Any, path: tuple) -> tuple[Any, Any]:
    for key in path[:-1]:
        doc = doc[key]
    return doc, path[-1]


def _json_mutants(members: dict[str, bytes], rng: random.Random, n: int) -> list[tuple]:
    doc = json.loads(members["model.json"])
    paths = _paths(doc)
    out = []
    for _ in range(n * 4):
        path = rng.choice(paths)
        new = json.loads(members["model.json"])
        parent, key = _at(new, path)
        old = parent[key]
        choices = list(_ALTERNATIVES)
        if isinstance(old, (int, float)) and not isinstance(old, bool):
            choices += [old + 1, old - 1, -old, old * 2, old * 10**6]
        parent[key] = rng.choice(choices)
        out.append(("json-value", _with_json(members, new), False))
    for _ in range(n):
        path = rng.choice([p for p in paths if isinstance(p[-1], str)])
        new = json.loads(members["model.json"])
        parent, key = _at(new, path)
        action = rng.choice(["drop", "rename", "add"])
        if action == "drop":
            del parent[key]
        elif action == "rename":
            parent[key + "_x"] = parent.pop(key)
        else:
            parent["extra_attr_"] = rng.choice(_ALTERNATIVES)
        out.append(("json-key", _with_json(members, new), False))
    return out


def _with_json(members: dict[str, bytes], doc: Any) -> dict[str, bytes]:
    return {**members, "model.json": json.dumps(doc).encode()}


def _arrays(members: dict[str, bytes]) -> dict[str, np.ndarray]:
    return {
        name: np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        for name, data in members.items()
        if name.endswith(".npy")
    }


def _array_mutants(members: dict[str, bytes], rng: random.Random, n: int) -> list[tuple]:
    arrays = _arrays(members)
    names = sorted(arrays)
    out = []

    def put(cls: str, name: str, array: Any) -> None:
        data = array if isinstance(array, bytes) else npy_bytes(np.asarray(array))
        out.append((cls, {**members, name: data}, False))

    ints = [m for m in names if arrays[m].dtype.kind in "iu" and arrays[m].size]
    floats = [m for m in names if arrays[m].dtype.kind == "f" and arrays[m].size]
    if not ints and not floats:  # a table transformer's summary is JSON: json-* mutants
        return out
    for _ in range(n * 3):
        name = rng.choice(ints or floats)
        array = arrays[name].copy().astype(np.int64)
        flat = array.reshape(-1)
        i = rng.randrange(flat.size)
        flat[i] = rng.choice([-1, -2, -3, 0, 1, i, max(i - 1, 0), flat.size, flat.size - 1,
                              10**9, -(10**9), 2**62, -(2**63)])  # fmt: skip
        put("index", name, array.astype(arrays[name].dtype, casting="unsafe"))
    for _ in range(n * 2):
        name = rng.choice(floats)
        array = arrays[name].copy()
        array.reshape(-1)[rng.randrange(array.size)] = rng.choice(
            [np.nan, np.inf, -np.inf, 1e308, -1e308, -0.0, -1.0, 1e-300]
        )
        put("value", name, array)
    strs = [m for m in names if arrays[m].dtype.kind == "U" and arrays[m].size]
    for _ in range(n if strs else 0):  # character codes: beyond Unicode, surrogates, NUL
        name = rng.choice(strs)
        data = bytearray(npy_bytes(arrays[name]))
        at = 128 + 4 * rng.randrange(arrays[name].size * arrays[name].dtype.itemsize // 4)
        code = rng.choice([0xFFFFFFFF, 0x110000, 0xD800, 0, 0x10FFFF])
        data[at : at + 4] = code.to_bytes(4, "little")
        put("value", name, bytes(data))
    for _ in range(n * 2):
        name = rng.choice(names)
        array = arrays[name]
        flat = array.reshape(-1)
        shape_change = rng.choice(["drop", "add", "2d", "T", "empty", "scalar", "3d"])
        new = {
            "drop": flat[:-1],
            "add": np.concatenate([flat, flat[:1]]) if flat.size else np.zeros(1),
            "2d": flat.reshape(1, -1),
            "T": array.T.reshape(array.shape[::-1]) if array.ndim > 1 else flat[:, None],
            "empty": flat[:0],
            "scalar": flat[0] if flat.size else np.float64(0),
            "3d": flat.reshape(-1, 1, 1),
        }[shape_change]
        put("shape", name, np.asarray(new))
    for _ in range(n * 2):
        name = rng.choice(names)
        array = arrays[name]
        if array.dtype.kind == "f":
            target = rng.choice(["float32", "float16", "int64", "U8", "complex128", "bool"])
        elif array.dtype.kind in "iu":
            target = rng.choice(["float64", "int32", "uint8", "U8", "int16", "bool"])
        else:
            target = rng.choice(["float64", "int64", "S8", "U1"])
        try:
            new = array.astype(target)
        except (ValueError, TypeError):
            new = np.zeros(array.shape, dtype=target)
        if rng.random() < 0.3:
            new = new.astype(new.dtype.newbyteorder(">"))
        put("dtype", name, new)
    for _ in range(n):
        name = rng.choice(names)
        array = arrays[name]
        kind = rng.choice(["huge", "liar", "fortran", "bomb"])
        if kind == "huge":
            data = npy_header((10**12,), array.dtype.str) + npy_bytes(array)[128:]
            put("size", name, data)
        elif kind == "fortran":
            data = npy_header(array.shape, array.dtype.str, fortran=True) + npy_bytes(array)[128:]
            put("size", name, data)
        elif kind == "liar":  # zip headers declare another decompressed size
            entries = [entry(m, d) for m, d in members.items()]
            for e in entries:
                if e["name"] == name:
                    e["size"] = rng.choice([0, 1, e["size"] - 1, e["size"] + 1, 2**31])
            out.append(("size", entries, False))
        else:  # 64 MiB of zeros in a ~64 KB member
            entries = [
                zeros_bomb(m, (2**23,)) if m == name else entry(m, d) for m, d in members.items()
            ]
            out.append(("size", entries, False))
    return out


def _zip_mutants(members: dict[str, bytes], rng: random.Random, n: int) -> list[tuple]:
    names = list(members)
    out = []
    for _ in range(n):
        name = rng.choice(names)
        action = rng.choice(["missing", "renamed", "extra", "duplicate", "dir"])
        if action == "missing":
            out.append(("zip", {m: d for m, d in members.items() if m != name}, False))
        elif action == "renamed":
            new_name = rng.choice(["arrays/999.npy", "x.npy", "arrays/1.npz", "../evil"])
            out.append(("zip", {(new_name if m == name else m): d for m, d in members.items()},
                        False))  # fmt: skip
        elif action == "extra":
            out.append(("zip", {**members, rng.choice(["arrays/999.npy", "evil.py"]): b"x"},
                        False))  # fmt: skip
        elif action == "duplicate":
            entries = [entry(m, d) for m, d in members.items()] + [entry(name, members[name])]
            out.append(("zip", entries, False))
        else:
            out.append(("zip", {**members, "arrays/": b""}, False))
    # harmless: member order, stored members, whitespace, a comment
    shuffled = names[:]
    rng.shuffle(shuffled)
    out.append(("harmless", {m: members[m] for m in shuffled}, True))
    out.append(("harmless", ("stored", members), True))
    doc = json.loads(members["model.json"])
    out.append(("harmless", {**members, "model.json": json.dumps(doc, indent=4).encode()}, True))
    return out


def _byte_mutants(data: bytes, rng: random.Random, n: int) -> list[tuple]:
    out = []
    for _ in range(n * 3):
        mutated = bytearray(data)
        for _ in range(rng.choice([1, 1, 2, 8])):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        out.append(("bytes", bytes(mutated), False))
    for _ in range(n):
        out.append(("truncate", data[: rng.randrange(len(data))], False))
    return out


def mutants(path: Path, seed: int, per_class: int) -> list[tuple[str, Any, bool]]:
    """Seeded mutants of the model file at ``path``: (class, content, harmless)."""
    rng = random.Random(seed)
    members = read_members(path)
    data = path.read_bytes()
    return [
        *_byte_mutants(data, rng, per_class),
        *_json_mutants(members, rng, per_class),
        *_array_mutants(members, rng, per_class),
        *_zip_mutants(members, rng, per_class),
    ]


def _write(out: Path, content: Any) -> Path:
    if isinstance(content, bytes):
        out.write_bytes(content)
    elif isinstance(content, list):
        raw_zip(out, content)
    elif isinstance(content, tuple):  # ("stored", members)
        write_members(out, content[1], zipfile.ZIP_STORED)
    else:
        write_members(out, content)
    return out


# ---------------------------------------------------------------------- tests
def _overflow_in_pipeline(model: str, result: dict[str, Any]) -> bool:
    """A step with finite but extreme numbers (1e308) may output inf/NaN: the next step's
    input check refuses them with a DataError. Loading cannot rule that out without
    running the model; it is a clean scaleout error, not a crash."""
    return (
        model == "Pipeline"
        and result.get("type") == "DataError"
        and ("contains NaN" in result["message"] or "contains infinity" in result["message"])
    )


def _fuzz(base_files: dict[str, Path], tmp_path: Path, per_class: int, seed: int) -> None:
    X = skdatasets.load_iris(return_X_y=True)[0]
    directory = tmp_path / "mutants"
    directory.mkdir()
    plan: dict[str, tuple[str, str, bool]] = {}
    paths = []
    for model_index, (model, base) in enumerate(sorted(base_files.items())):
        paths.append(base)
        plan[str(base)] = (model, "original", True)
        for i, (cls, content, harmless) in enumerate(mutants(base, seed + model_index, per_class)):
            path = _write(directory / f"{model}-{i:04d}-{cls}.scaleout", content)
            plan[str(path)] = (model, cls, harmless)
            paths.append(path)
    results, deaths = load_all_guarded(paths, X, tmp_path, timeout=240)
    assert not deaths, f"crashes or hangs: {deaths}"
    originals = {plan[p][0]: results[p] for p in plan if plan[p][1] == "original"}
    problems, outcomes = [], {}
    for path, (model, cls, harmless) in plan.items():
        result = results.get(path)
        if result is None:
            problems.append(f"{path}: no result")
            continue
        original = originals[model]
        outcomes.setdefault(cls, {}).setdefault(result["outcome"], 0)
        outcomes[cls][result["outcome"]] += 1
        if result["maxrss_mb"] > MEMORY_LIMIT_MB:
            problems.append(f"{path}: the child grew to {result['maxrss_mb']:.0f} MB")
        if result["outcome"] == "ModelFileError":
            if harmless:
                problems.append(f"{path}: a harmless change was refused: {result['message']}")
            elif path not in result["message"]:
                problems.append(f"{path}: the message does not name the file: {result['message']}")
        elif result["outcome"] == "loaded":
            # a change the CRC-32 of every member lets through is in zip metadata only
            same = harmless or cls in ("bytes", "truncate", "zip")
            if same and result["outputs"] != original["outputs"]:
                problems.append(f"{path}: a {cls} change changed the predictions")
            shapes = {k: v[0] for k, v in result["outputs"].items()}
            if shapes != {k: v[0] for k, v in original["outputs"].items()}:
                problems.append(f"{path}: loaded a {result['class']} predicting shapes {shapes}")
        elif not _overflow_in_pipeline(model, result):
            problems.append(f"{path}: {result.get('type')}: {result.get('message')}")
    print(f"{len(plan)} files:", json.dumps(outcomes))
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"
    # every base model loads and predicts; most mutants are refused, each class is exercised
    assert all(r["outcome"] == "loaded" for r in originals.values())
    assert len(originals) == len(base_files)
    refused = sum(c.get("ModelFileError", 0) for c in outcomes.values())
    assert refused > 0.6 * (len(plan) - len(originals)), outcomes
    for cls in ("bytes", "truncate", "json-value", "json-key", "index", "value", "shape",
                "dtype", "size", "zip"):  # fmt: skip
        assert outcomes[cls].get("ModelFileError", 0) > 0, (cls, outcomes[cls])
    assert outcomes["harmless"] == {"loaded": 3 * len(base_files)}


def test_mutated_model_files_never_crash(base_files, tmp_path):
    _fuzz(base_files, tmp_path, PER_CLASS, seed=15)


@pytest.mark.slow
def test_mutated_model_files_never_crash_more_seeds(base_files, tmp_path):
    _fuzz(base_files, tmp_path, PER_CLASS * 6, seed=1015)
