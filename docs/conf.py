"""Sphinx configuration for the partitive documentation.

Build (from the repository root, no network needed):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery scripts in examples/ are run at build time by sphinx-gallery and their
figures are made then.  Nothing is fetched, at build time or when the pages are read:
intersphinx and MathJax are not enabled, the theme's assets are bundled with it, and
sphinx-gallery's timing pages (which load scripts from a CDN) are not written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Document the package in this checkout even when it is not installed.
sys.path.insert(0, str(ROOT / "src"))

import partitive  # noqa: E402

project = "partitive"
author = "the partitive developers"
copyright = "2026, the partitive developers"
version = release = partitive.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

# -- API reference -----------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
# Class members are listed by the autosummary template (docs/_templates/autosummary/
# class.rst) through autodoc; numpydoc's own member tables would list them twice and
# need a stub page for every attribute.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- Markdown (docs/method.md, docs/dask.md, ...) ----------------------------------
myst_heading_anchors = 3

# -- Gallery -----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # every plot_*.py is run and its figures kept
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "abort_on_example_error": True,
    "reference_url": {"partitive": None},
    "doc_module": ("partitive",),
    "backreferences_dir": "generated/backreferences",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "plot_gallery": "True",
    # The timing pages load their table scripts from a CDN when viewed: not written.
    "write_computation_times": False,
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"partitive {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "icon_links": [],
}
html_context = {"default_mode": "light"}
html_show_sourcelink = False

# -- Pages that may or may not exist in this checkout ------------------------------
#: Markdown pages of docs/ added to the "Reference" toctree of index.rst when present
#: (docs/benchmarks.md is written by the benchmark scripts; docs/design/ holds one
#: short file per experiment).  A page listed but absent, or present but in no toctree,
#: would be a warning, and -W makes a warning an error.
OPTIONAL_PAGES = ["benchmarks"]
OPTIONAL_GLOBS = ["design/*"]
#: Markdown files at the repository root shown as pages of the site: docs/NAME.md is a
#: stub whose text is replaced by the root file's when it is read (excluded while the
#: root file does not exist).
ROOT_PAGES = {"changelog": "CHANGELOG.md", "contributing": "CONTRIBUTING.md"}
TOCTREE_MARKER = ".. optional-pages"

exclude_patterns += [f"{doc}.md" for doc, name in ROOT_PAGES.items() if not (ROOT / name).exists()]


def _optional_entries() -> list[str]:
    entries = [p for p in OPTIONAL_PAGES if (HERE / f"{p}.md").exists() or (HERE / f"{p}.rst").exists()]
    for pattern in OPTIONAL_GLOBS:
        found = sorted(HERE.glob(pattern + ".md")) + sorted(HERE.glob(pattern + ".rst"))
        entries += [f.relative_to(HERE).with_suffix("").as_posix() for f in found]
    entries += [doc for doc, name in ROOT_PAGES.items() if (ROOT / name).exists()]
    return entries


_MD_LINK = re.compile(r"\]\((?!\w+:|#)([^)\s#]+)(#[^)\s]*)?\)")


def _rewrite_links(text: str, from_root: bool) -> str:
    """Point Markdown links written for GitHub at the pages of this site.

    A root file's link to ``docs/X`` is ``X`` here, a link to CHANGELOG.md or
    CONTRIBUTING.md (``../CHANGELOG.md`` from docs/) is their page, and a root file's
    link to another file of the repository is made relative to docs/.
    """
    by_file = {name: f"{doc}.md" for doc, name in ROOT_PAGES.items()}

    def fix(match):
        target, anchor = match.group(1), match.group(2) or ""
        if not from_root:
            if target.startswith("../") and target[3:] in by_file:
                return f"]({by_file[target[3:]]}{anchor})"
            return match.group(0)
        if target in by_file:
            return f"]({by_file[target]}{anchor})"
        return f"]({target[5:] if target.startswith('docs/') else '../' + target}{anchor})"

    return _MD_LINK.sub(fix, text)


def _read_source(app, docname, source):
    if docname in ROOT_PAGES:
        source[0] = _rewrite_links((ROOT / ROOT_PAGES[docname]).read_text(encoding="utf-8"), from_root=True)
    elif str(app.env.doc2path(docname)).endswith(".md"):
        source[0] = _rewrite_links(source[0], from_root=False)
    if docname == "index" and TOCTREE_MARKER in source[0]:
        lines = "\n".join(f"   {entry}" for entry in _optional_entries())
        source[0] = source[0].replace(TOCTREE_MARKER, lines)


def _check_api_coverage(app):
    """Every public name of partitive must appear in docs/api.rst (a warning otherwise)."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    text = (HERE / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^[ \t]+(?:partitive\.)?([A-Za-z_][A-Za-z0-9_]*)\s*$", text, re.M))
    listed |= set(re.findall(r"partitive\.([A-Za-z_][A-Za-z0-9_]*)", text))
    missing = [name for name in partitive.__all__ if name not in listed]
    if missing:
        logger.warning("docs/api.rst does not document the public name(s): %s", ", ".join(missing))


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out the methods scikit-learn attaches to every estimator class.

    ``set_fit_request`` and the like are generated by scikit-learn's metadata routing;
    their docstrings point into scikit-learn's own documentation (unresolvable here).
    """
    if what == "class" and getattr(obj, "__module__", "").startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("source-read", _read_source)
    # index.rst depends on which optional pages exist, and the root pages on files
    # outside docs/: read them again on every build.
    app.connect("env-get-outdated", lambda app, env, added, changed, removed: ["index", *(d for d in ROOT_PAGES if d in env.found_docs)])
    app.connect("builder-inited", _check_api_coverage)
