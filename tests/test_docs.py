"""Every Python block of README.md and docs/*.md runs as written, in order, in a fresh process.

The quick switch: epoch counts are cut to 1 (``n_iter``, ``max_iter``; ``k=25`` to 1), MNIST is cut to its first
2,000 training and 500 test rows, and AIS runs over 1,000 temperatures instead of 14,501. Everything else is the
text a user copies; a block that needs a name it does not define fails here.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SHARED

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
QUICK = [(r"\bn_iter=(\d+|\([^)]*\))", "n_iter=1"), (r"\bmax_iter=\d+", "max_iter=1"), (r"\bk=25\b", "k=1")]
PRELUDE = """
import numpy as np
import deepbelief.data.datasets as _datasets, deepbelief.datasets as _public, deepbelief.evaluate as _evaluate

def _cut(load):
    def cut(*args, **kwargs):
        (X, y), (X_test, y_test) = load(*args, **kwargs)
        return (X[:2000], y[:2000]), (X_test[:500], y_test[:500])
    return cut

for _module in (_datasets, _public):
    _module.load_mnist, _module.load_fashion_mnist = _cut(_datasets.load_mnist), _cut(_datasets.load_fashion_mnist)
_ais = _evaluate.ais
_evaluate.ais = lambda *a, betas=None, **k: _ais(*a, betas=np.linspace(0, 1, 1000) if betas is None else betas, **k)
"""


def python_blocks(page):
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


def quick(code):
    for pattern, replacement in QUICK:
        code = re.sub(pattern, replacement, code)
    return code


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.name)
def test_the_pages_code_runs_as_written(page, tmp_path):
    code = "\n".join(quick(block) for block in python_blocks(page))
    if "load_mnist" in code and not (SHARED / "mnist").is_dir():
        pytest.skip("needs MNIST in ../shared/data")
    run_quick(code, page.name, tmp_path)


def run_quick(code, name, cwd, **env):
    """Run ``code`` (already cut by ``quick``) after PRELUDE in a fresh process with the shared data; it must
    succeed."""
    env = {**os.environ, "DEEPBELIEF_DATA": str(SHARED), "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "src"), **env}
    run = subprocess.run([sys.executable, "-c", PRELUDE + code], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"{name}:\n{run.stderr[-3000:]}"


def test_the_quick_switch_only_cuts_epochs():
    assert quick("DBN(n_iter=(20, 20, 30), k=25, max_iter=50, n_iter_no_change=5)") == \
        "DBN(n_iter=1, k=1, max_iter=1, n_iter_no_change=5)"
    assert all(python_blocks(p) is not None for p in PAGES)


FULL_EXAMPLES = sorted(p for p in (ROOT / "examples").glob("plot_*.py") if "DEEPBELIEF_FULL" in p.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("example", FULL_EXAMPLES, ids=lambda p: p.stem)
def test_the_gallery_examples_full_size_switch_runs_on_mnist(example, tmp_path):
    """DEEPBELIEF_FULL=1 runs the example on MNIST: here cut by the quick switch (1 epoch, 2,000 rows)."""
    if not (SHARED / "mnist").is_dir():
        pytest.skip("needs MNIST in ../shared/data")
    run_quick(quick(example.read_text()), example.name, tmp_path, DEEPBELIEF_FULL="1")


def test_the_image_examples_have_the_full_size_switch():
    assert {p.stem for p in FULL_EXAMPLES} >= {"plot_digits_classification", "plot_layer_filters", "plot_generation",
                                               "plot_denoising_inpainting", "plot_anomaly_detection"}
