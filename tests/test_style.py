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


def test_no_sql_outside_the_store():
    """The store owns its schema and queries: nothing else in the package speaks SQL."""
    import re

    sql = re.compile(r"\b(SELECT .+ FROM|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM)\b")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "emulator").rglob("*.py")
        if "store" not in path.relative_to(ROOT / "emulator").parts
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if sql.search(line)
    ]
    assert found == []


def test_every_exception_of_the_package_is_an_emulator_error():
    """One exception tree (drawn in emulator/errors.py), one naming style."""
    import importlib
    import inspect
    import pkgutil

    import emulator
    from emulator.errors import EmulatorError
    from emulator.load import LOCUST_MODULES

    strays = []
    for module in pkgutil.walk_packages(emulator.__path__, "emulator."):
        if module.name.endswith("__main__") or module.name in LOCUST_MODULES:  # Locust's gevent patching
            continue
        for name, value in vars(importlib.import_module(module.name)).items():
            ours = inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.name
            if ours and not (issubclass(value, EmulatorError) and (name.endswith("Error") or name == "Problem")):
                strays.append(f"{module.name}.{name}")
    assert strays == []


def test_the_readme_names_every_scheme_fault_and_preset():
    """The docs list what the definitions define (a new scheme, fault or preset needs its line)."""
    import re

    from emulator.delivery.faults import KINDS
    from emulator.delivery.retry import preset_names
    from emulator.delivery.signing import SCHEMES
    from emulator.delivery.transactions import TYPES

    readme = (ROOT / "README.md").read_text("utf-8")
    names = (*SCHEMES, *KINDS, *preset_names(), *TYPES)
    missing = [name for name in names if not re.search(rf"`[^`]*\b{re.escape(name)}\b[^`]*`", readme)]
    assert missing == [], f"README.md does not mention: {', '.join(missing)}"
