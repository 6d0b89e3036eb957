"""Count a fit's Spark jobs and, when asked, print their progress.

:class:`JobTracker` puts the fit's jobs in one Spark job group (so they can
be counted afterwards and show up together in the Spark UI) and, when
``so.get_config()["progress"]`` is true, polls ``statusTracker()`` from a
thread and prints one line per change of a running stage, at most every
:data:`POLL_SECONDS`.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from types import TracebackType
from typing import Any

from ..._config import get_config

log = logging.getLogger("scaleout")

POLL_SECONDS = 1.0


class JobTracker:
    """Context manager around a fit: a job group, job count and progress lines.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    description : str
        Shown in the Spark UI and in progress lines ("LogisticRegression").
    progress : bool, optional
        Print progress lines to stderr; default ``so.get_config()["progress"]``
        (read in the calling thread: the config is thread-local).
    """

    def __init__(self, spark: Any, description: str, progress: bool | None = None) -> None:
        self.context = spark.sparkContext
        self.description = description
        self.progress = get_config()["progress"] if progress is None else progress
        self.group = f"scaleout-{uuid.uuid4().hex[:12]}"
        self.jobs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous_group: str | None = None

    def __enter__(self) -> JobTracker:
        self._previous_group = self.context.getLocalProperty("spark.jobGroup.id")
        self.context.setJobGroup(self.group, f"scaleout: {self.description}")
        if self.progress:
            self._thread = threading.Thread(
                target=self._poll, name="scaleout-spark-progress", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.jobs = len(self.context.statusTracker().getJobIdsForGroup(self.group))
        except Exception:
            self.jobs = 0
        if self._previous_group is None:
            self.context.setLocalProperty("spark.jobGroup.id", None)
            self.context.setLocalProperty("spark.job.description", None)
        else:
            self.context.setLocalProperty("spark.jobGroup.id", self._previous_group)
        log.info("spark %s: %d Spark job(s)", self.description, self.jobs)

    def _poll(self) -> None:
        tracker = self.context.statusTracker()
        shown: dict[int, tuple[int, int]] = {}
        while not self._stop.wait(POLL_SECONDS):
            try:
                lines = self._lines(tracker, shown)
            except Exception:
                return
            for line in lines:
                print(line, file=sys.stderr, flush=True)

    def _lines(self, tracker: Any, shown: dict[int, tuple[int, int]]) -> list[str]:
        lines = []
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            if job is None or job.status != "RUNNING":
                continue
            for stage_id in job.stageIds:
                stage = tracker.getStageInfo(stage_id)
                if stage is None or stage.numActiveTasks + stage.numCompletedTasks == 0:
                    continue
                done = (stage.numCompletedTasks, stage.numTasks)
                if shown.get(stage_id) == done:
                    continue
                shown[stage_id] = done
                lines.append(
                    f"[scaleout spark] {self.description}: job {job_id} stage {stage_id} "
                    f"{done[0]}/{done[1]} tasks ({time.strftime('%H:%M:%S')})"
                )
        return lines
