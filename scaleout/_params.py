"""Parameter validation, before any data moves.

The estimators mirror scikit-learn's parameters, so they are checked against
the mirrored class's own constraint table; scikit-learn's messages already
name the parameter, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from .exceptions import InvalidParameterError

try:  # scikit-learn's validator is private API: use it when present.
    from sklearn.utils._param_validation import InvalidParameterError as _SkInvalid
    from sklearn.utils._param_validation import validate_parameter_constraints
except ImportError:  # pragma: no cover - a future scikit-learn moved it
    validate_parameter_constraints = None
    _SkInvalid = ValueError


def validate_params(name: str, params: dict[str, Any], constraints: dict[str, Any]) -> None:
    """Check ``params`` against scikit-learn style ``constraints``.

    Parameters
    ----------
    name : str
        The estimator's class name, for the message.
    params : dict
        Parameter values, ``backend`` excluded.
    constraints : dict
        A scikit-learn ``_parameter_constraints`` table.

    Raises
    ------
    InvalidParameterError
        Naming the parameter, its value and the accepted values.
    """
    if validate_parameter_constraints is None:
        return
    try:
        validate_parameter_constraints(constraints, params, caller_name=name)
    except _SkInvalid as exc:
        raise InvalidParameterError(str(exc)) from None


def validate_backend_param(name: str, backend: Any) -> None:
    """Check the ``backend`` parameter is a string (its name is checked when resolved)."""
    if not isinstance(backend, str):
        raise InvalidParameterError(
            f"The 'backend' parameter of {name} must be a str ('auto' or an engine name), "
            f"got {backend!r}"
        )
