"""EMR request templates (``cluster.json``, ``step.json``, ``bootstrap.sh``) and their placeholders.

The templates ship inside the package, in ``scaleout/emr/resources/`` (package
data, so a wheel install has them); ``cluster/emr`` in the source tree is a
symlink to that directory.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..exceptions import ScaleoutError

_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

#: The files a template directory holds.
TEMPLATE_FILES = ("cluster.json", "step.json", "bootstrap.sh")


def template_dir() -> Path:
    """``$SCALEOUT_EMR_TEMPLATES`` if set, else the templates inside the installed package.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ScaleoutError
        When the directory does not exist.
    """
    env = os.environ.get("SCALEOUT_EMR_TEMPLATES")
    path = Path(env) if env else Path(str(resources.files(__package__).joinpath("resources")))
    if not path.is_dir():
        raise ScaleoutError(
            f"EMR templates not found in {path}; set SCALEOUT_EMR_TEMPLATES to a directory "
            "holding cluster.json and step.json"
        )
    return path


def load_template(name: str) -> Any:
    """The parsed JSON template ``name`` (``cluster.json``, ``step.json``).

    Raises
    ------
    ScaleoutError
        When the file is missing or not valid JSON.
    """
    path = template_dir() / name
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ScaleoutError(f"EMR template {name} not found in {path.parent}") from None
    except json.JSONDecodeError as exc:
        raise ScaleoutError(f"EMR template {path} is not valid JSON: {exc}") from None


def fill(template: Any, values: dict[str, Any]) -> Any:
    """Replace ``${NAME}`` placeholders in every string of ``template``.

    A string that is exactly one placeholder takes the value itself (an int
    stays an int; a list is spliced into the enclosing list); otherwise the
    placeholder is replaced by text.

    Raises
    ------
    ScaleoutError
        For a placeholder without a value.
    """
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        out: list[Any] = []
        for item in template:
            whole = _PLACEHOLDER.fullmatch(item) if isinstance(item, str) else None
            if whole and isinstance(values.get(whole.group(1)), list):
                out.extend(values[whole.group(1)])
            else:
                out.append(fill(item, values))
        return out
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole:
            return _value(whole.group(1), values)
        return _PLACEHOLDER.sub(lambda m: str(_value(m.group(1), values)), template)
    return template


def _value(name: str, values: dict[str, Any]) -> Any:
    if name not in values or values[name] is None:
        raise ScaleoutError(f"EMR template placeholder ${{{name}}} has no value")
    return values[name]
