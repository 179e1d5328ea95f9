"""Sphinx configuration of the documentation site. Build it with ``pip install -e ".[docs]"`` and
``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors). The Markdown pages are read by
myst-parser; the API reference is generated from the docstrings (numpy style, read by napoleon)."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

from deepbelief import __version__  # noqa: E402

project = "deepbelief"
author = "the deepbelief maintainers"
copyright = "2026, the deepbelief maintainers"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon",
              "sphinx_gallery.gen_gallery"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
templates_path = ["_templates"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"
napoleon_google_docstring = False
napoleon_use_param = False  # a field list per section: reads the docstrings' combined "a, b : ..." entries
napoleon_use_ivar = True

# The gallery: examples/plot_*.py run at build time, their figures and output captured.
sphinx_gallery_conf = {"examples_dirs": str(ROOT / "examples"), "gallery_dirs": "auto_examples",
                       "filename_pattern": "/plot_", "download_all_examples": False,
                       "within_subsection_order": "FileNameSortKey", "matplotlib_animations": (True, "jshtml")}

html_theme = "pydata_sphinx_theme"
html_title = f"deepbelief {version}"
html_theme_options = {"show_prev_next": False, "navigation_with_keys": False}


# scikit-learn's plumbing, inherited by every estimator and documented there (its docstrings refer to labels of
# scikit-learn's own site)
SKLEARN_PLUMBING = {"get_metadata_routing", "set_output", "get_params", "set_params"}


def skip_plumbing(app, what, name, obj, skip, options):
    if name in SKLEARN_PLUMBING or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_plumbing)
