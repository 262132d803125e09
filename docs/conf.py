"""Sphinx configuration of the custseg documentation."""

import custseg

project = "custseg"
author = "custseg developers"
copyright = "2026, custseg developers"
release = version = custseg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
autosummary_generate = True
# scikit-learn's generated metadata-routing setters and its parameter plumbing are
# documented by scikit-learn; our pages show the methods custseg defines.
autodoc_default_options = {
    "members": True,
    "exclude-members": ",".join([
        "set_fit_request", "set_score_request", "set_predict_request",
        "set_transform_request", "set_predict_proba_request", "set_partial_fit_request",
        "set_params", "get_params", "get_metadata_routing", "set_output",
        "fit_transform", "fit_predict",
    ]),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
nitpicky = False
suppress_warnings = ["myst.header"]
