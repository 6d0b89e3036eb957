"""Reader for the IDX file format used by MNIST.

An IDX file is a 4-byte magic number ``00 00 TT DD`` (``TT`` the element type,
``DD`` the number of dimensions), ``DD`` big-endian uint32 dimension sizes,
then the elements in C order, big-endian. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from scaleout.exceptions import DataError, DataFileNotFoundError

__all__ = ["IDX_TYPES", "read_idx"]

#: IDX type code -> numpy dtype of the (big-endian) payload.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """Return the file's (decompressed) bytes; gzip is detected by magic bytes."""
    if not path.is_file():
        raise DataFileNotFoundError(f"IDX file not found: {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"IDX file {str(path)!r} starts with the gzip magic bytes but cannot "
            f"be decompressed: {exc}"
        ) from exc


def read_idx_with_magic(path: str | os.PathLike[str]) -> tuple[int, np.ndarray]:
    """Read an IDX file and also return its magic number.

    Parameters
    ----------
    path : str or path-like
        The file, raw or gzip-compressed.

    Returns
    -------
    magic : int
        The 32-bit magic number (e.g. 2051 for MNIST images, 2049 for labels).
    data : numpy.ndarray
        The array, in native byte order (see :func:`read_idx`).
    """
    path = Path(path)
    data = _read_bytes(path)
    name = str(path)
    if len(data) < 4:
        raise DataError(
            f"IDX file {name!r} is too short for the 4-byte magic number ({len(data)} bytes)"
        )
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    magic = struct.unpack(">I", data[:4])[0]
    if zero0 != 0 or zero1 != 0:
        raise DataError(
            f"IDX file {name!r} has a bad magic number 0x{magic:08X}: its first two "
            f"bytes must be zero (is this an IDX file?)"
        )
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise DataError(
            f"IDX file {name!r} has unsupported type code 0x{type_code:02X} "
            f"(magic 0x{magic:08X}); supported: {known}"
        )
    if ndim < 1:
        raise DataError(f"IDX file {name!r} declares 0 dimensions (magic 0x{magic:08X})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"IDX file {name!r} is truncated inside its header: {ndim} dimensions "
            f"need {header} header bytes, the file has {len(data)}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "too long"
        raise DataError(
            f"IDX file {name!r} is {what}: dims {tuple(dims)} of "
            f"{dtype.itemsize}-byte elements need {expected} payload bytes, "
            f"found {actual}"
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    # native byte order, writable, owning its memory
    array = array.astype(dtype.newbyteorder("="), copy=True).reshape(dims)
    return magic, array


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (as used by MNIST) into a numpy array.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the first two bytes
        (``1f 8b``), not from the file name.

    Returns
    -------
    numpy.ndarray
        Array of the declared shape, in native byte order. The dtype follows
        the type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
        0x0D float32, 0x0E float64.

    Raises
    ------
    DataFileNotFoundError
        ``path`` is not a file.
    DataError
        Bad magic number (first two bytes not zero), unsupported type code,
        zero dimensions, a corrupt gzip stream, or a payload whose size is not
        exactly the product of the dimensions times the element size (the
        message names the file and the expected and actual byte counts).

    Examples
    --------
    >>> images = read_idx("t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
    >>> images.shape, images.dtype  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'))
    """
    return read_idx_with_magic(path)[1]
