"""Entry point of a training job: ``python -m scaleout.jobs`` or ``spark-submit .../__main__.py``.

Absolute imports only: spark-submit runs this file as a script, with scaleout
importable from ``--py-files scaleout.zip`` (or an installed package).
"""

from __future__ import annotations

import sys

from scaleout.jobs import main

if __name__ == "__main__":
    sys.exit(main())
