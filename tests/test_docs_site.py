"""The documentation site builds with Sphinx, warnings as errors, and its pages and internal links are there:
the home page, the user guide, the API reference of every public estimator and the benchmarks."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          str(ROOT / "docs"), str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return out


@pytest.mark.slow
def test_the_site_has_its_pages_and_the_api_of_every_estimator(site):
    from deepbelief import __all__ as public

    assert "<title>deepbelief &#8212;" in (site / "index.html").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert (site / f"{page.stem}.html").exists(), page.name
    estimators = [name for name in public if name[0].isupper() and not name.endswith(("Error", "Warning"))]
    for name in estimators:
        html = (site / "generated" / f"deepbelief.{name}.html").read_text()
        assert "callbacks" in html and "fit" in html, name
    classifier = (site / "generated" / "deepbelief.DBNClassifier.html").read_text()
    assert "predict_proba" in classifier and "set_fit_request" not in classifier
    assert "<img" in (site / "benchmarks.html").read_text()


@pytest.mark.slow
def test_no_internal_link_of_the_site_is_broken(site):
    broken = []
    for page in site.rglob("*.html"):
        if "_static" in page.parts:  # the theme's own templates
            continue
        for target in re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', page.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("//"):
                continue  # external
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, broken[:20]


@pytest.mark.slow
def test_every_gallery_example_ran_and_drew_its_figure(site):
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    assert examples
    for example in examples:
        html = (site / "auto_examples" / f"{example.stem}.html").read_text()
        assert re.search(r'<img[^>]+src="[^"]*sphx_glr_' + example.stem, html), example.name
    assert "test accuracy" in (site / "auto_examples" / "plot_digits_classification.html").read_text()
