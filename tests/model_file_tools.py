"""Helpers for the model-file tests: edit saved models, load them in a guarded subprocess.

A bad model file may crash the interpreter (SIGSEGV), hang or allocate gigabytes,
so the tests load such files in a child process with a timeout and report the
child's outcome, exit code and peak memory.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: Methods the guarded loader calls on a loaded model, when it has them.
METHODS = ("predict", "predict_proba", "decision_function", "transform", "apply")


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], descr: str = "<f8", fortran: bool = False) -> bytes:
    """A version 1.0 ``.npy`` header that says whatever it is told."""
    text = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    pad = 64 - (10 + len(text) + 1) % 64
    header = (text + " " * (pad % 64) + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def read_members(path: str | os.PathLike[str]) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_members(
    out: str | os.PathLike[str],
    members: dict[str, bytes],
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return Path(out)


def document(path: str | os.PathLike[str]) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("model.json"))


def array_member(doc: dict[str, Any], *keys: str) -> str:
    """The member name of the array at ``doc["model"][keys...]`` (trees: through ``__tree__``)."""
    node: Any = doc["model"]
    for key in keys:
        node = node[key]
        if isinstance(node, dict) and "__tree__" in node:
            node = node["__tree__"]
    return node["__array__"]


def edit_array(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    keys: tuple[str, ...],
    change: Callable[[np.ndarray], np.ndarray],
) -> Path:
    """Copy the model at ``path`` to ``out`` with one array replaced by ``change(array)``."""
    members = read_members(path)
    member = array_member(json.loads(members["model.json"]), *keys)
    array = np.lib.format.read_array(io.BytesIO(members[member]), allow_pickle=False)
    members[member] = npy_bytes(change(array.copy()))
    return write_members(out, members)


def edit_json(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    change: Callable[[dict[str, Any]], Any],
) -> Path:
    members = read_members(path)
    doc = json.loads(members["model.json"])
    change(doc)
    members["model.json"] = json.dumps(doc).encode()
    return write_members(out, members)


_CHILD = r"""
import json, resource, sys, time
import numpy as np


def peak_mb():
    # This process's peak RSS. VmHWM belongs to the address space exec made; ru_maxrss
    # is not reset by exec on Linux and reports the forking parent's peak (pytest's).
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


paths = open(sys.argv[1]).read().split("\n")
x_path, methods = sys.argv[2], sys.argv[3].split(",")
import scaleout as so
from scaleout import exceptions
ModelFileError = getattr(exceptions, "ModelFileError", exceptions.ModelFormatError)
X = np.load(x_path)
for path in paths:
    print(json.dumps({"start": path}), flush=True)
    result = {"path": path}
    try:
        model = so.load(path)
        result["outcome"] = "loaded"
        result["class"] = type(model).__name__
        outputs = {}
        for method in methods:
            if hasattr(model, method):
                value = getattr(model, method)(X)
                value = np.asarray(value)
                outputs[method] = [list(value.shape), str(value.dtype),
                                   value.ravel()[:2000].tolist() if value.dtype != object
                                   else [str(v) for v in value.ravel()[:2000]]]
        if hasattr(model, "tree_"):  # walks every node, right children too
            outputs["feature_importances_"] = [[len(model.feature_importances_)], "float64", []]
            outputs["n_leaves"] = [[], "int", [int(model.get_n_leaves())]]
        result["outputs"] = outputs
    except ModelFileError as exc:
        result["outcome"] = "ModelFileError"
        result["message"] = str(exc)
    except BaseException as exc:
        result["outcome"] = "other"
        result["type"] = type(exc).__name__
        result["message"] = str(exc)[:500]
    result["maxrss_mb"] = peak_mb()
    print(json.dumps(result, default=str), flush=True)
"""


def load_guarded(
    paths: list[str | os.PathLike[str]],
    X: np.ndarray,
    tmp_path: Path,
    *,
    timeout: float = 60,
    methods: tuple[str, ...] = METHODS,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Load and predict every file of ``paths`` in one child process.

    Returns the per-file results (``outcome`` is ``loaded``, ``ModelFileError``
    or ``other``) and the child's fate: ``returncode`` (negative for a signal),
    ``timed_out`` and ``unfinished`` (the file the child was busy with when it
    died or hung, else None).
    """
    x_path = tmp_path / "X-guard.npy"
    np.save(x_path, X)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"
    list_path = tmp_path / "paths-guard.txt"
    list_path.write_text("\n".join(map(str, paths)))
    args = [sys.executable, "-c", _CHILD, str(list_path), str(x_path), ",".join(methods)]
    timed_out = False
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        stdout, returncode, stderr = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        stdout = out.decode() if isinstance(out, bytes) else out
        returncode, stderr, timed_out = None, "", True
    results, started = [], None
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "start" in record:
            started = record["start"]
        else:
            results.append(record)
            started = None
    fate = {
        "returncode": returncode,
        "timed_out": timed_out,
        "unfinished": started,
        "stderr": stderr[-2000:],
    }
    return results, fate


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def raw_zip(out: str | os.PathLike[str], entries: list[dict[str, Any]]) -> Path:
    """Write a zip archive by hand, so its headers can say anything.

    Each entry: ``name``, ``payload`` (the stored bytes, already compressed),
    ``method`` (0 stored, 8 deflated), ``crc``, ``size`` (the declared
    decompressed size, written in both the local and the central header).
    """
    local, central = bytearray(), bytearray()
    for entry in entries:
        name = entry["name"].encode()
        offset = len(local)
        fields = (entry["method"], 0, 0x21, entry["crc"], len(entry["payload"]), entry["size"])
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, *fields, len(name), 0)
        local += name + entry["payload"]
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, *fields, len(name), 0, 0, 0, 0, 0, offset
        )
        central += name
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(local), 0
    )
    Path(out).write_bytes(bytes(local + central + end))
    return Path(out)


def entry(name: str, data: bytes) -> dict[str, Any]:
    """A deflated entry whose headers tell the truth."""
    return {
        "name": name,
        "payload": deflate(data),
        "method": 8,
        "crc": zlib.crc32(data),
        "size": len(data),
    }


def zeros_bomb(name: str, shape: tuple[int, ...], *, declared_size: int | None = None) -> dict:
    """A deflated ``.npy`` entry of ``shape`` float64 zeros, built without holding it in memory.

    Deflate turns 16 MiB of zeros into the same 16 KB after the first chunk, so
    a 1 GiB array costs 64 copies of one compressed chunk. ``declared_size``
    makes the headers lie about the decompressed size.
    """
    header = npy_header(shape)
    n_bytes = int(np.prod(shape)) * 8
    chunk = 16 << 20
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    first = min(chunk, n_bytes)
    payload = [compressor.compress(header + zeros[:first]), compressor.flush(zlib.Z_FULL_FLUSH)]
    crc = zlib.crc32(zeros[:first], zlib.crc32(header))
    full, rest = divmod(n_bytes - first, chunk)
    if full:
        repeated = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
        payload.append(repeated * full)
        for _ in range(full):
            crc = zlib.crc32(zeros, crc)
    payload.append(compressor.compress(zeros[:rest]) + compressor.flush())
    crc = zlib.crc32(zeros[:rest], crc)
    size = len(header) + n_bytes
    return {
        "name": name,
        "payload": b"".join(payload),
        "method": 8,
        "crc": crc,
        "size": size if declared_size is None else declared_size,
    }


def load_all_guarded(
    paths: list[Path], X: np.ndarray, tmp_path: Path, *, timeout: float = 120
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Like :func:`load_guarded` for many files, restarting the child after a crash or hang.

    Returns the results by path and the deaths (each with the file being loaded).
    """
    results: dict[str, dict[str, Any]] = {}
    deaths: list[dict[str, Any]] = []
    todo = [str(p) for p in paths]
    while todo:
        batch, fate = load_guarded(todo, X, tmp_path, timeout=timeout)
        results.update((r["path"], r) for r in batch)
        if fate["returncode"] == 0:
            break
        deaths.append(fate)
        done = set(results) | {fate["unfinished"]}
        if fate["unfinished"] is None:  # died before the first file: nothing to skip past
            break
        todo = [p for p in todo if p not in done]
    return results, deaths
