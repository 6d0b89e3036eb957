"""Pipeline specifications (issue 12, item 6): JSON/YAML documents built into scaleout
pipelines, their errors, the inverse (pipeline_to_spec), and ``scaleout fit --pipeline``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import ColumnTransformer as _SkColumnTransformer

import scaleout as so
from scaleout import registry
from scaleout.cli import main
from scaleout.datasets import make_classification
from scaleout.exceptions import InvalidParameterError, ScaleoutError
from scaleout.jobs import parse_job_args
from scaleout.jobs.spec import inline_spec_files
from scaleout.jobs.validate import validate_spark_submit_args
from scaleout.pipeline_spec import (
    MAX_SPEC_VALUES,
    PipelineSpecError,
    build_pipeline,
    load_pipeline_spec,
    pipeline_from_spec,
    pipeline_to_spec,
)

SCALER_LOGISTIC = {
    "backend": "dask",
    "steps": [{"StandardScaler": {}}, {"LogisticRegression": {"C": 0.5, "max_iter": 200}}],
}

SCALER_LOGISTIC_YAML = """\
backend: dask            # the engine of every step
steps:
  - StandardScaler:
  - LogisticRegression: {C: 0.5, max_iter: 200}
"""


class SpecColumnTransformer(_SkColumnTransformer):
    """A test-only class with a ``transformers`` parameter (scikit-learn's signature),
    registered by the ``column_transformer`` fixture while a test runs."""


@pytest.fixture
def column_transformer(monkeypatch):
    """``SpecColumnTransformer`` in the registry for one test, then the registry as it was."""
    monkeypatch.setattr(registry, "_ESTIMATORS", dict(registry.estimator_classes()))
    monkeypatch.setattr(registry, "_IMPLEMENTATIONS", dict(registry._IMPLEMENTATIONS))
    registry.register_estimator(SpecColumnTransformer)
    return SpecColumnTransformer


def nested_doc(**extra):
    """A SpecColumnTransformer (two, one and no steps per column group) + LogisticRegression."""
    return {
        "steps": [
            {
                "SpecColumnTransformer": {
                    "transformers": [
                        {
                            "name": "num",
                            "columns": ["a", "b"],
                            "steps": [{"StandardScaler": {}}, {"MinMaxScaler": {}}],
                        },
                        {"name": "one", "columns": ["c"], "steps": [{"StandardScaler": {}}]},
                        {"name": "extra", "columns": ["d"], "steps": "passthrough"},
                    ],
                    **extra,
                }
            },
            {"LogisticRegression": {"C": 2.0}},
        ]
    }


# ------------------------------------------------------------------ building


def test_build_from_a_dict():
    model = build_pipeline(SCALER_LOGISTIC)
    assert isinstance(model, so.Pipeline) and model.backend == "dask"
    assert [name for name, _ in model.steps] == ["standardscaler", "logisticregression"]
    scaler, logistic = (step for _, step in model.steps)
    assert type(scaler) is so.StandardScaler and scaler.get_params()["with_mean"] is True
    assert type(logistic) is so.LogisticRegression
    assert (logistic.C, logistic.max_iter, logistic.backend) == (0.5, 200, "auto")
    # the caller's backend overrides the document's
    assert build_pipeline(SCALER_LOGISTIC, backend="spark").backend == "spark"


def test_one_step_is_the_estimator_itself_with_the_backend():
    model = build_pipeline({"backend": "sklearn", "steps": [{"PCA": {"n_components": 2}}]})
    assert type(model) is so.PCA and model.n_components == 2 and model.backend == "sklearn"
    # snake_case names as on the command line; a list where the default is a tuple
    scaler = build_pipeline({"steps": [{"min_max_scaler": {"feature_range": [-1, 1]}}]})
    assert type(scaler) is so.MinMaxScaler and scaler.feature_range == (-1, 1)
    assert scaler.backend == "auto"


def test_json_and_yaml_files_build_the_same_pipeline(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps(SCALER_LOGISTIC))
    (tmp_path / "p.yaml").write_text(SCALER_LOGISTIC_YAML)
    (tmp_path / "p.yml").write_text(SCALER_LOGISTIC_YAML)
    assert load_pipeline_spec(tmp_path / "p.yaml") == {
        "backend": "dask",
        "steps": [{"StandardScaler": None}, {"LogisticRegression": {"C": 0.5, "max_iter": 200}}],
    }
    specs = [
        pipeline_to_spec(pipeline_from_spec(source))
        for source in (
            SCALER_LOGISTIC,
            str(tmp_path / "p.json"),
            tmp_path / "p.yaml",
            str(tmp_path / "p.yml"),
            json.dumps(SCALER_LOGISTIC),  # inline JSON, as submit sends it
        )
    ]
    assert specs == [SCALER_LOGISTIC] * 5


def test_nested_transformers_are_built_generically(column_transformer):
    model = build_pipeline(nested_doc(remainder="passthrough", sparse_threshold=0.0))
    ct, logistic = (step for _, step in model.steps)
    assert type(ct) is column_transformer and logistic.C == 2.0
    assert (ct.remainder, ct.sparse_threshold) == ("passthrough", 0.0)
    assert [(name, cols) for name, _, cols in ct.transformers] == [
        ("num", ["a", "b"]),
        ("one", ["c"]),
        ("extra", ["d"]),
    ]
    num, one, extra = (est for _, est, _ in ct.transformers)
    assert type(num) is so.Pipeline
    assert [type(s) for _, s in num.steps] == [so.StandardScaler, so.MinMaxScaler]
    assert type(one) is so.StandardScaler and extra == "passthrough"
    # and it transforms: the columns by name, through the nested steps
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(50, 5)) * 3 + 1, columns=list("abcde"))
    out = ct.fit_transform(frame)
    scaled = (frame[["a", "b"]] - frame[["a", "b"]].mean()) / frame[["a", "b"]].std(ddof=0)
    expected_num = (scaled - scaled.min()) / (scaled.max() - scaled.min())
    expected_c = (frame["c"] - frame["c"].mean()) / frame["c"].std(ddof=0)
    expected = np.column_stack([expected_num, expected_c, frame["d"], frame["e"]])
    assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_a_remainder_may_be_steps(column_transformer):
    doc = nested_doc(remainder=[{"StandardScaler": {"with_mean": False}}])
    ct = build_pipeline(doc).steps[0][1]
    assert type(ct.remainder) is so.StandardScaler and ct.remainder.with_mean is False


# ------------------------------------------------------------------ errors

LOGISTIC_VALID = "valid: C, backend, class_weight, dual, fit_intercept"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"steps": [{"StandardScaler": {}}, {"LogisticRegression": {"CC": 1}}]},
            f"pipeline spec <inline>: steps[1].LogisticRegression: unknown parameter 'CC'; "
            f"{LOGISTIC_VALID}",
        ),
        (
            {"steps": [{"RandomForest": {}}]},
            "steps[0]: unknown class 'RandomForest'; known: ColumnTransformer, "
            "DecisionTreeClassifier, DecisionTreeRegressor, KMeans, LinearRegression, "
            "LogisticRegression, MinMaxScaler, OneHotEncoder, OrdinalEncoder, PCA, SimpleImputer, "
            "StandardScaler",
        ),
        (  # never an import: a dotted name is an unknown class
            {"steps": [{"sklearn.linear_model.LogisticRegression": {}}]},
            "steps[0]: unknown class 'sklearn.linear_model.LogisticRegression'",
        ),
        (
            {"steps": [{"StandardScaler": {}, "PCA": {}}]},
            "steps[0]: a step is a mapping of one class name to its parameters",
        ),
        ({"steps": ["StandardScaler"]}, "steps[0]: a step is a mapping of one class name"),
        (
            {"steps": [{"PCA": [2]}]},
            "steps[0].PCA: the parameters must be a mapping, got [2]",
        ),
        (
            {"steps": [{"PCA": {"n_components": -3}}]},
            "steps[0].PCA: The 'n_components' parameter of PCA must be",
        ),
        (
            {"steps": [{"Pipeline": {"steps": []}}]},
            "steps[0].Pipeline: a pipeline is not a step here",
        ),
        ({"backend": "dask"}, "pipeline spec <inline>: missing 'steps' (a list of steps)"),
        ({"steps": []}, "'steps' must be a non-empty list of steps, got []"),
        ({"steps": {"PCA": {}}}, "'steps' must be a non-empty list of steps"),
        ({"steps": [{"PCA": {}}], "stages": []}, "unknown key 'stages'; valid: backend, steps"),
        ({"steps": [{"PCA": {}}], "backend": 3}, "'backend' must be a string"),
    ],
)
def test_spec_errors_name_the_place(doc, message):
    with pytest.raises(PipelineSpecError) as info:
        build_pipeline(doc)
    assert message in str(info.value)
    assert isinstance(info.value, InvalidParameterError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"columns": "a"},
            "steps[0].SpecColumnTransformer.transformers[0].columns: expected a non-empty list "
            "of column names (strings), got 'a'",
        ),
        ({"columns": ["a", 1]}, "transformers[0].columns: expected a non-empty list"),
        ({"columns": []}, "transformers[0].columns: expected a non-empty list"),
        ({"name": "one"}, "transformers[1].name: duplicate transformer name 'one'"),
        ({"name": 7}, "transformers[0].name: expected a non-empty string, got 7"),
        ({"steps": "scale"}, "transformers[0].steps: expected a list of steps, 'passthrough'"),
        (
            {"steps": [{"StandardScaler": {"wit_mean": False}}]},
            "transformers[0].steps[0].StandardScaler: unknown parameter 'wit_mean'; valid: "
            "backend, copy, with_mean, with_std",
        ),
        ({"cols": ["a"]}, "transformers[0]: unknown key 'cols'; valid: name, columns, steps"),
    ],
)
def test_transformer_errors_name_the_place(column_transformer, change, message):
    doc = nested_doc()
    ct = doc["steps"][0]["SpecColumnTransformer"]
    ct["transformers"][0] = {**ct["transformers"][0], **change}
    if "cols" in change:
        del ct["transformers"][0]["columns"]
    with pytest.raises(PipelineSpecError) as info:
        build_pipeline(doc)
    assert message in str(info.value)


def test_transformer_structure_errors(column_transformer):
    with pytest.raises(PipelineSpecError, match=r"transformers\[1\]: missing 'columns', 'steps'"):
        build_pipeline(
            {"steps": [{"SpecColumnTransformer": {"transformers": [
                {"name": "a", "columns": ["a"], "steps": "drop"}, {"name": "b"}]}}]}
        )
    with pytest.raises(PipelineSpecError, match=r"SpecColumnTransformer.transformers: expected"):
        build_pipeline({"steps": [{"SpecColumnTransformer": {"transformers": {}}}]})
    with pytest.raises(
        PipelineSpecError,
        match=r"SpecColumnTransformer.remainder: expected 'passthrough', 'drop' or steps, "
        r"got 'keep'",
    ):
        build_pipeline(nested_doc(remainder="keep"))
    with pytest.raises(PipelineSpecError, match=r"unknown parameter 'n_job'; valid: n_jobs"):
        build_pipeline(nested_doc(n_job=2))


def test_file_errors_name_the_file_and_line(tmp_path):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"steps": [\n  {"PCA": {}},\n  ]\n}')
    with pytest.raises(
        PipelineSpecError,
        match=rf"pipeline spec '{bad_json}' is not valid JSON: Expecting value at line 3, "
        r"column 3",
    ):
        load_pipeline_spec(str(bad_json))
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("steps:\n  - PCA: {n_components: 2\n  - StandardScaler:\n")
    with pytest.raises(PipelineSpecError) as info:
        load_pipeline_spec(bad_yaml)
    assert f"pipeline spec '{bad_yaml}' is not valid YAML: " in str(info.value)
    assert "expected ',' or '}', but got ':' at line 3, column 19" in str(info.value)
    with pytest.raises(PipelineSpecError, match=r"pipeline spec file '.*nope.yaml' does not exist"):
        load_pipeline_spec(tmp_path / "nope.yaml")
    with pytest.raises(PipelineSpecError, match=r"the name must end in .json, .yaml or .yml"):
        load_pipeline_spec(tmp_path / "spec.txt")
    (tmp_path / "list.yaml").write_text("- PCA: {}\n")
    with pytest.raises(PipelineSpecError, match=r"a mapping with the key 'steps', got list"):
        load_pipeline_spec(tmp_path / "list.yaml")
    with pytest.raises(PipelineSpecError, match=r"is not valid JSON: duplicate key 'steps'"):
        load_pipeline_spec('{"steps": [], "steps": [{"PCA": {}}]}')
    # the file name is in the build errors too
    (tmp_path / "cc.yaml").write_text("steps:\n  - LogisticRegression: {CC: 1}\n")
    with pytest.raises(
        PipelineSpecError,
        match=rf"pipeline spec '{tmp_path / 'cc.yaml'}': steps\[0\].LogisticRegression: "
        r"unknown parameter 'CC'",
    ):
        pipeline_from_spec(tmp_path / "cc.yaml")


def test_untrusted_yaml_builds_no_python_object(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("steps:\n  - !!python/object/apply:os.system ['touch hacked']\n")
    with pytest.raises(PipelineSpecError, match="is not valid YAML: could not determine a constr"):
        pipeline_from_spec(evil)
    assert not (tmp_path / "hacked").exists()
    # an alias bomb: nine levels of nine references expand to 9**9 values
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*lines, "steps: [*a8]"]) + "\n")
    with pytest.raises(PipelineSpecError, match=f"holds more than {MAX_SPEC_VALUES} values"):
        load_pipeline_spec(bomb)


def test_yaml_without_pyyaml_names_the_package(tmp_path, monkeypatch):
    (tmp_path / "p.yaml").write_text(SCALER_LOGISTIC_YAML)
    (tmp_path / "p.json").write_text(json.dumps(SCALER_LOGISTIC))
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # `import yaml` fails
    with pytest.raises(ScaleoutError, match=r"reading YAML needs PyYAML \(pip install pyyaml"):
        load_pipeline_spec(tmp_path / "p.yaml")
    assert load_pipeline_spec(tmp_path / "p.json") == SCALER_LOGISTIC  # JSON needs nothing


# ------------------------------------------------------------------ the inverse


@pytest.mark.parametrize(
    "doc",
    [
        SCALER_LOGISTIC,
        {"steps": [{"KMeans": {"n_clusters": 3, "random_state": 0}}]},
        {"backend": "spark", "steps": [{"DecisionTreeClassifier": {"max_depth": 4}}]},
        {"steps": [{"MinMaxScaler": {"feature_range": [-1, 1]}}, {"PCA": {"n_components": 2}},
                   {"LinearRegression": {"fit_intercept": False}}]},
    ],
)
def test_round_trip_of_a_spec(doc):
    assert pipeline_to_spec(build_pipeline(doc)) == doc


def test_round_trip_of_nested_transformers(column_transformer):
    doc = nested_doc(remainder=[{"StandardScaler": {"with_std": False}}], sparse_threshold=0.0)
    assert pipeline_to_spec(build_pipeline(doc)) == doc
    assert pipeline_to_spec(build_pipeline(nested_doc())) == nested_doc()


def test_round_trip_of_a_python_pipeline():
    model = so.make_pipeline(
        so.StandardScaler(with_std=False),
        so.PCA(n_components=np.int64(3), whiten=True),
        so.LogisticRegression(C=np.float64(0.25), class_weight={"0": 2.0}),
        backend="sklearn",
    )
    spec = pipeline_to_spec(model)
    assert spec == {
        "backend": "sklearn",
        "steps": [
            {"StandardScaler": {"with_std": False}},
            {"PCA": {"n_components": 3, "whiten": True}},
            {"LogisticRegression": {"C": 0.25, "class_weight": {"0": 2.0}}},
        ],
    }
    assert type(spec["steps"][1]["PCA"]["n_components"]) is int  # plain, not NumPy
    rebuilt = build_pipeline(json.loads(json.dumps(spec)))
    assert rebuilt.get_params(deep=True).keys() == model.get_params(deep=True).keys()
    plain = so.make_pipeline(
        so.StandardScaler(with_std=False),
        so.PCA(n_components=3, whiten=True),
        so.LogisticRegression(C=0.25, class_weight={"0": 2.0}),
        backend="sklearn",
    )
    assert repr(rebuilt) == repr(plain)
    assert pipeline_to_spec(rebuilt) == spec
    single = pipeline_to_spec(so.KMeans(n_clusters=4, backend="dask"))
    assert single == {"backend": "dask", "steps": [{"KMeans": {"n_clusters": 4}}]}


def test_what_a_spec_cannot_hold():
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(
        PipelineSpecError, match=r"steps\[0\]: StandardScaler is not a registered scaleout class"
    ):
        pipeline_to_spec(so.Pipeline([("s", StandardScaler()), ("p", so.PCA())]))
    with pytest.raises(PipelineSpecError, match=r"pipeline's memory='cache' cannot be written"):
        pipeline_to_spec(so.make_pipeline(so.PCA(), memory="cache"))
    with pytest.raises(
        PipelineSpecError, match=r"steps\[0\].KMeans.init: a function cannot be written"
    ):
        pipeline_to_spec(so.KMeans(init=lambda X, k, random_state: X[:k]))


# ------------------------------------------------------------------ command line and jobs


@pytest.fixture(scope="module")
def clf_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "clf.parquet"
    make_classification(path, 3000, 5, random_state=3)
    return str(path)


@pytest.mark.parametrize("backend", ["dask", "spark"])
def test_fit_pipeline_from_the_command_line(clf_parquet, tmp_path, capsys, request, backend):
    """``scaleout fit --pipeline``: the model of the same pipeline fitted from Python."""
    if backend == "spark":
        request.getfixturevalue("spark")  # the run's one local session
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(SCALER_LOGISTIC_YAML)  # backend: dask; --backend spark overrides it
    out = tmp_path / "model.scaleout"
    flags = [] if backend == "dask" else ["--backend", backend]
    argv = ["fit", "--pipeline", str(spec), "--data", clf_parquet, "--target", "y", *flags]
    assert main([*argv, "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["algorithm"], printed["backend"]) == ("Pipeline", backend)
    assert printed["rows"] == 3000
    model = so.load(out)
    reference = so.make_pipeline(
        so.StandardScaler(), so.LogisticRegression(C=0.5, max_iter=200), backend=backend
    ).fit(so.read_parquet(clf_parquet, target="y"))
    assert model.backend_ == reference.backend_ == backend
    X, y = so.read_parquet(clf_parquet, target="y").to_numpy()
    rtol = 1e-9 if backend == "dask" else 1e-6  # the same engine twice: equal to rounding
    assert_array_equal(model.predict(X), reference.predict(X))
    assert float(np.mean(model.predict(X) == y)) > 0.75
    assert_allclose(model.predict_proba(X), reference.predict_proba(X), rtol=rtol)
    ours, theirs = model.steps[0][1], reference.steps[0][1]
    assert_allclose(ours.mean_, theirs.mean_, rtol=rtol)
    assert_allclose(ours.scale_, theirs.scale_, rtol=rtol)


def test_fit_pipeline_errors_before_reading_data(tmp_path, capsys):
    spec = tmp_path / "p.json"
    doc = {"steps": [{"StandardScaler": {}}, {"LogisticRegression": {"CC": 1}}]}
    spec.write_text(json.dumps(doc))
    missing = str(tmp_path / "missing.parquet")  # never opened: the spec fails first
    base = ["fit", "--data", missing, "-o", str(tmp_path / "m.scaleout")]
    cases = [
        ([*base, "--pipeline", str(spec)], "steps[1].LogisticRegression: unknown parameter 'CC'"),
        ([*base, "pca", "--pipeline", str(spec)], "give either ALGORITHM ('pca') or --pipeline"),
        ([*base, "--pipeline", str(spec), "--param", "C=1"], "with --pipeline, put them in"),
        (base, "fit needs ALGORITHM (one of column_transformer, decision_tree_classifier"),
        ([*base, "--pipeline", str(tmp_path / "no.yaml")], "pipeline spec file '"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("scaleout: error: ") and message in err[0], err
    assert not (tmp_path / "m.scaleout").exists()


def test_job_args_take_a_pipeline(tmp_path):
    (tmp_path / "p.yaml").write_text(SCALER_LOGISTIC_YAML)
    io = ["--input", "a.parquet", "--output", "m.scaleout"]
    job = parse_job_args(["--pipeline", str(tmp_path / "p.yaml"), *io])
    assert job.algorithm is None and job.pipeline == load_pipeline_spec(tmp_path / "p.yaml")
    assert job.backend == "auto"
    # a spec file's pipeline: inline or a file; flags override the spec's model
    (tmp_path / "job.json").write_text(
        json.dumps({"pipeline": SCALER_LOGISTIC, "input": "a", "output": "b"})
    )
    assert parse_job_args(["--spec", str(tmp_path / "job.json")]).pipeline == SCALER_LOGISTIC
    flagged = parse_job_args(["--spec", str(tmp_path / "job.json"), "--algorithm", "pca"])
    assert (flagged.algorithm, flagged.pipeline) == ("pca", None)
    for argv, message in [
        (["--algorithm", "pca", "--pipeline", "p.json", *io], "--algorithm or --pipeline, not"),
        (["--pipeline", str(tmp_path / "p.yaml"), "--param", "C=2", *io], "put them in the pipe"),
        (io, "job needs --algorithm (or --pipeline) (or the keys in --spec)"),
        (["--pipeline", str(tmp_path / "none.json"), *io], "pipeline spec file '"),
    ]:
        with pytest.raises(ScaleoutError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_job_args(argv)
    (tmp_path / "both.json").write_text(
        json.dumps({"algorithm": "pca", "pipeline": SCALER_LOGISTIC, "input": "a", "output": "b"})
    )
    with pytest.raises(ScaleoutError, match="job spec has both 'algorithm' and 'pipeline'"):
        parse_job_args(["--spec", str(tmp_path / "both.json")])


def test_submitted_jobs_carry_their_spec_files_inline(tmp_path):
    (tmp_path / "p.yaml").write_text(SCALER_LOGISTIC_YAML)
    io = ["--input", "s3://b/d/", "--output", "s3://b/m.scaleout"]
    args = inline_spec_files(["--pipeline", str(tmp_path / "p.yaml"), *io])
    assert args[0] == "--pipeline" and args[2:] == io
    assert json.loads(args[1]) == load_pipeline_spec(tmp_path / "p.yaml")
    # a job spec file with a pipeline file in it: one JSON object, the pipeline inside
    (tmp_path / "job.json").write_text(
        json.dumps({"pipeline": str(tmp_path / "p.yaml"), "input": "s3://b/d/", "output": "o"})
    )
    flag, text = inline_spec_files([f"--spec={tmp_path / 'job.json'}"])
    assert flag == "--spec"
    assert json.loads(text)["pipeline"] == load_pipeline_spec(tmp_path / "p.yaml")
    assert parse_job_args([flag, text]).pipeline == load_pipeline_spec(tmp_path / "p.yaml")
    # URLs stay (the driver reads them); other flags are untouched
    kept = ["--pipeline", "s3://b/p.yaml", *io, "--algorithm", "x"]
    assert inline_spec_files(kept) == kept
    with pytest.raises(ScaleoutError, match=r"pipeline spec file '.*gone\.yaml' does not exist"):
        inline_spec_files(["--pipeline", str(tmp_path / "gone.yaml"), *io])


def test_validation_builds_the_pipeline_before_sending():
    app = ["spark-submit", "--deploy-mode", "cluster", "s3://b/scaleout/jobs/__main__.py"]
    io = ["--input", "s3://b/d/", "--output", "s3://b/m.scaleout"]
    good = json.dumps(SCALER_LOGISTIC)
    assert validate_spark_submit_args([*app, "--pipeline", good, *io])["job_args"][1] == good
    bad = json.dumps({"steps": [{"StandardScaler": {}}, {"LogisticRegression": {"CC": 1}}]})
    with pytest.raises(PipelineSpecError, match=r"steps\[1\].LogisticRegression: unknown param"):
        validate_spark_submit_args([*app, "--pipeline", bad, *io])
    job = json.dumps({"pipeline": json.loads(bad), "input": "s3://b/d/", "output": "o"})
    with pytest.raises(PipelineSpecError, match="unknown parameter 'CC'"):
        validate_spark_submit_args([*app, "--spec", job])
    with pytest.raises(ScaleoutError, match=r"job flags lack --algorithm \(or --pipeline\)"):
        validate_spark_submit_args([*app, *io])
    with pytest.raises(ScaleoutError, match="both --algorithm and --pipeline"):
        validate_spark_submit_args([*app, "--algorithm", "pca", "--pipeline", good, *io])
    # a spec at a URL is the driver's to read
    assert validate_spark_submit_args([*app, "--pipeline", "s3://b/p.yaml", *io])


@pytest.mark.slow  # spark-submit starts its own JVM (~1 min on the shared machine)
def test_spark_submit_runs_a_pipeline_job(clf_parquet, tmp_path, capfd):
    """``scaleout submit --pipeline spec.yaml``: the spec reaches the driver inline."""
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(SCALER_LOGISTIC_YAML)
    out, metrics = tmp_path / "m.scaleout", tmp_path / "m.json"
    argv = ["submit", "--master", "local[1]", "--pipeline", str(spec), "--input", clf_parquet]
    argv += ["--target", "y", "--output", str(out), "--metrics", str(metrics)]
    assert main(argv) == 0, capfd.readouterr().err[-3000:]
    echoed = capfd.readouterr().out
    inline = json.dumps(load_pipeline_spec(spec), separators=(",", ":"))
    assert f"--pipeline {inline} --input" in echoed
    assert str(spec) not in echoed  # the file stays here; its content went inline
    written = json.loads(metrics.read_text())
    assert (written["backend"], written["rows"]) == ("spark", 3000)
    assert written["pipeline"] == {**SCALER_LOGISTIC, "backend": "spark"}
    X, y = so.read_parquet(clf_parquet, target="y").to_numpy()
    model = so.load(out)
    assert float(np.mean(model.predict(X) == y)) == pytest.approx(written["training_score"])
    reference = pipeline_from_spec(SCALER_LOGISTIC, backend="sklearn").fit(X, y)
    assert np.mean(model.predict(X) == reference.predict(X)) >= 0.999
