#!/bin/bash
# EMR bootstrap action: install scaleout on every node.
# Argument 1: a pip requirement, e.g. "scaleout[spark]" (PyPI) or
# "scaleout[spark] @ https://bucket.s3.amazonaws.com/scaleout-0.1.0-py3-none-any.whl".
# EMR ships its own Spark and pyspark (on the PYTHONPATH of every step), so the default
# installs scaleout without the [spark] extra; pass "scaleout[spark]" to add PyPI pyspark.
set -euo pipefail
SPEC="${1:-scaleout}"
sudo python3 -m pip install --upgrade pip
sudo python3 -m pip install "${SPEC}"
python3 -c "import scaleout; print('scaleout', scaleout.__version__)"
