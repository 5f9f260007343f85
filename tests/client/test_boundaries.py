"""The client installs on its own: it imports the standard library, cryptography and itself,
and nothing of the server."""

import ast
import sys
import tomllib
from pathlib import Path

import labelkeep_client

PACKAGE = Path(labelkeep_client.__file__).parent
ROOT = Path(__file__).resolve().parents[2]


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_installed_client_is_the_repositorys():
    assert PACKAGE == ROOT / "client" / "src" / "labelkeep_client"


def test_the_client_imports_only_the_standard_library_and_cryptography():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    imported = set().union(*(top_level_imports(path) for path in modules))
    foreign = imported - set(sys.stdlib_module_names) - {"cryptography", "labelkeep_client"}
    assert foreign == set()


def test_the_package_declares_cryptography_as_its_only_dependency():
    project = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["cryptography>=41"]
    assert project["scripts"] == {"labelkeep": "labelkeep_client.cli:main"}
