"""The version both packages share: this wheel and the npm package in web/.

pyproject.toml reads it from here (`[tool.setuptools.dynamic]`), and
`tests/packaging/test_version.py` holds `web/package.json` and the
changelog's latest release heading to it.
"""

__version__ = "0.1.0"
