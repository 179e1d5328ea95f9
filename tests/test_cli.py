import json
import subprocess
import sys

import pytest

from deepbelief.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "deepbelief", *args], capture_output=True, text=True, timeout=300)


def test_pretrain_end_to_end_in_a_subprocess(tmp_path):
    result = run_cli("pretrain", "--layers", "16,8", "--epochs", "2", "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "layer 1: reconstruction error per unit" in result.stdout
    assert "layer 2: reconstruction error per unit" in result.stdout
    for name in ("filters.png", "history.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [len(h) for h in history] == [2, 2]


@pytest.mark.parametrize("args, message", [
    (["pretrain", "--dataset", "nope"], "unknown dataset 'nope'; available: digits"),
    (["pretrain", "--layers", "8,x"], "expected comma-separated integers"),
    (["pretrain", "--learning-rate", "-1", "--quiet"], "'learning_rate' parameter"),
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


def test_demo_end_to_end_in_a_subprocess(tmp_path):
    result = run_cli("demo", "--layers", "32", "--epochs", "2", "--max-iter", "30", "--quiet", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "test accuracy: 0." in result.stdout and "confusion matrix" in result.stdout
    for name in ("predictions.png", "filters.png", "pretraining.png", "fine_tuning.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.8 and len(metrics["loss_curve"]) == 30
