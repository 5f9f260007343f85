"""Import boundaries that ruff's banned-api rule cannot express per module."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = {"config", "core", "vault", "audit", "accounts", "projects", "labeling", "datasets"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def product_modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in APPS and "migrations" not in parts:
            yield path


def test_only_the_storage_and_kms_modules_import_boto3():
    allowed = {ROOT / "vault" / "s3.py", ROOT / "vault" / "kms.py"}
    offenders = [
        str(path.relative_to(ROOT))
        for path in product_modules()
        if imports_of(path) & {"boto3", "botocore"} and path not in allowed
    ]
    assert offenders == []


def test_only_the_vault_imports_cryptography():
    offenders = [
        str(path.relative_to(ROOT))
        for path in product_modules()
        if "cryptography" in imports_of(path) and path.relative_to(ROOT).parts[0] != "vault"
    ]
    assert offenders == []


def test_the_vault_library_imports_no_other_app_but_core():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imports_of(path) & (APPS - {"vault", "core"}))
        for path in (ROOT / "vault").rglob("*.py")
        if imports_of(path) & (APPS - {"vault", "core"})
    }
    assert offenders == {}
