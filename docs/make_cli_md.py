"""Write docs/cli.md from the commands themselves: ``.venv/bin/python
docs/make_cli_md.py`` after a command or its help changes
(tests/test_cli_docs.py fails until then)."""
from __future__ import annotations

import os
import pathlib

import click
from click.testing import CliRunner

PATH = pathlib.Path(__file__).with_name("cli.md")
HEAD = """# CLI reference

Generated from the commands themselves (`crmkit COMMAND --help` says the same;
`docs/make_cli_md.py` writes this file).
Global options come before the command: `crmkit --db URL --user LOGIN --lang ru COMMAND`.
With `--lang ru` (or `CRMKIT_LANG=ru`) the help, the output and the errors are in Russian;
a language crmkit has no catalogue for is an error naming en and ru.
"""


def generate() -> str:
    from crmkit.cli import build_cli
    root = build_cli()
    out = [HEAD]

    def walk(cmd, ctx, path):
        result = CliRunner(env={"CRMKIT_LANG": None, "CRMKIT_USER": None}).invoke(
            root, ["--lang", "en", *path, "--help"], terminal_width=78, catch_exceptions=False, prog_name="crmkit")
        out.append(f"\n## `{' '.join(['crmkit', *path])}`\n\n```\n{result.output.rstrip()}\n```\n")
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), click.Context(cmd, info_name=name, parent=ctx), path + [name])
    walk(root, click.Context(root, info_name="crmkit"), [])
    return "".join(out)


if __name__ == "__main__":       # --print: to standard output, for the test
    import sys
    os.environ.pop("CRMKIT_LANG", None)
    text = generate()
    sys.stdout.write(text) if sys.argv[1:] == ["--print"] else PATH.write_text(text, encoding="utf-8")
