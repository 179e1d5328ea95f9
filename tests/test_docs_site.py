"""The documentation site builds with Sphinx, warnings as errors, and its pages and internal links are there:
the home page, the user guide, the API reference of every public estimator, the benchmarks, every gallery example
with its figure; and a reader's browser (headless Chromium) renders four of them."""
import json
import os
import re
import shutil
import subprocess
import sys
from html import unescape
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
    tutorial = (site / "auto_examples" / "plot_digits_classification.html").read_text()
    assert "test accuracy" in tutorial and "older package&#39;s API: test accuracy" in tutorial


PROBE = """<html><body><iframe id="page" src="{url}" width="1280" height="4000"></iframe><pre id="report">pending</pre>
<script>
document.getElementById("page").onload = function () {{
  var d = this.contentDocument, images = Array.from(d.images);
  var shown = i => i.complete && i.naturalWidth > 0;
  document.getElementById("report").textContent = JSON.stringify({{
    title: d.title, heading: (d.querySelector("h1") || {{textContent: ""}}).textContent,
    font: getComputedStyle(d.body).fontFamily, navigation: d.querySelectorAll("nav a").length,
    shown: images.filter(shown).map(i => i.getAttribute("src")),
    broken: images.filter(i => !shown(i)).map(i => i.getAttribute("src"))}});
}};
</script></body></html>"""
READER_PAGES = {"index.html": "deepbelief", "generated/deepbelief.DBNClassifier.html": "DBNClassifier",
                "auto_examples/plot_digits_classification.html": "Classifying digits",
                "auto_examples/plot_denoising_inpainting.html": "Denoising and inpainting"}


def chromium():
    return next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)


def headless(browser, profile, *arguments):
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                           "--allow-file-access-from-files", "--virtual-time-budget=10000", *arguments],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(chromium() is None, reason="needs Chromium (apt-get install chromium; .ci/run installs it)")
def test_a_reader_sees_the_pages_rendered_in_headless_chromium(site, tmp_path):
    """The home page, DBNClassifier's API page and two gallery pages as a browser renders them: the title and
    heading, the theme's stylesheet and navigation, every image decoded (each gallery figure among them), and a
    screenshot of each that is not blank (kept in $DEEPBELIEF_SCREENSHOTS when set)."""
    from matplotlib.image import imread

    from deepbelief import __version__

    browser = chromium()
    shots = Path(os.environ.get("DEEPBELIEF_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    for page, heading in READER_PAGES.items():
        probe = tmp_path / "probe.html"
        probe.write_text(PROBE.format(url=(site / page).as_uri()))
        dom = headless(browser, tmp_path / "profile", "--dump-dom", probe.as_uri()).stdout
        report = json.loads(unescape(re.search(r'<pre id="report">(.*?)</pre>', dom, re.S).group(1)))
        assert report["title"].endswith(f"deepbelief {__version__}") and heading in report["heading"], report
        assert "serif" not in report["font"].split(",")[0] and report["navigation"] > 5, report
        assert not report["broken"], report
        if page.startswith("auto_examples/"):
            stem = Path(page).stem
            assert any(f"sphx_glr_{stem}_001" in src for src in report["shown"]), report
        shot = shots / f"{page.replace('/', '_')}.png"
        headless(browser, tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={shot}",
                 (site / page).as_uri())
        pixels = imread(shot)
        assert pixels.shape[:2] == (1600, 1280) and pixels[..., :3].std() > 0.05, shot
