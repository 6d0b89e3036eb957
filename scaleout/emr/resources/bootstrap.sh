#!/bin/bash
# EMR bootstrap action: install scaleout on every node.
# Argument 1: a pip requirement, e.g. "scaleout[spark]" (PyPI) or
# "scaleout[spark] @ https://bucket.s3.amazonaws.com/scaleout-0.1.0-py3-none-any.whl".
# EMR ships its own Spark and pyspark (on the PYTHONPATH of every step), so the default
# installs scaleout with the [emr] extra (boto3, s3fs: the job reads Parquet footers and writes
# the model and metrics to s3:// through fsspec) and without [spark]; pass
# "scaleout[emr,spark]" to add PyPI pyspark.
set -euo pipefail
SPEC="${1:-scaleout[emr]}"
sudo python3 -m pip install --upgrade pip
sudo python3 -m pip install "${SPEC}"
python3 -c "import scaleout; print('scaleout', scaleout.__version__)"
