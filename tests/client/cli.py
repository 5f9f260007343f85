"""Running the installed ``labelkeep`` command as a pipeline would."""

import os
import subprocess
import sys
from pathlib import Path

LABELKEEP = Path(sys.executable).parent / "labelkeep"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """The command's CompletedProcess; ``env`` replaces the LABELKEEP_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABELKEEP_")}
    return subprocess.run(
        [str(LABELKEEP), *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
