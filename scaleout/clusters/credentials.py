"""The credentials of the clusters ``scaleout cluster up`` starts, and how clients find them.

Each ``cluster up`` makes new credentials in ``<state dir>/<engine>-credentials/``
(mode 0700, files 0600):

- **Dask**: a self-signed TLS key and certificate (``distributed.Security.temporary``,
  which needs the ``cryptography`` package): ``ca.pem``, ``cert.pem``, ``key.pem``. The
  scheduler, the workers and the nannies use them and require them of every peer
  (mutual TLS, ``require_encryption``): a client without them is refused.
- **Spark**: a random 256-bit secret in ``spark.properties`` (``spark.authenticate``),
  read by the master and the workers (``--properties-file``), by sessions scaleout
  builds and by ``scaleout submit``; it also turns the master's REST submission
  server off (``cluster up --spark-rest`` turns it on for the master alone) and
  disables killing applications from the web UIs.

:func:`dask_security` and :func:`spark_auth_conf` find the credentials of a recorded
cluster by its address; a client in another process of the same user finds them the
same way (same ``$SCALEOUT_STATE_DIR``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from ..exceptions import ClusterError
from .state import credentials_dir, read_state, state_path, write_private

#: Settings of every process of a scaleout Spark cluster, and of its clients.
SPARK_SECURE_CONF = {
    "spark.authenticate": "true",
    "spark.master.rest.enabled": "false",
    "spark.ui.killEnabled": "false",
}


def make_dask_credentials() -> dict[str, str]:
    """New TLS key and certificate for a Dask cluster, written 0600.

    Returns
    -------
    dict
        ``tls_ca_file``, ``tls_cert``, ``tls_key``: the paths of the PEM files.

    Raises
    ------
    ClusterError
        The ``cryptography`` package is missing.
    """
    try:
        from distributed import Security

        temporary = Security.temporary()
    except ImportError:
        raise ClusterError(
            "a Dask cluster's TLS credentials need the 'cryptography' package: "
            "pip install 'scaleout[dask]'"
        ) from None
    directory = credentials_dir("dask", fresh=True)
    return {
        "tls_ca_file": str(write_private(directory / "ca.pem", temporary.tls_ca_file)),
        "tls_cert": str(write_private(directory / "cert.pem", temporary.tls_client_cert)),
        "tls_key": str(write_private(directory / "key.pem", temporary.tls_client_key)),
    }


def make_spark_credentials() -> str:
    """A new Spark secret in a 0600 properties file; its path."""
    directory = credentials_dir("spark", fresh=True)
    conf = {**SPARK_SECURE_CONF, "spark.authenticate.secret": secrets.token_hex(32)}
    text = "".join(f"{key} {value}\n" for key, value in conf.items())
    return str(write_private(directory / "spark.properties", text))


def recorded(engine: str, address: str) -> dict[str, Any] | None:
    """The recorded ``engine`` cluster at ``address``, or None (also for a damaged state file)."""
    if not (state_path() / f"{engine}.json").exists():
        return None  # (and no state directory created by a look-up)
    try:
        state = read_state(engine)
    except ClusterError:
        return None
    if state is None or state.get("address") != address:
        return None
    return state


def security_from(files: dict[str, str]) -> Any:
    """A client's ``distributed.Security`` from the paths :func:`make_dask_credentials` wrote."""
    from distributed import Security

    return Security(
        tls_ca_file=files["tls_ca_file"],
        tls_client_cert=files["tls_cert"],
        tls_client_key=files["tls_key"],
        require_encryption=True,
    )


def dask_security(address: str) -> Any:
    """The ``distributed.Security`` of the recorded Dask cluster at ``address``; None if none.

    Parameters
    ----------
    address : str
        ``tls://host:port``, as ``cluster up`` printed it.
    """
    state = recorded("dask", address)
    if state is None or not isinstance(state.get("security"), dict):
        return None
    return security_from(state["security"])


def tls_twin(address: str) -> str | None:
    """For ``tcp://h:p``: ``tls://h:p`` when that is the recorded (TLS) Dask cluster."""
    if not address.startswith("tcp://"):
        return None
    twin = "tls://" + address[len("tcp://") :]
    return twin if recorded("dask", twin) is not None else None


def read_properties(path: str | Path) -> dict[str, str]:
    """The ``key value`` lines of a Spark properties file."""
    conf = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf[key] = value.strip()
    return conf


def spark_properties_file(master: str) -> str | None:
    """The properties file (with the secret) of the recorded Spark cluster at ``master``."""
    state = recorded("spark", master)
    path = None if state is None else state.get("properties_file")
    return path if path and Path(path).exists() else None


def spark_auth_conf(master: str) -> dict[str, str]:
    """``spark.authenticate`` and the secret of the recorded Spark cluster at ``master``.

    Returns
    -------
    dict
        Empty when ``master`` is not a cluster ``scaleout cluster up`` recorded.
    """
    path = spark_properties_file(master)
    if path is None:
        return {}
    conf = read_properties(path)
    return {k: conf[k] for k in ("spark.authenticate", "spark.authenticate.secret") if k in conf}
