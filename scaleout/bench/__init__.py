"""``scaleout bench``: every algorithm x engine x size, with the peers, in one run.

Modules, one job each:

* :mod:`.cases` -- the algorithms (with the settings every engine shares),
  engines, size presets (:data:`~.cases.FULL`, :data:`~.cases.QUICK`);
* :mod:`.data` -- the generated Parquet datasets and the scoring sample;
* :mod:`.engines` -- start / configure / stop each engine, run its peer;
* :mod:`.peers` -- raw pyarrow scan, raw scikit-learn, dask-ml, hand-written pyspark.ml;
* :mod:`.memory` -- peak RSS of every process involved, sampled from a thread;
* :mod:`.quality` -- one metric per task, same code for every model;
* :mod:`.runner` -- the run; :mod:`.report` -- JSON + markdown; :mod:`.plots` -- PNGs.

Nothing here is imported by ``import scaleout``.
"""

from __future__ import annotations

from .cases import ALGORITHMS, ENGINES, FULL, QUICK
from .report import headline, markdown, write_report
from .runner import SuiteSettings, run_suite

__all__ = [
    "ALGORITHMS",
    "ENGINES",
    "FULL",
    "QUICK",
    "SuiteSettings",
    "headline",
    "markdown",
    "run_suite",
    "write_report",
]
