"""Read a model file's zip archive within limits: members, ``model.json``, ``.npy`` arrays.

A model file is untrusted input. Before anything is decompressed, the zip's
central directory is checked (member count and names, declared sizes, the
ratio of decompressed to file size, no encryption); then every member is read
with a byte limit, whatever its header declares. ``model.json`` is bounded in
size and nesting depth before it is parsed; an ``.npy`` member's header is
parsed by itself and its dtype, shape and size are checked before its array
is allocated. Every refusal is a :class:`~scaleout.exceptions.ModelFileError`
naming the file, the member and what is wrong.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from .exceptions import ModelFileError

__all__ = ["ModelArchive", "ModelFileLimits"]

MiB = 1 << 20
GiB = 1 << 30
_MEMBER = re.compile(r"arrays/[0-9]{1,9}\.npy")
_DTYPE_KINDS = {"b": "bool", "i": "int", "u": "unsigned int", "f": "float", "U": "str"}


@dataclass(frozen=True)
class ModelFileLimits:
    """Bounds on what loading a model file may read and allocate.

    The defaults hold real models (e.g. a 10,000 x 10,000 PCA, a tree of
    millions of nodes) and refuse decompression bombs: a 1 MB file cannot
    inflate past ``max_ratio`` MB unless it stays below ``ratio_floor_bytes``.

    Parameters
    ----------
    max_members : int, default=10_000
        Zip members (``model.json`` and one per array).
    max_member_bytes : int, default=1 GiB
        Decompressed bytes of one member.
    max_total_bytes : int, default=2 GiB
        Decompressed bytes of all members together.
    max_ratio : float, default=100
        Decompressed bytes per byte of the file, enforced once the decompressed
        total passes ``ratio_floor_bytes``.
    ratio_floor_bytes : int, default=64 MiB
        Decompressed total below which any ratio is accepted (small models of
        zeros compress very well).
    max_array_elements : int, default=2**28
        Elements of one array.
    max_json_bytes : int, default=16 MiB
        Size of ``model.json``.
    max_json_depth : int, default=64
        Nesting depth of ``model.json`` (arrays and objects).
    """

    max_members: int = 10_000
    max_member_bytes: int = GiB
    max_total_bytes: int = 2 * GiB
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 64 * MiB
    max_array_elements: int = 1 << 28
    max_json_bytes: int = 16 * MiB
    max_json_depth: int = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (non-finite floats are written as __float__)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        twice = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate key {twice!r}")
    return result


def json_depth(text: bytes) -> int:
    """Nesting depth of the JSON ``text`` (brackets outside strings), without recursion."""
    stripped = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", text)
    codes = np.frombuffer(stripped, dtype=np.uint8)
    steps = np.zeros(len(codes), dtype=np.int64)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


class ModelArchive:
    """An open model file, read within :class:`ModelFileLimits`.

    Parameters
    ----------
    source : path or binary file object
        The zip archive.
    path : str
        The name used in messages.
    size : int
        The file's size in bytes.
    limits : ModelFileLimits
    """

    def __init__(self, source: Any, path: str, size: int, limits: ModelFileLimits) -> None:
        self.path = path
        self.limits = limits
        self.budget = limits.max_total_bytes
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise self.error(f"is not a scaleout model file (not a zip archive: {exc})") from None
        try:
            self.members = self._check_directory(size)
        except BaseException:
            self.zip.close()
            raise

    # ----------------------------------------------------------------- helpers
    def error(self, what: str) -> ModelFileError:
        return ModelFileError(f"{self.path!r}: {what}")

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> ModelArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_directory(self, size: int) -> dict[str, zipfile.ZipInfo]:
        limits = self.limits
        infos = self.zip.infolist()
        if len(infos) > limits.max_members:
            raise self.error(
                f"has {len(infos)} zip members; the limit is {limits.max_members} "
                "(ModelFileLimits.max_members)"
            )
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if name in members:
                raise self.error(f"zip member {name!r} appears twice")
            if name != "model.json" and not _MEMBER.fullmatch(name):
                raise self.error(
                    f"unexpected zip member {name!r}; a model file holds model.json and "
                    "arrays/<n>.npy only"
                )
            if info.flag_bits & 0x1:
                raise self.error(f"zip member {name!r} is encrypted")
            limit = limits.max_json_bytes if name == "model.json" else limits.max_member_bytes
            if info.file_size > limit:
                raise self.error(
                    f"zip member {name!r} declares {info.file_size} bytes decompressed; the "
                    f"limit is {limit} bytes"
                )
            members[name] = info
            total += info.file_size
        if total > limits.max_total_bytes:
            raise self.error(
                f"declares {total} bytes decompressed in all; the limit is "
                f"{limits.max_total_bytes} bytes (ModelFileLimits.max_total_bytes)"
            )
        if total > limits.ratio_floor_bytes and total > limits.max_ratio * max(size, 1):
            raise self.error(
                f"declares {total} bytes decompressed from a {size}-byte file (ratio "
                f"{total / max(size, 1):.0f}; the limit is {limits.max_ratio:g} above "
                f"{limits.ratio_floor_bytes} bytes): a decompression bomb?"
            )
        if "model.json" not in members:
            raise self.error("is not a scaleout model file (no model.json)")
        return members

    def _open(self, name: str) -> IO[bytes]:
        info = self.members.get(name)
        if info is None:
            raise self.error(f"missing zip member {name!r}")
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise self.error(f"zip member {name!r} is unreadable: {exc}") from None

    def _charge(self, name: str, n_bytes: int) -> None:
        self.budget -= n_bytes
        if self.budget < 0:
            raise self.error(
                f"reading {name!r} passes the limit of {self.limits.max_total_bytes} bytes "
                "decompressed in all (ModelFileLimits.max_total_bytes)"
            )

    def read_bytes(self, name: str, limit: int) -> bytes:
        """The decompressed bytes of ``name``, refusing more than ``limit``."""
        try:
            with self._open(name) as handle:
                data = handle.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise self.error(f"zip member {name!r} is corrupt: {exc}") from None
        if len(data) > limit:
            raise self.error(f"zip member {name!r} inflates past the limit of {limit} bytes")
        self._charge(name, len(data))
        return data

    # --------------------------------------------------------------- model.json
    def document(self) -> Any:
        """``model.json``, parsed after its size and nesting depth are checked."""
        limits = self.limits
        text = self.read_bytes("model.json", limits.max_json_bytes)
        depth = json_depth(text)
        if depth > limits.max_json_depth:
            raise self.error(
                f"model.json is nested {depth} levels deep; the limit is "
                f"{limits.max_json_depth} (ModelFileLimits.max_json_depth)"
            )
        try:
            return json.loads(
                text.decode("utf-8"),
                parse_constant=_reject_constant,
                object_pairs_hook=_no_duplicates,
            )
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise self.error(f"model.json is corrupt: {exc}") from None

    # ------------------------------------------------------------------- arrays
    def array(self, name: str, where: str) -> np.ndarray:
        """The array in member ``name``, checked before it is allocated.

        Parameters
        ----------
        name : str
            The member (``arrays/<n>.npy``).
        where : str
            What the array is (``attribute 'coef_'``), for messages.
        """
        if not _MEMBER.fullmatch(str(name)):
            raise self.error(f"{where}: {name!r} is not an array member (arrays/<n>.npy)")
        limits = self.limits
        info = self.members.get(name)
        if info is None:
            raise self.error(f"{where}: missing array member {name!r}")
        try:
            with self._open(name) as handle:
                shape, fortran, dtype, header_len = self._header(handle, name, where)
                count = int(np.prod(shape, dtype=object)) if shape else 1
                if count > limits.max_array_elements:
                    raise self.error(
                        f"{where}: array {name!r} declares shape {shape} ({count} elements); "
                        f"the limit is {limits.max_array_elements} "
                        "(ModelFileLimits.max_array_elements)"
                    )
                n_bytes = count * dtype.itemsize
                if header_len + n_bytes != info.file_size:
                    raise self.error(
                        f"{where}: array {name!r} declares shape {shape} of {dtype} "
                        f"({n_bytes} bytes) but its member holds "
                        f"{info.file_size - header_len} bytes of data"
                    )
                self._charge(name, header_len + n_bytes)
                array = np.empty(count, dtype=dtype)
                got = _read_into(handle, array)
                if got != n_bytes or handle.read(1):
                    raise self.error(f"{where}: array {name!r} data is truncated or too long")
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise self.error(f"{where}: array member {name!r} is corrupt: {exc}") from None
        array = array.reshape(shape, order="F" if fortran else "C")
        if not dtype.isnative:
            array = array.astype(dtype.newbyteorder("="))
        codes = (
            np.ascontiguousarray(array).reshape(-1).view(np.uint32) if dtype.kind == "U" else None
        )
        if codes is not None and codes.size and codes.max() > 0x10FFFF:
            # NumPy would fail with a SystemError turning these into Python strings
            raise self.error(
                f"{where}: array {name!r} holds a character code above U+10FFFF (not Unicode)"
            )
        return array

    def _header(
        self, handle: IO[bytes], name: str, where: str
    ) -> tuple[tuple[int, ...], bool, np.dtype, int]:
        fmt = np.lib.format
        counter = _Counting(handle)
        try:
            version = fmt.read_magic(counter)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(counter)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(counter)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        # NumPy's header parser (literal_eval, dtype construction) may raise any of these
        # on hostile input; none of them is allowed to escape.
        except (
            ValueError,
            TypeError,
            SyntaxError,
            RecursionError,
            MemoryError,
            OverflowError,
            KeyError,
            IndexError,
            AttributeError,
        ) as exc:
            raise self.error(f"{where}: array {name!r} is unreadable: {exc}") from None
        if (
            dtype.kind not in _DTYPE_KINDS
            or dtype.fields is not None
            or dtype.subdtype is not None
            or dtype.hasobject
            or dtype.itemsize > 1 << 16
        ):
            raise self.error(
                f"{where}: array {name!r} is unreadable: dtype {dtype.str!r} is not allowed "
                "(never objects, which would need pickle); a model array is bool, int, "
                "unsigned int, float or str"
            )
        if len(shape) > 8 or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise self.error(f"{where}: array {name!r} has an invalid shape {shape!r}")
        return tuple(shape), bool(fortran), dtype, counter.count


def _read_into(handle: IO[bytes], array: np.ndarray, chunk: int = 16 * MiB) -> int:
    """Fill ``array``'s memory from ``handle`` in chunks; the number of bytes read."""
    view = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        data = handle.read(min(chunk, len(view) - done))
        if not data:
            break
        view[done : done + len(data)] = data
        done += len(data)
    return done


class _Counting:
    """A reader that counts the bytes read through it (the .npy header's length)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data
