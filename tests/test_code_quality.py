"""The source tree passes its linters, its type check and its C++ format check.

Each check runs the pinned tool of the ``test`` extra on the checkout, as a
developer would, and fails with the tool's own report. A check is skipped only
where the tool or the source tree is not there (an installed wheel tested on its
own); under CI (``CI`` set) a missing tool is a failure, so the checks cannot
drop out of the run unseen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_TREES = ["python", "tests", "benchmarks", "examples", "tools", "noxfile.py"]
CPP_SUFFIXES = {".hpp", ".cpp", ".h", ".cc"}

if not (ROOT / "pyproject.toml").is_file() or not (ROOT / "python" / "deleverage").is_dir():
    pytest.skip("the source tree is not beside these tests", allow_module_level=True)


def _tool(name: str) -> str:
    """The tool installed beside this interpreter (the test extra), else on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        message = f"{name} is not installed (pip install -e '.[test]' installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _run(args: list[str]) -> None:
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}",
            pytrace=False,
        )


def cpp_sources() -> list[str]:
    """Every C++ source and header under cpp/, as paths relative to the root."""
    return sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "cpp").rglob("*") if p.suffix in CPP_SUFFIXES
    )


def test_ruff_check() -> None:
    _run([_tool("ruff"), "check", *PYTHON_TREES])


def test_ruff_format() -> None:
    _run([_tool("ruff"), "format", "--check", *PYTHON_TREES])


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="the pinned pandas-stubs and scipy-stubs need Python 3.11"
)
def test_mypy_strict() -> None:
    # The files and strictness come from [tool.mypy] in pyproject.toml.
    _run([_tool("mypy"), "--strict"])


def test_clang_format() -> None:
    sources = cpp_sources()
    assert len(sources) > 20, sources  # the glob still finds the engine
    _run([_tool("clang-format"), "--dry-run", "--Werror", *sources])


def test_pre_commit_revs_match_the_pins() -> None:
    """The pre-commit hooks run the same ruff and clang-format as the lint extra."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "lint"
    ]
    pins = dict(req.split("==") for req in lint if "==" in req and ";" not in req)
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    for repo, tool in (("ruff-pre-commit", "ruff"), ("mirrors-clang-format", "clang-format")):
        found = re.search(rf"/{repo}\n\s+rev: v(\S+)", config)
        assert found is not None, repo
        assert found.group(1) == pins[tool], (repo, found.group(1), pins[tool])
