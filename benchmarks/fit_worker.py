"""A fit server for benchmarks/bench_before_after.py: one process per source tree.

Imports whichever ``scaleout`` comes first on ``PYTHONPATH`` (the tree under
test), then reads one JSON request per line on stdin and answers one JSON line
on stdout: ``{"algorithm", "engine", "path", "target", "params"}`` →
``{"seconds", "passes"}``, the seconds measured around ``fit`` alone (the
process, its engine session and its imports are already warm). A request
``{"quit": true}`` ends it.
"""

from __future__ import annotations

import json
import sys
import time
import warnings


def main() -> int:
    import scaleout as so

    so.set_config(progress=False)  # no bars on stderr between the timed fits
    print(json.dumps({"ready": so.__file__}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            return 0
        estimator = getattr(so, request["algorithm"])(
            backend=request["engine"], **request["params"]
        )
        dataset = so.read_parquet(request["path"], target=request["target"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            estimator.fit(dataset)
            seconds = time.perf_counter() - start
        answer = {"seconds": seconds, "passes": estimator.fit_stats_.get("passes")}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
