"""Exception types raised by scaleout.

Every error scaleout raises on purpose derives from :class:`ScaleoutError`. The
types that describe bad input also derive from the built-in exception a
scikit-learn user would catch (``ValueError``, ``FileNotFoundError``), so code
written against scikit-learn keeps working.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class ScaleoutError(Exception):
    """Base class of every error raised by scaleout."""


class DataError(ScaleoutError, ValueError):
    """The data cannot be used: wrong shape, non-numeric or non-finite values,
    a missing column, too few classes, ...

    The message names the column, the file (and row group or row) and what is
    expected.
    """


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file, directory or glob named by the user matches nothing."""


class InvalidParameterError(ScaleoutError, ValueError):
    """An estimator parameter has a value outside what it accepts."""


class UnsupportedOnBackend(ScaleoutError, ValueError):
    """An estimator option that the chosen backend cannot honour.

    Raised before any data moves, naming the option, its value and what the
    backend supports.
    """


class BackendUnavailable(ScaleoutError, ImportError):
    """A backend is unknown, or known but its packages are not installed.

    The message lists the valid backend names and the ``pip install`` extra.
    """


class ModelFormatError(ScaleoutError, ValueError):
    """A saved model file is corrupt, not a scaleout model, or of an
    unsupported format version."""


class ModelFileError(ModelFormatError):
    """A model file is refused by ``so.load``: unreadable, over a size or depth
    limit, or holding an attribute or array that does not fit the estimator
    (unknown name, wrong dtype or shape, an index out of range, a tree that is
    not a tree).

    The message names the file, the attribute or array and what was expected
    against what was found. A :class:`ModelFormatError`, so code that catches
    that keeps working.
    """


class NotFittedError(ScaleoutError, _SklearnNotFittedError):
    """A method that needs a fitted model was called before ``fit``.

    Also a :class:`sklearn.exceptions.NotFittedError`, so scikit-learn's
    ``check_is_fitted`` conventions hold.
    """


class NonNumericDataError(DataError, TypeError):
    """A feature column or value is not numeric (a string, an object, ...).

    Also a ``TypeError``, as NumPy's own failed float conversion is.
    """


class StorageError(ScaleoutError, OSError):
    """A file at a path or URL (``s3://...``) cannot be reached, read or written:
    a missing filesystem package (``s3fs``), a missing bucket, no permission, a
    network failure. The message names the path."""


class ClusterError(ScaleoutError):
    """A cluster cannot be started, reached, stopped or read back: an unreachable
    scheduler or master, missing credentials, a damaged cluster state file,
    another ``scaleout cluster`` command holding the state directory.

    The message names the address or the file and what to do.
    """
