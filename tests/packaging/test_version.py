"""One version for both packages: the wheel and the npm package of web/.

The source of truth is `src/switchboard/__about__.py` (pyproject.toml reads it);
`make version VERSION=x.y.z` writes it and web/package.json (+ its lock).
"""

from __future__ import annotations

import json
import re
import tomllib

from switchboard.__about__ import __version__
from tests.support.server import REPO

RELEASE_HEADING = re.compile(r"^## \[(\d+\.\d+\.\d+[^\]]*)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)


def test_pyproject_takes_its_version_from_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert "version" not in project["project"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "switchboard.__about__.__version__"


def test_the_npm_package_has_the_same_version() -> None:
    package = json.loads((REPO / "web" / "package.json").read_text())
    lock = json.loads((REPO / "web" / "package-lock.json").read_text())
    assert package["version"] == __version__
    assert lock["version"] == __version__
    assert lock["packages"][""]["version"] == __version__


def test_the_changelog_names_the_version_or_collects_it_as_unreleased() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## .*$", text, re.MULTILINE)
    assert headings, "CHANGELOG.md has no sections"
    released = RELEASE_HEADING.findall(text)
    if released:
        # A release renames [Unreleased] to `[x.y.z] - date` and sets that version.
        assert released[0] == __version__, (released[0], __version__)
    else:
        assert headings[0] == "## [Unreleased]", headings[0]
    assert "src/switchboard/__about__.py" in text
