"""Every variable the settings read is documented in deploy/env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_READ = re.compile(r"""env_(?:str|bool|int|list|choice)\(\s*["']([A-Z0-9_]+)["']""")
_DOCUMENTED = re.compile(r"^#?\s*([A-Z0-9_]+)=", re.MULTILINE)


def test_every_setting_read_from_the_environment_is_in_env_example():
    read = set(_READ.findall((ROOT / "config" / "settings.py").read_text()))
    names = _DOCUMENTED.findall((ROOT / "deploy" / "env.example").read_text())
    # NAME_FILE documents NAME too (any variable may be given as a file).
    documented = set(names) | {name.removesuffix("_FILE") for name in names}
    assert read, "the pattern no longer finds the settings' variables"
    assert sorted(read - documented) == []
