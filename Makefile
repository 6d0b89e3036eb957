# The two set-up commands of the README: `make demo` (the main job) and `make test`.
# Both create the virtualenv and install what they need on first use.
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= dev,plot,dask,spark,emr,bench
# The demo reads MNIST IDX files from $SCALEOUT_MNIST_DIR; default: the shared copy when present
# (the demo falls back to scikit-learn's digits without it).
export SCALEOUT_MNIST_DIR ?= $(wildcard $(CURDIR)/../shared/data/mnist)

.PHONY: install java demo test test-clusters test-slow test-checks-spark test-demo test-spark35 lint bench bench-quick bench-full bench-table clean

install: java $(VENV)/.installed-$(EXTRAS)

# Spark needs Java 17+: install Debian's JRE when `java` is missing (root, as on CI).
java:
	@command -v java >/dev/null 2>&1 || { \
		echo "java not found: installing openjdk-17-jre-headless"; \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $@

demo: install
	$(VENV)/bin/scaleout demo --plot demo-output

# The local-cluster tests (Dask and Spark standalone clusters started by the CLI, TLS,
# spark-submit; ~4 min) run in `make test-clusters`, which CI runs after `make test`.
CLUSTER_TESTS := tests/test_clusters.py tests/test_cluster_security.py

test: install lint
	$(PY) -m pytest -q -m "not slow" $(addprefix --ignore=,$(CLUSTER_TESTS))

test-clusters: install
	$(PY) -m pytest -q -m "not slow" $(CLUSTER_TESTS)

test-slow: install
	$(PY) -m pytest -q -m slow

# scikit-learn's check_estimator on the Spark engine (~1,000 short Spark fits, ~5 min):
# outside the default run's 15 minutes, but run by CI (.ci/run) after `make test`.
test-checks-spark: install
	$(PY) -m pytest -q -m slow tests/test_check_estimator.py -k "spark"

# The six demos as `make demo` runs them (~2.5 min): outside the default run, run by CI.
test-demo: install
	$(PY) -m pytest -q -m slow tests/test_cli.py -k demo

# The Spark engine on Spark 3.5 (Amazon EMR 7.x) next to 4.x: a second virtualenv with
# pyspark 3.5 and pandas 2.2 (.ci/constraints-spark35.txt), the Spark tests, then the slow
# Spark standalone-cluster tests.
VENV35          ?= .venv35
SPARK35_CONSTRAINTS := .ci/constraints-spark35.txt
SPARK35_TESTS   := tests/test_spark_backend.py tests/test_jobs.py tests/test_cli.py

$(VENV35)/.installed-spark35: pyproject.toml $(SPARK35_CONSTRAINTS)
	@test -x $(VENV35)/bin/python || python3 -m venv $(VENV35)
	$(VENV35)/bin/python -m pip install --quiet --upgrade pip
	$(VENV35)/bin/python -m pip install --quiet -c $(SPARK35_CONSTRAINTS) -e '.[dev,dask,spark,emr]'
	@touch $@

test-spark35: java $(VENV35)/.installed-spark35
	$(VENV35)/bin/python -m pytest -q -m "not slow" $(SPARK35_TESTS)
	$(VENV35)/bin/python -m pytest -q -k spark tests/test_clusters.py

# ruff, then the import-linter layer contracts of pyproject.toml ([tool.importlinter]):
# the data layer imports no engine, nothing imports the CLI, jobs do not import the CLI,
# no import cycles.
lint: install
	$(VENV)/bin/ruff check scaleout tests benchmarks
	$(VENV)/bin/lint-imports

bench: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) benchmarks/bench_sklearn_overhead.py
	$(PY) benchmarks/bench_dask.py

# The benchmark suite (issue 6): `scaleout bench`. Quick: a few minutes, into bench-quick/.
# Full: 1e5, 1e6 and 4e6 rows on all five engines with the peers (~30 min on 2 cores),
# into benchmarks/results/ (suite.json, suite.md, suite-*.png). Run it on a quiet machine.
BENCH_EXTRAS = $(EXTRAS)

bench-quick:
	$(MAKE) install EXTRAS=$(BENCH_EXTRAS)
	$(VENV)/bin/scaleout bench --quick --out bench-quick

bench-full:
	$(MAKE) install EXTRAS=$(BENCH_EXTRAS)
	$(PY) benchmarks/run_suite.py --out benchmarks/results

# Issue 12: the real-table pipeline (imputer + scaler + one-hot + LogisticRegression) on
# 10,000,000 rows: scaleout on dask and spark against hand-written dask-ml and pyspark.ml,
# one subprocess per contender (long: see benchmarks/results/table_pipeline.md). Not in `make test`.
bench-table: install
	$(PY) benchmarks/bench_table_pipeline.py

clean:
	rm -rf $(VENV) $(VENV35) demo-output bench-quick .pytest_cache
