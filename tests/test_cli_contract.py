"""The command line's contract (issue 44): bad usage or input is one line on stderr and a non-zero exit, never a
traceback; --help is instant and complete; Ctrl-C and a closed pipe end quietly."""
import os
import signal
import subprocess
import sys
import time

import pytest

from deepbelief import cli

ENV = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(os.path.dirname(__file__)), "src")}


def test_help_imports_neither_torch_nor_sklearn():
    code = ("import sys; from deepbelief.cli import build_parser; build_parser().format_help(); "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert run.stdout.strip() == "[]", run.stderr


def _subparsers():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_help_describes_every_option_and_shows_its_default():
    for name, parser in _subparsers().items():
        for action in parser._actions:
            if action.dest == "help":
                continue
            assert action.help, f"deepbelief {name} {'/'.join(action.option_strings) or action.dest} has no help"
        text = " ".join(parser.format_help().split())
        if any(a.dest == "seed" for a in parser._actions):
            assert "(default: 0)" in text, name
    assert "(default: 256,256)" in " ".join(_subparsers()["train"].format_help().split())


def test_the_clis_vocabularies_are_the_librarys():
    from deepbelief.data.files import DATASET_NAMES
    from deepbelief.training import SCHEDULES
    assert cli.DATASET_NAMES == DATASET_NAMES and cli.SCHEDULES == SCHEDULES


@pytest.mark.slow
def test_ctrl_c_prints_one_line_exits_130_and_says_how_to_resume(tmp_path):
    command = [sys.executable, "-m", "deepbelief", "train", "digits", "--epochs", "500", "--quiet",
               "--checkpoint-dir", str(tmp_path / "ck"), "--out", str(tmp_path / "out")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 120
    while not (tmp_path / "ck" / "pretraining.ckpt").exists() and time.time() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (f"deepbelief train: interrupted; resume with the same command and "
                                               f"--resume (checkpoints in {tmp_path / 'ck'})")


def test_a_closed_pipe_ends_the_output_quietly(tmp_path):
    code = ("import sys, deepbelief.cli as cli\n"
            "def flood(args):\n    while True:\n        print('x' * 1000)\n"
            "cli.cmd_info = flood\nsys.exit(cli.main(['info', 'model.dbn']))\n")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=ENV, cwd=tmp_path)
    process.stdout.read(10)
    process.stdout.close()  # `deepbelief info model.dbn | head -c 10`
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1 and stderr == ""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small headed CSV, a trained model, and the damaged and awkward inputs of issue 44."""
    import numpy as np
    from sklearn.datasets import load_digits

    root = tmp_path_factory.mktemp("cli")
    digits = load_digits()
    X, y = digits.data[:200] / 16, digits.target[:200]
    lines = [",".join([f"p{i}" for i in range(64)] + ["label"])]
    lines += [",".join(f"{v:.3f}" for v in row) + f",{label}" for row, label in zip(X, y)]
    (root / "t.csv").write_text("\n".join(lines) + "\n")
    unseen = lines[:]
    unseen[1] = unseen[1].rsplit(",", 1)[0] + ",42"
    (root / "unseen.csv").write_text("\n".join(unseen) + "\n")
    (root / "bom.csv").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[1:]).encode() + b"\n")
    (root / "na.csv").write_text("a,b,label\n1,NA,0\n2,?,1\n3,,0\n4,5,1\n")
    np.save(root / "nan.npy", np.full((10, 4), np.nan))
    np.save(root / "complex.npy", np.ones((10, 4)) + 1j)
    np.savez(root / "t.npz", X=X, y=y)
    (root / "truncated.npz").write_bytes((root / "t.npz").read_bytes()[:300])
    (root / "folder").mkdir()
    (root / "a_file").write_text("x")
    assert cli.main(["train", str(root / "t.csv"), "--target", "label", "--epochs", "1", "--max-iter", "1",
                     "--quiet", "--out", str(root / "run")]) == 0
    return root


QUICK = ["--epochs", "1", "--max-iter", "1", "--quiet"]


@pytest.mark.parametrize("args, code, message", [
    (["train", "{folder}", "--out", "{tmp}/o"], 2, "folder is a folder; give a data file"),
    (["train", "{t.npz}", "--labels", "{tmp}/missing", "--out", "{tmp}/o"], 2, "no such file: .*missing"),
    (["train", "{t.csv}", "--target", "label", "--out", "{a_file}"], 2, "is a file; give a folder"),
    (["train", "{t.csv}", "--target", "label", "--out", "{run}"], 2, "already holds a trained model.*--force"),
    (["predict", "{run}/model.dbn", "{t.csv}", "--out", "{tmp}/nodir/p.csv"], 2, "nodir/p.csv: No such file"),
    (["train", "{truncated.npz}", "--out", "{tmp}/o"], 2, "not a readable .npz file \\(truncated or damaged"),
    (["train", "{t.csv}", "--test-size", "-0.2", "--out", "{tmp}/o"], 2, "--test-size must be a fraction"),
    (["train", "{t.csv}", "--test-size", "nan", "--out", "{tmp}/o"], 2, "--test-size must be a fraction.*nan"),
    (["train", "{nan.npy}", "--out", "{tmp}/o"], 2, "30 missing \\(NaN\\) or infinite values.*SimpleImputer"),
    (["train", "{complex.npy}", "--out", "{tmp}/o"], 2, "holds complex numbers; give the real and imaginary"),
    (["train", "{na.csv}", "--target", "label", "--out", "{tmp}/o"], 2,
     "3 missing values \\(empty, NA, \\? or similar\\) in column\\(s\\) b, the first at line 2.*SimpleImputer"),
    (["train", "{t.csv}", "--target", "lable", "--out", "{tmp}/o"], 2, "did you mean 'label'\\?"),
    (["train", "{t.csv}", "--target", "label", "--layers", "1000000000", "--out", "{tmp}/o"], 2,
     "--layers 1000000000 on 64 inputs needs \\d+ GiB for its weights alone"),
    (["evaluate", "{run}/model.dbn", "{unseen.csv}", "--target", "label"], 2,
     "1 class\\(es\\) the model was not trained on \\(42\\)"),
])
def test_bad_input_is_one_line_and_an_exit_code(files, tmp_path, capsys, args, code, message):
    import re
    names = {"{tmp}": str(tmp_path), **{"{" + p.name + "}": str(p) for p in files.iterdir()}}
    for placeholder, path in names.items():
        args = [a.replace(placeholder, path) for a in args]
    if args[0] == "train":
        args += QUICK
    assert cli.main(args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert re.search(message, err[0]), err[0]


def test_a_byte_order_mark_is_not_data_and_force_replaces_a_run(files, tmp_path, capsys):
    assert cli.main(["train", str(files / "bom.csv"), *QUICK, "--out", str(tmp_path / "run")]) == 0
    assert cli.main(["train", str(files / "bom.csv"), *QUICK, "--out", str(tmp_path / "run"), "--force"]) == 0


def test_predictions_csv_has_a_header_and_files_the_umasks_permissions(files, tmp_path):
    import numpy as np
    old = os.umask(0o022)
    try:
        assert cli.main(["predict", str(files / "run" / "model.dbn"), str(files / "t.csv"),
                         "--out", str(tmp_path / "p.csv")]) == 0
        assert cli.main(["train", str(files / "t.csv"), "--target", "label", *QUICK, "--out", str(tmp_path / "r")]) == 0
    finally:
        os.umask(old)
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "label" and len(lines) == 201 and set(lines[1:]) <= {str(i) for i in range(10)}
    assert (tmp_path / "r" / "model.dbn").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert cli.main(["transform", str(files / "run" / "model.dbn"), str(files / "t.csv"),
                     "--out", str(tmp_path / "codes.csv")]) == 0
    header = (tmp_path / "codes.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["code_0", "code_1"] and np.loadtxt(tmp_path / "codes.csv", delimiter=",",
                                                             skiprows=1).shape == (200, len(header))


def test_a_read_only_or_full_disk_is_one_line(files, tmp_path, capsys, monkeypatch):
    import errno
    from deepbelief import io

    for number, code in ((errno.EACCES, 2), (errno.ENOSPC, 1)):
        def refuse(*args, number=number, **kwargs):
            raise OSError(number, os.strerror(number), str(tmp_path / "r" / "model.dbn"))

        monkeypatch.setattr(io, "save", refuse)
        assert cli.main(["train", str(files / "t.csv"), "--target", "label", *QUICK, "--force",
                         "--out", str(tmp_path / "r")]) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith(f"model.dbn: {os.strerror(number)}"), err
