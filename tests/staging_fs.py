"""A real fsspec filesystem whose uploads are not atomic: the local disk under ``stagingfs://``.

Uploads to a protocol outside :data:`scaleout.storage.ATOMIC_UPLOAD_PROTOCOLS`
go through a staging object beside the target; this filesystem lets tests
exercise that path offline, in this process and in child processes
(``import staging_fs; staging_fs.register()``).
"""

from __future__ import annotations

import fsspec
from fsspec.implementations.local import LocalFileSystem

PROTOCOL = "stagingfs"


class StagingFileSystem(LocalFileSystem):
    """The local filesystem, reached through ``stagingfs:///absolute/path`` URLs."""

    protocol = (PROTOCOL,)

    @classmethod
    def _strip_protocol(cls, path):
        path = str(path)
        if path.startswith(f"{PROTOCOL}://"):
            path = path[len(f"{PROTOCOL}://") :]
        return LocalFileSystem._strip_protocol(path)


def register() -> None:
    """Make ``stagingfs://`` URLs open a :class:`StagingFileSystem`."""
    fsspec.register_implementation(PROTOCOL, StagingFileSystem, clobber=True)


def url(path) -> str:
    """The ``stagingfs://`` URL of a local absolute path."""
    return f"{PROTOCOL}://{path}"
