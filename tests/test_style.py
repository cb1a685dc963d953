"""The code base passes its own linter, formatter and type checker (configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert exe, f"{name} is part of the test extras: pip install -e '.[test]'"
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)


def ruff(*args: str) -> subprocess.CompletedProcess:
    return tool("ruff", *args)


def test_ruff_lint():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout


def test_ruff_format():
    result = ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout


def test_mypy_strict():
    result = tool("mypy")  # files and strictness from pyproject.toml
    assert result.returncode == 0, result.stdout
