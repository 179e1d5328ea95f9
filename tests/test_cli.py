import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

import deepbelief
from deepbelief.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "deepbelief", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_pretrain_end_to_end_in_a_subprocess(tmp_path):
    result = run_cli("pretrain", "--layers", "16,8", "--epochs", "2", "--lr-schedule", "linear", "--centering",
                     "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "layer 1: reconstruction error per unit" in result.stdout
    assert "layer 2: reconstruction error per unit" in result.stdout
    for name in ("filters.png", "history.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [len(h) for h in metrics["history"]] == [2, 2]
    assert metrics["params"]["centering"] is True and metrics["params"]["hidden_layer_sizes"] == [16, 8]


@pytest.mark.parametrize("args, message", [
    (["pretrain", "--dataset", "nope"], "unknown dataset 'nope'; available: digits, mnist, fashion-mnist"),
    (["pretrain", "--layers", "8,x"], "expected comma-separated integers"),
    (["pretrain", "--learning-rate", "-1", "--quiet"], "'learning_rate' parameter"),
    (["pretrain", "--lr-schedule", "step"], "invalid choice: 'step'"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage_exits_2_with_one_message_and_no_traceback(args, message, capsys, tmp_path):
    try:
        code = main([*args, "--out", str(tmp_path / "out")] if args[0] == "pretrain" else args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_demo_end_to_end_in_a_subprocess(tmp_path):
    result = run_cli("demo", "--layers", "32", "--epochs", "2", "--max-iter", "30", "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "test accuracy: 0." in result.stdout and "confusion matrix" in result.stdout
    for name in ("predictions.png", "filters.png", "pretraining.png", "fine_tuning.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8 and len(metrics["loss_curve"]) == 30


NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
FAST = ["--layers", "16", "--epochs", "2", "--max-iter", "20", "--quiet"]


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    """A digits CSV with a header and string labels, one without a header with a real-valued target, and a .npy."""
    folder = tmp_path_factory.mktemp("data")
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    header = ",".join(f"p{i}" for i in range(64)) + ",digit\n"
    (folder / "digits.csv").write_text(header + "".join(",".join(map(str, row)) + f",{NAMES[t]}\n"
                                                        for row, t in zip(X.astype(int), y)))
    target = X[:, :8].mean(1) + 0.5 * X[:, 30]
    (folder / "regress.csv").write_text("".join(",".join(map(str, row)) + f",{t}\n" for row, t in zip(X, target)))
    np.save(folder / "pixels.npy", (X / 16).astype(np.float32))
    return folder


def call(*args):
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code


def test_train_predict_evaluate_transform_sample_info_on_a_csv(csv_files, tmp_path, capsys):
    out = tmp_path / "model"
    assert call("train", csv_files / "digits.csv", *FAST, "--out", out) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "DBNClassifier" and metrics["test_accuracy"] > 0.6
    for name in ("model.dbn", "pretraining.png", "fine_tuning.png", "filters.png"):
        assert (out / name).exists()
    assert call("predict", out / "model.dbn", csv_files / "digits.csv") == 0  # the label column is dropped
    predictions = capsys.readouterr().out.split()
    assert len(predictions) == 300 and set(predictions) <= set(NAMES)
    assert np.mean(np.array(predictions) == NAMES[load_digits().target[:300]]) > 0.7
    assert call("evaluate", out / "model.dbn", csv_files / "digits.csv") == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.7
    assert call("transform", out / "model.dbn", csv_files / "digits.csv", "--out", tmp_path / "codes.npy") == 0
    assert np.load(tmp_path / "codes.npy").shape == (300, 16)
    assert call("sample", out / "model.dbn", "--n", 4, "--burn-in", 10, "--out", tmp_path / "s") == 0
    sampled = np.load(tmp_path / "s" / "samples.npy")
    assert sampled.shape == (4, 64)
    assert call("sample", out / "model.dbn", "--n", 4, "--burn-in", 10, "--mean-field", "--out", tmp_path / "m") == 0
    assert not np.array_equal(np.load(tmp_path / "m" / "samples.npy"), sampled)
    assert call("info", out / "model.dbn") == 0
    info = capsys.readouterr().out
    assert "DBNClassifier" in info and "classes: eight" in info and "scale=minmax" in info


@pytest.mark.slow
def test_checkpoints_and_resume_from_the_command_line(csv_files, tmp_path):
    args = ["train", csv_files / "digits.csv", *FAST, "--param", "pretrain=rbm", "--checkpoint-dir",
            tmp_path / "ckpt"]
    assert call(*args, "--out", tmp_path / "a") == 0
    assert (tmp_path / "ckpt" / "pretraining.ckpt").exists() and (tmp_path / "ckpt" / "fine_tuning.ckpt").exists()
    assert call(*args, "--resume", "--out", tmp_path / "b") == 0  # a finished run resumes to the same model
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    assert a["test_accuracy"] == b["test_accuracy"] and a["loss_curve"] == b["loss_curve"]


@pytest.mark.slow
def test_regression_without_header_and_unsupervised_npy(csv_files, tmp_path, capsys):
    assert call("train", csv_files / "regress.csv", "--task", "regress", *FAST, "--max-iter", 200,
                "--out", tmp_path / "r") == 0
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["test_r2"] > 0.5
    assert call("train", csv_files / "pixels.npy", "--task", "unsupervised", "--layers", "16", "--epochs", 2,
                "--quiet", "--out", tmp_path / "u") == 0
    capsys.readouterr()
    assert call("evaluate", tmp_path / "u" / "model.dbn", csv_files / "pixels.npy") == 0
    metrics = json.loads(capsys.readouterr().out)
    # per visible unit, as history_ (a per-row sum of 64 pixels was reported under the same name before)
    assert metrics["rows"] == 300 and 0 < metrics["reconstruction_error"] < 1
    assert call("sample", tmp_path / "u" / "model.dbn", "--n", 3, "--burn-in", 5, "--out", tmp_path / "s") == 0
    assert (tmp_path / "s" / "samples.png").exists()


def test_a_deep_boltzmann_machine_from_the_command_line(csv_files, tmp_path, capsys):
    out = tmp_path / "dbm"
    assert call("train", csv_files / "pixels.npy", "--task", "unsupervised", "--model", "dbm", "--layers", "16,8",
                "--epochs", 2, "--max-iter", 2, "--quiet", "--out", out) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "DBM" and len(metrics["joint_history"]) == 2 and len(metrics["pretraining_history"]) == 2
    assert (out / "joint_training.png").exists()
    capsys.readouterr()
    assert call("evaluate", out / "model.dbn", csv_files / "pixels.npy") == 0
    scores = json.loads(capsys.readouterr().out)
    assert 0 < scores["reconstruction_error"] < 1 and np.isfinite(scores["mean_field_bound"])
    assert call("transform", out / "model.dbn", csv_files / "pixels.npy", "--out", tmp_path / "codes.npy") == 0
    assert np.load(tmp_path / "codes.npy").shape == (300, 8)
    assert call("sample", out / "model.dbn", "--n", 3, "--burn-in", 5, "--out", tmp_path / "s") == 0
    assert np.load(tmp_path / "s" / "samples.npy").shape == (3, 64)
    assert call("predict", out / "model.dbn", csv_files / "pixels.npy") == 2
    assert call("train", csv_files / "regress.csv", "--task", "regress", "--model", "dbm", "--out", tmp_path / "x") == 2
    assert "use it with --task unsupervised or --task classify" in capsys.readouterr().err


def test_a_label_dbm_from_the_command_line(csv_files, tmp_path, capsys):
    """--task classify --model dbm trains DBM(n_labels=K): predict gives the class names, evaluate the accuracy."""
    out = tmp_path / "label_dbm"
    assert call("train", csv_files / "digits.csv", "--model", "dbm", "--layers", "32", "--epochs", 20, "--max-iter", 5,
                "--quiet", "--out", out) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "DBM" and metrics["test_accuracy"] > 0.5 and "loss_curve" not in metrics
    assert deepbelief.load(out / "model.dbn").n_labels == 10
    assert call("predict", out / "model.dbn", csv_files / "digits.csv") == 0
    predicted = capsys.readouterr().out.split()
    assert len(predicted) == 300 and set(predicted) <= set(NAMES)
    assert call("evaluate", out / "model.dbn", csv_files / "digits.csv") == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["accuracy"] > 0.5 and np.isfinite(scores["mean_field_bound"])


@pytest.mark.parametrize("content, message", [
    ("a,b,c\n1,2,3\n4,5\n", "line 3: 2 columns, but the file has 3"),
    ("a,b,c\n1,x,3\n", "line 2, column b: 'x' is not a number"),
    ("", "is empty"),
    ("a,b\n", "has a header but no data rows"),
])
def test_unreadable_csv_files(content, message, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert call("train", path, "--quiet", "--out", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["train", "missing.csv"], "no such file: missing.csv"),
    (["train", "{csv}", "--target", "label"], "target column 'label' not found"),
    (["train", "{csv}", "--param", "dropout=2"], "bad hyperparameter for DBNClassifier"),
    (["train", "{csv}", "--param", "colour=3"], "bad hyperparameter for DBNClassifier"),
    (["train", "{csv}", "--task", "regress", "--quiet"], "not a number"),
    (["predict", "nowhere.dbn", "{csv}"], "no model file"),
    (["train", "{csv}", "--shape", "3"], "unrecognized arguments"),
])
def test_bad_input_gives_one_line_and_exit_2(args, message, csv_files, tmp_path, capsys):
    args = [a.replace("{csv}", str(csv_files / "digits.csv")) for a in args]
    assert call(*args, "--out", tmp_path / "out") == 2 if args[0] == "train" else call(*args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_reproduce_quick_on_tiny_mnist_files(tmp_path, monkeypatch, capsys):
    """Every row of `deepbelief reproduce mnist --quick` runs end to end (on tiny stand-in files: the real table
    is in BENCHMARKS.md) and the table is written as Markdown and JSON."""
    import gzip
    import hashlib

    from deepbelief import datasets
    from tests.test_datasets import idx_bytes

    rng = np.random.default_rng(0)
    for name in ("mnist", "fashion-mnist"):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        arrays = [rng.integers(0, 256, (80, 28, 28)), np.arange(80) % 10, rng.integers(0, 256, (20, 28, 28)),
                  np.arange(20) % 10]
        sums = {}
        for file, array in zip(datasets.FILES, arrays):
            content = idx_bytes(array)
            (folder / file).write_bytes(gzip.compress(content))
            sums[file] = hashlib.sha256(content).hexdigest()
        monkeypatch.setitem(datasets.DATASETS[name], "sha256", sums)
    out = tmp_path / "out"
    assert call("reproduce", "mnist", "--quick", "--data-home", tmp_path / "data", "--out", out) == 0
    table = (out / "table.md").read_text()
    assert "QUICK settings" in table and table.count("\n| ") == 2 + 14  # header, rule, 14 rows
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [r["row"] for r in rows] == ["dbn", "dropout", "random_init", "up_down", "semi_supervised", "rbm_ais",
                                        "rbm_ais_best", "autoencoder", "fashion", "dbm", "cdbn", "drbm", "hdrbm",
                                        "sparse_hdrbm"]
    for r in rows:
        values = r["value"].values() if isinstance(r["value"], dict) else [r["value"]]
        assert all(np.isfinite(v) for v in values)
    # The up-down row keeps its finished DBN; a rerun into the same folder resumes from it.
    (saved,) = (out / "checkpoints").iterdir()
    assert saved.name.endswith("-stage1.dbn")
    assert call("reproduce", "mnist", "--quick", "--rows", "up_down", "--data-home", tmp_path / "data", "--out",
                out) == 0
    (again,) = json.loads((out / "table.json").read_text())["rows"]
    assert "1 of 1 up-down stages done" in again["settings"]["resumed"] and again["value"] == rows[3]["value"]
    assert call("reproduce", "mnist", "--rows", "dbn,nope", "--out", tmp_path / "x") == 2
    assert "unknown rows nope" in capsys.readouterr().err


@pytest.fixture(scope="module")
def other_models(tmp_path_factory):
    """Model files of the classes `deepbelief train` does not write, saved from Python, and a CSV of inputs."""
    import deepbelief as db

    folder = tmp_path_factory.mktemp("other")
    X = (load_digits().data / 16).astype(np.float32)
    np.savetxt(folder / "rows.csv", X[:40], delimiter=",", fmt="%.4f")
    db.AnomalyDetector(model=db.RBM(8, n_iter=1, random_state=0)).fit(X).save(folder / "anomaly.dbn")
    db.DeepAutoencoder((16, 4), n_iter=1, max_iter=2, random_state=0).fit(X).save(folder / "autoencoder.dbn")
    db.ConditionalRBM(4, order=1, n_iter=1, random_state=0).fit([X[:30, :6]]).save(folder / "crbm.dbn")
    db.ConvDBN((4, 3), n_iter=1, random_state=0).fit(X).save(folder / "cdbn.dbn")
    return folder


@pytest.mark.parametrize("command", ["evaluate", "transform", "predict", "sample"])
def test_every_command_handles_anomaly_and_autoencoder_files(other_models, command, tmp_path, capsys):
    """The commands read what each model class can do from one table (cli.MODELS), not from class names."""
    rows = other_models / "rows.csv"
    for name, can in (("anomaly", {"evaluate", "transform", "predict"}), ("autoencoder", {"evaluate", "transform"}),
                      ("cdbn", {"evaluate", "transform", "sample"})):
        args = {"evaluate": [rows], "transform": [rows, "--out", tmp_path / f"{name}.npy"], "predict": [rows],
                "sample": ["--out", tmp_path / name]}[command]
        code = call(command, other_models / f"{name}.dbn", *args)
        captured = capsys.readouterr()
        if command in can:
            assert code == 0, captured.err
        else:
            assert code == 2 and "Traceback" not in captured.err and captured.err.count("\n") == 1, captured.err
    if command == "evaluate":
        assert "outlier_fraction" in captured.out or "reconstruction_error" in captured.out
    if command == "transform":
        assert np.load(tmp_path / "autoencoder.npy").shape == (40, 4)
        assert np.load(tmp_path / "anomaly.npy").shape == (40, 8)
        assert np.load(tmp_path / "cdbn.npy").shape == (40, 3)
    if command == "sample":
        assert np.load(tmp_path / "cdbn" / "samples.npy").shape == (100, 64)


def test_a_sequence_model_file_gets_one_line_naming_the_python_route(other_models, capsys):
    assert call("evaluate", other_models / "crbm.dbn", other_models / "rows.csv") == 2
    err = capsys.readouterr().err
    assert "ConditionalRBM, which the command line does not handle" in err and "deepbelief.load(" in err


def test_the_dispatch_table_covers_every_model_class():
    from deepbelief.cli import MODELS
    from deepbelief.estimators import MODEL_CLASSES

    sequence_models = {"ConditionalRBM", "ConditionalDBN"}  # tables of frames, not of rows: Python only
    assert set(MODELS) == set(MODEL_CLASSES) - sequence_models
    assert all(set(entry) == {"predicts", "scores", "codes", "sampler"} for entry in MODELS.values())


@pytest.fixture(scope="module")
def named_model(csv_files, tmp_path_factory):
    """A classifier trained with --target on the digits CSV (header p0..p63, label column 'digit')."""
    out = tmp_path_factory.mktemp("named") / "run"
    assert call("train", csv_files / "digits.csv", *FAST, "--target", "digit", "--out", out) == 0
    return out / "model.dbn"


def _columns(csv_files, folder, name, keep):
    """A copy of digits.csv with the columns ``keep`` (names, in that order)."""
    lines = (csv_files / "digits.csv").read_text().splitlines()
    header = lines[0].split(",")
    index = [header.index(c) for c in keep]
    path = folder / name
    path.write_text("\n".join(",".join(line.split(",")[i] for i in index) for line in lines) + "\n")
    return path


def test_predict_on_new_rows_without_the_target_column(named_model, csv_files, tmp_path, capsys):
    """The README's train-then-predict flow: the new rows have no label column (refused before)."""
    capsys.readouterr()
    assert call("predict", named_model, csv_files / "digits.csv") == 0
    expected = capsys.readouterr().out.split()
    new_rows = _columns(csv_files, tmp_path, "new_rows.csv", [f"p{i}" for i in range(64)])
    assert call("predict", named_model, new_rows) == 0
    assert capsys.readouterr().out.split() == expected


def test_columns_are_matched_by_name_not_position(named_model, csv_files, tmp_path, capsys):
    capsys.readouterr()
    assert call("predict", named_model, csv_files / "digits.csv") == 0
    expected = capsys.readouterr().out.split()
    shuffled = [f"p{i}" for i in np.random.default_rng(0).permutation(64)] + ["digit"]
    reordered = _columns(csv_files, tmp_path, "reordered.csv", shuffled[::-1])
    assert call("predict", named_model, reordered) == 0
    assert capsys.readouterr().out.split() == expected
    assert call("evaluate", named_model, reordered) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.7


@pytest.mark.parametrize("keep, message", [
    ([f"p{i}" for i in range(64) if i != 5] + ["digit"], "lacks 1 of the model's 64 input columns: 'p5'"),
    ([f"p{i}" for i in range(64)] + ["id", "digit"], "has 1 columns the model was not trained on: 'id'"),
])
def test_missing_and_unexpected_columns_are_named(named_model, csv_files, tmp_path, capsys, keep, message):
    """A file that lacks a feature but holds the label was predicted with the label as a feature (exit 0, 60%)."""
    if "id" in keep:  # one more column at the end
        lines = (csv_files / "digits.csv").read_text().splitlines()
        path = tmp_path / "extra.csv"
        path.write_text("\n".join([lines[0] + ",id"] + [f"{line},{n}" for n, line in enumerate(lines[1:])]) + "\n")
    else:
        path = _columns(csv_files, tmp_path, "lacking.csv", keep)
    capsys.readouterr()
    assert call("predict", named_model, path) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_train_logs_every_epoch_to_tensorboard_and_csv(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    import pandas as pd
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    code = main(["train", "digits", "--layers", "16", "--epochs", "2", "--max-iter", "3", "--quiet",
                 "--tensorboard", str(tmp_path / "tb"), "--log-csv", str(tmp_path / "log.csv"),
                 "--out", str(tmp_path / "model")])
    assert code == 0
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log[log.stage == "fine-tuning"].epoch) == [0, 1, 2]
    events = EventAccumulator(str(tmp_path / "tb" / "pretraining-layer1"), size_guidance={"images": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("reconstruction_error")] == [0, 1]
    assert "filters" in events.Tags()["images"]  # digits are 8 x 8 images
    assert main(["train", "digits", "--log-csv", str(tmp_path), "--out", str(tmp_path / "m2")]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
