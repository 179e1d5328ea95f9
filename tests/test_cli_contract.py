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
