"""The engines of the suite: start, configure, run the matching peer, stop.

One engine is up at a time. Each reports its start-up cost apart from the
fits: the import time (measured in a fresh interpreter), the start of its
cluster or session, and a warm-up (every algorithm fitted once on a tiny
dataset by scaleout, and the peer once, so the first measured case does not
pay for imports on the workers, class loading or JIT compilation).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from .._config import config_context, get_config
from . import peers
from .quality import Fitted

__all__ = ["ENGINE_CLASSES", "Engine", "import_seconds", "make_engine"]

_IMPORTS = {
    "sklearn": "scaleout, sklearn.linear_model, sklearn.tree, sklearn.cluster, "
    "sklearn.decomposition",
    "dask": "scaleout, scaleout.backends.dask, distributed",
    "spark": "scaleout, scaleout.backends.spark, pyspark.ml",
}


def import_seconds(backend: str) -> float:
    """Seconds to import scaleout and ``backend``'s packages in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); "
        f"import {_IMPORTS[backend]}; print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return float(out.stdout.strip().splitlines()[-1])


class Engine:
    """Base class: the sklearn engine (nothing to start; the peer is raw scikit-learn).

    Parameters
    ----------
    workers : int
        Worker processes (or ``local[N]`` threads) of the engines that have them.
    """

    name = "sklearn"
    backend = "sklearn"
    peer = "sklearn-raw"

    def __init__(self, workers: int = 2, **options: Any) -> None:
        self.workers = workers
        self.options = options
        self.details: dict[str, Any] = {}

    @property
    def config(self) -> dict[str, Any]:
        """scaleout config for this engine's fits (passed to ``config_context``)."""
        return {}

    def start(self) -> float:
        """Start the engine; return the seconds it took."""
        return 0.0

    def stop(self) -> None:
        """Stop what :meth:`start` started (safe to call twice or after a failed start)."""

    def pids(self) -> list[int]:
        """Processes outside this process's tree that the engine runs (for the memory sampler)."""
        return []

    @contextlib.contextmanager
    def peer_context(self) -> Iterator[None]:
        """Where the peer runs (a Dask scheduler, a Spark session)."""
        yield

    def run_peer(self, name: str, params: dict[str, Any], task: str, data: Any) -> Fitted:
        """Fit the peer on ``data`` (a :class:`~scaleout.bench.data.BenchData`)."""
        return peers.sklearn_raw(name, params, task, data.info.files, data.features)


class DaskLocalEngine(Engine):
    """scaleout's dask engine on this machine's threads; dask-ml on the threaded scheduler."""

    name = "dask-local"
    backend = "dask"
    peer = "dask-ml"

    @property
    def config(self) -> dict[str, Any]:
        return {"dask_scheduler": "threads"}

    @contextlib.contextmanager
    def peer_context(self) -> Iterator[None]:
        import dask

        with dask.config.set(scheduler="threads"):
            yield

    def run_peer(self, name: str, params: dict[str, Any], task: str, data: Any) -> Fitted:
        with self.peer_context():
            return peers.dask_ml(name, params, task, data.path, data.features)


class DaskClusterEngine(DaskLocalEngine):
    """A ``LocalCluster`` of worker processes (one thread each) on 127.0.0.1."""

    name = "dask-cluster"

    def __init__(self, workers: int = 2, **options: Any) -> None:
        super().__init__(workers, **options)
        self._cluster: Any = None
        self._client: Any = None

    @property
    def config(self) -> dict[str, Any]:
        return {"dask_scheduler": self._cluster.scheduler_address}

    def start(self) -> float:
        from distributed import Client, LocalCluster

        begin = time.perf_counter()
        self._cluster = LocalCluster(
            n_workers=self.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        self._client = Client(self._cluster)
        self.details = {"scheduler": self._cluster.scheduler_address, "workers": self.workers}
        return time.perf_counter() - begin

    @contextlib.contextmanager
    def peer_context(self) -> Iterator[None]:
        yield  # the Client is the default scheduler while it is open

    def stop(self) -> None:
        for thing in (self._client, self._cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        self._client = self._cluster = None


class SparkLocalEngine(Engine):
    """scaleout's spark engine and hand-written pyspark.ml on ``local[N]``."""

    name = "spark-local"
    backend = "spark"
    peer = "pyspark.ml"

    def __init__(self, workers: int = 2, **options: Any) -> None:
        super().__init__(workers, **options)
        self._spark_config: dict[str, Any] = {"spark_master": f"local[{workers}]"}
        self._started_session = False

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._spark_config)

    def session(self) -> Any:
        """The engine's SparkSession (built on first use)."""
        from ..backends.spark.session import get_session

        with config_context(**self.config):
            return get_session()

    def start(self) -> float:
        from pyspark.sql import SparkSession

        begin = time.perf_counter()
        # the JVM binds to loopback anyway (LOCAL_DEFAULTS); this only quiets its warning
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        self._started_session = SparkSession.getActiveSession() is None
        spark = self.session()
        self.details = {"master": spark.sparkContext.master, "spark": spark.version}
        return time.perf_counter() - begin

    def run_peer(self, name: str, params: dict[str, Any], task: str, data: Any) -> Fitted:
        spark = self.session()
        out = peers.pyspark_ml(spark, data.path, name, params)
        return peers.pyspark_fitted(spark, out, task, data.features)

    def stop(self) -> None:
        if not self._started_session:
            return  # a session someone else built (a notebook, a test fixture) stays
        with contextlib.suppress(Exception):
            from pyspark.sql import SparkSession

            session = SparkSession.getActiveSession()
            if session is not None:
                session.stop()
        self._started_session = False


class SparkStandaloneEngine(SparkLocalEngine):
    """A Spark standalone master and N one-core workers from :func:`scaleout.clusters.up`.

    The cluster's state file goes to a private temporary directory, so a
    cluster the user already runs is neither seen nor touched.
    """

    name = "spark-standalone"

    def __init__(self, workers: int = 2, **options: Any) -> None:
        super().__init__(workers, **options)
        self._state: dict[str, Any] | None = None
        self._state_dir: tempfile.TemporaryDirectory[str] | None = None
        self._old_env: str | None = None

    def start(self) -> float:
        from .. import clusters
        from ..connect import connect

        memory = str(self.options.get("executor_memory", "3g"))
        begin = time.perf_counter()
        self._state_dir = tempfile.TemporaryDirectory(prefix="scaleout-bench-state-")
        self._old_env = os.environ.get("SCALEOUT_STATE_DIR")
        os.environ["SCALEOUT_STATE_DIR"] = self._state_dir.name
        self._state = clusters.up(
            "spark", workers=self.workers, cores=1, memory=memory, port=0, ui_port=0
        )
        cluster_s = time.perf_counter() - begin
        with config_context():
            connect(self._state["address"])  # stops a local session; loopback driver settings
            conf = dict(get_config()["spark_conf"])
        conf.update(
            {
                "spark.executor.memory": memory,
                "spark.executor.cores": "1",
                "spark.cores.max": str(self.workers),
            }
        )
        self._spark_config = {"spark_master": self._state["address"], "spark_conf": conf}
        self._started_session = True
        spark = self.session()
        self.details = {
            "master": spark.sparkContext.master,
            "spark": spark.version,
            "cluster_start_s": cluster_s,
            "executor_memory": memory,
        }
        return time.perf_counter() - begin

    def pids(self) -> list[int]:
        if self._state is None:
            return []
        return [int(p["pid"]) for p in self._state["processes"]]

    def stop(self) -> None:
        super().stop()
        from .. import clusters

        try:
            if self._state is not None:
                clusters.down("spark")
        finally:
            self._state = None
            if self._state_dir is not None:
                if self._old_env is None:
                    os.environ.pop("SCALEOUT_STATE_DIR", None)
                else:
                    os.environ["SCALEOUT_STATE_DIR"] = self._old_env
                self._state_dir.cleanup()
                self._state_dir = None


ENGINE_CLASSES: dict[str, type[Engine]] = {
    cls.name: cls
    for cls in (Engine, DaskLocalEngine, DaskClusterEngine, SparkLocalEngine, SparkStandaloneEngine)
}


def make_engine(name: str, workers: int = 2, **options: Any) -> Engine:
    """The engine called ``name`` (see :data:`scaleout.bench.cases.ENGINES`)."""
    return ENGINE_CLASSES[name](workers, **options)
