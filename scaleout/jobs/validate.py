"""Check a spark-submit argument list before sending it to a cluster (e.g. as an EMR step)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exceptions import ScaleoutError

#: spark-submit options that take a value.
VALUE_OPTIONS = frozenset(
    {
        "--master",
        "--deploy-mode",
        "--py-files",
        "--conf",
        "-c",
        "--name",
        "--files",
        "--archives",
        "--jars",
        "--packages",
        "--repositories",
        "--exclude-packages",
        "--class",
        "--driver-memory",
        "--driver-cores",
        "--driver-java-options",
        "--driver-library-path",
        "--driver-class-path",
        "--executor-memory",
        "--executor-cores",
        "--num-executors",
        "--total-executor-cores",
        "--queue",
        "--properties-file",
        "--principal",
        "--keytab",
    }
)
#: spark-submit options without a value.
FLAG_OPTIONS = frozenset({"--verbose", "-v", "--supervise"})


def validate_spark_submit_args(args: Sequence[str]) -> dict[str, object]:
    """Check a ``spark-submit`` argument list that runs the scaleout job.

    Every spark-submit option (``--master``, ``--deploy-mode``, ``--py-files``,
    ``--conf k=v``...) must come before the application path (a ``.py``
    file); everything after it is the job's own flags, which must parse with
    :func:`scaleout.jobs.build_parser` and name an algorithm (or a pipeline),
    an input and an output (or a ``--spec``). A pipeline spec carried inline
    or in a local file is built, so its errors are found before sending.

    Parameters
    ----------
    args : sequence of str
        The arguments, with or without a leading ``spark-submit``.

    Returns
    -------
    dict
        ``options`` (spark-submit option → value), ``application``, ``job_args``.

    Raises
    ------
    ScaleoutError
        Naming the first problem found.
    """
    from .spec import build_parser

    items = [str(a) for a in args]
    if items and items[0].endswith("spark-submit"):
        items = items[1:]
    options: dict[str, object] = {}
    i = 0
    while i < len(items) and items[i].startswith("-"):
        name, eq, inline = items[i].partition("=")
        if name in FLAG_OPTIONS:
            options[name] = True
            i += 1
        elif name in VALUE_OPTIONS:
            if eq:
                value, i = inline, i + 1
            elif i + 1 < len(items) and not items[i + 1].startswith("--"):
                value, i = items[i + 1], i + 2
            else:
                raise ScaleoutError(f"spark-submit option {name} needs a value")
            if name in ("--conf", "-c"):
                if "=" not in value:
                    raise ScaleoutError(f"--conf expects key=value, got {value!r}")
                confs = options.setdefault("--conf", [])
                assert isinstance(confs, list)
                confs.append(value)
            else:
                options[name] = value
        else:
            raise ScaleoutError(f"unknown spark-submit option {items[i]!r} before the application")
    if i >= len(items):
        raise ScaleoutError("spark-submit arguments have no application (.py file)")
    application = items[i]
    if not application.endswith(".py"):
        raise ScaleoutError(f"the application must be a .py file, got {application!r}")
    if options.get("--deploy-mode", "client") not in ("client", "cluster"):
        raise ScaleoutError(
            f"--deploy-mode must be 'client' or 'cluster', got {options['--deploy-mode']!r}"
        )
    py_files = options.get("--py-files")
    if isinstance(py_files, str) and not all(
        p.endswith((".zip", ".py", ".egg")) for p in py_files.split(",")
    ):
        raise ScaleoutError(f"--py-files takes .zip/.egg/.py files, got {py_files!r}")
    job_args = items[i + 1 :]
    misplaced = [a for a in job_args if a.split("=")[0] in VALUE_OPTIONS | FLAG_OPTIONS]
    if misplaced:
        raise ScaleoutError(
            f"spark-submit option {misplaced[0]} comes after the application {application}; "
            "put spark-submit options before the application path"
        )
    parser = build_parser()
    try:
        parsed, unknown = parser.parse_known_args(job_args)
    except SystemExit:
        raise ScaleoutError(f"job flags do not parse: {' '.join(job_args)}") from None
    if unknown:
        raise ScaleoutError(f"unknown job flags: {' '.join(unknown)}")
    if parsed.algorithm and parsed.pipeline:
        raise ScaleoutError("job flags have both --algorithm and --pipeline; keep one")
    if not parsed.spec:
        missing = [f"--{k}" for k in ("input", "output") if not getattr(parsed, k)]
        if not parsed.algorithm and not parsed.pipeline:
            missing.insert(0, "--algorithm (or --pipeline)")
        if missing:
            raise ScaleoutError("job flags lack " + ", ".join(missing))
    _check_pipeline(parsed)
    return {"options": options, "application": application, "job_args": job_args}


def _check_pipeline(parsed: Any) -> None:
    """Build the pipeline spec the job carries (inline or in a local file; a URL is read by
    the driver): a bad spec fails here, before the job is sent, naming the place in it."""
    from .. import storage
    from ..pipeline_spec import is_inline_spec, pipeline_from_spec
    from .spec import _load_spec_file

    source = parsed.pipeline
    if source is None and parsed.spec and is_inline_spec(parsed.spec):
        source = _load_spec_file(parsed.spec).get("pipeline")
    if source is None:
        return
    if isinstance(source, str) and not is_inline_spec(source) and storage.is_url(source):
        return
    pipeline_from_spec(source)
