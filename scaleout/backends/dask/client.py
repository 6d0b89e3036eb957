"""The ``distributed.Client`` of a scheduler address: with its credentials, failing fast.

A ``tls://`` address recorded by ``scaleout cluster up`` (in the state
directory, see :mod:`scaleout.clusters.credentials`) is opened with that
cluster's TLS credentials; any other address with Dask's own configuration
(``distributed.comm.tls.*`` for a TLS cluster of your own). An address nothing
listens on fails in a moment, and one that does not answer in
:data:`CONNECT_TIMEOUT` seconds fails then, each with a
:class:`~scaleout.exceptions.ClusterError` naming the address.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlparse

from ...exceptions import ClusterError

#: Seconds to reach a scheduler (TCP connect) and then to complete the handshake.
PROBE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0

_CLIENTS: dict[str, Any] = {}


def _probe(address: str) -> None:
    """Fail at once when nothing listens at ``address`` (``tcp``/``tls`` only)."""
    parsed = urlparse(address)
    if parsed.scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise ClusterError(
            f"cannot read a host and port from the dask scheduler address {address!r}; "
            "expected e.g. 'tls://127.0.0.1:8786'"
        )
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT).close()
    except OSError as exc:
        why = exc.strerror or str(exc) or type(exc).__name__
        raise ClusterError(
            f"cannot reach the dask scheduler at {address}: {why}; is the cluster up? "
            "(scaleout cluster status)"
        ) from None


def open_client(address: str) -> Any:
    """The (cached) ``distributed.Client`` of the scheduler at ``address``.

    Parameters
    ----------
    address : str
        ``tls://host:port`` (a cluster from ``scaleout cluster up``: its
        credentials are found in the state directory), ``tcp://host:port``, ...

    Returns
    -------
    distributed.Client

    Raises
    ------
    ClusterError
        Nothing listens there, the handshake failed or timed out, a
        ``tcp://`` address of a recorded TLS cluster, a ``tls://`` address
        without credentials.
    """
    client = _CLIENTS.get(address)
    if client is not None and client.status == "running":
        return client
    from distributed import Client

    from ...clusters.credentials import dask_security, tls_twin

    _probe(address)
    twin = tls_twin(address)
    if twin is not None:
        raise ClusterError(
            f"the dask cluster at {address} uses TLS: connect to {twin!r} "
            "(its credentials are found in the cluster state directory)"
        )
    security = dask_security(address)
    if security is None and address.startswith("tls://"):
        import dask

        if not dask.config.get("distributed.comm.tls.ca-file", None):
            from ...clusters.state import state_path

            raise ClusterError(
                f"no credentials for the TLS dask scheduler at {address}: it is not the cluster "
                f"recorded in {state_path()} (scaleout cluster status; set SCALEOUT_STATE_DIR to "
                "the directory of the `cluster up` that started it), and no "
                "distributed.comm.tls configuration is set"
            )
    try:
        client = Client(
            address, security=security, timeout=CONNECT_TIMEOUT, set_as_default=False
        )
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot connect to the dask scheduler at {address}: {exc}"
        ) from None
    _CLIENTS[address] = client
    return client
