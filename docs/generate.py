"""Write docs/hooks.md and docs/cli.md from the code, so they stay true.

    .venv/bin/python docs/generate.py
"""
import inspect
from pathlib import Path

import click

HERE = Path(__file__).parent


def hooks_md() -> str:
    from crmkit.kernel import hookspecs
    from crmkit.kernel.plugins import make_plugin_manager
    out = ["# Hook reference", "",
           "Every hook crmkit calls, from `crmkit/kernel/hookspecs.py`. Implement them in a",
           "plugin's `hooks.py` with `@crmkit.hookimpl`. Registration hooks run once per",
           "`crmkit.open()`; events run inside the write's transaction.", ""]
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not name.startswith("crmkit_"):
            continue
        opts = getattr(fn, "crmkit_spec", {}) or {}
        first = " (stops at the first non-None result)" if opts.get("firstresult") else ""
        out += [f"## `{name}{inspect.signature(fn)}`{first}", "", inspect.getdoc(fn) or "", ""]
    pm, loaded = make_plugin_manager()
    extra = []
    for plugin in loaded:
        for hook_name in sorted(pm.hook.__dict__):
            caller = getattr(pm.hook, hook_name)
            spec = getattr(caller, "spec", None)
            namespace = getattr(spec, "namespace", None) if spec else None
            if namespace is not None and namespace is not hookspecs and getattr(
                    namespace, "__name__", "").startswith(plugin.package.__name__):
                extra.append((plugin.name, hook_name, spec))
    if extra:
        out += ["# Hooks offered by plugins", ""]
        for plugin, hook_name, spec in extra:
            fn = spec.function
            out += [f"## `{hook_name}{inspect.signature(fn)}` — plugin `{plugin}`", "",
                    inspect.getdoc(fn) or "", ""]
    return "\n".join(out).rstrip() + "\n"


def cli_md() -> str:
    from crmkit.cli import build_cli
    root = build_cli()
    out = ["# CLI reference", "",
           "Generated from the commands themselves (`crmkit COMMAND --help` says the same).",
           "Global options come before the command: `crmkit --db URL --user LOGIN --lang ru COMMAND`.",
           "With `--lang ru` (or `CRMKIT_LANG=ru`) the help, the output and the errors are in Russian;",
           "a language crmkit has no catalogue for is an error naming en and ru.", ""]

    def walk(cmd, path):
        from crmkit.cli import LazyGroup
        if isinstance(cmd, LazyGroup):
            cmd = cmd.load()
        ctx = click.Context(cmd, info_name=" ".join(path))
        out.extend([f"## `{' '.join(path)}`", "", "```", cmd.get_help(ctx).replace("Usage: ", "Usage: "), "```", ""])
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], path + [name])

    walk(root, ["crmkit"])
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    (HERE / "hooks.md").write_text(hooks_md(), encoding="utf-8")
    (HERE / "cli.md").write_text(cli_md(), encoding="utf-8")
    print("wrote docs/hooks.md and docs/cli.md")
