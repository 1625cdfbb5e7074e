"""docs/cli.md says what the commands' own help says."""
import os
import pathlib
import subprocess
import sys

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def test_the_cli_reference_is_the_commands_help():
    # in a process of its own: a test before may have left click speaking Russian
    env = {k: v for k, v in os.environ.items() if k not in ("CRMKIT_LANG", "CRMKIT_USER")}
    made = subprocess.run([sys.executable, str(DOCS / "make_cli_md.py"), "--print"], env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=True).stdout
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == made, \
        "docs/cli.md is behind the commands: run .venv/bin/python docs/make_cli_md.py"
