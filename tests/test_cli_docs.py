"""docs/cli.md says what the commands' own help says."""
import importlib.util
import pathlib

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def test_the_cli_reference_is_the_commands_help():
    spec = importlib.util.spec_from_file_location("make_cli_md", DOCS / "make_cli_md.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == module.generate(), \
        "docs/cli.md is behind the commands: run .venv/bin/python docs/make_cli_md.py"
