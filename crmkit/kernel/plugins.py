"""Build the plugin manager: built-ins, entry points, blocking, ordering.

``make_plugin_manager()`` is a factory, never a module global, so that tests
build their own with the plugins they choose.
"""
from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import attrs
import pluggy

from . import hookspecs
from .errors import StartupError
from .specs import PluginMeta

GROUP = "crmkit"
BUILTINS = {"core": "crmkit.core"}

hookimpl = pluggy.HookimplMarker("crmkit")


@attrs.frozen
class LoadedPlugin:
    meta: PluginMeta
    package: object
    hooks: object
    given_version: str | None = None

    @property
    def name(self):
        return self.meta.name

    @property
    def version(self) -> str:
        """The plugin's version: its PluginMeta's, else its distribution's
        (read when asked: parsing every plugin's METADATA would slow start-up)."""
        if self.given_version is not None:
            return self.given_version
        return _dist_version("crmkit" if self.name in BUILTINS else f"crmkit-{self.name.replace('_', '-')}")

    @property
    def migrations_dir(self) -> Path | None:
        from pathlib import Path
        if self.meta.migrations:
            return Path(self.meta.migrations)
        folder = self.package_dir / "migrations" if self.package_dir else None
        return folder if folder and folder.is_dir() else None

    @property
    def package_dir(self) -> Path | None:
        """The plugin's folder; None for a plugin object built in memory."""
        from pathlib import Path      # here: pathlib (and urllib.parse) are not needed to start
        source = getattr(self.package, "__file__", None)
        return Path(source).parent if source else None


def disabled_from_env() -> set[str]:
    raw = os.environ.get("CRMKIT_DISABLE_PLUGINS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


@functools.cache
def _dist_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return "0"


def entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of the installed entry points of ``group``, as
    ``importlib.metadata.entry_points(group=...)`` gives them (the first
    distribution of a name on ``sys.path`` wins), read from the
    distributions' ``entry_points.txt`` without importing importlib.metadata,
    whose email, zipfile and csv modules were a fifth of ``crmkit --help``."""
    found, seen = [], set()
    for entry in sys.path:
        try:
            folders = sorted(os.listdir(entry or "."))
        except OSError:            # a zip file or a folder that is not there
            continue
        for folder in folders:
            if not folder.endswith((".dist-info", ".egg-info")):
                continue
            dist = re.sub(r"[-_.]+", "_", folder.rsplit(".", 1)[0].split("-")[0]).lower()
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(entry or ".", folder, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except OSError:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == group and "=" in line and not line.startswith(("#", ";")):
                    name, _, value = line.partition("=")
                    found.append((name.strip(), value.strip()))
    return found


def discover() -> dict[str, str]:
    """Plugin name -> package name, built-ins first, then entry points."""
    found = dict(BUILTINS)
    for name, value in entry_points(GROUP):
        found.setdefault(name, value.split(":")[0])
    return found


def _load(name: str, package_name: str) -> LoadedPlugin:
    package = importlib.import_module(package_name)
    meta = getattr(package, "PLUGIN", None)
    if not isinstance(meta, PluginMeta):
        raise StartupError(f"plugin {name!r}: {package_name}.PLUGIN is not a PluginMeta")
    if meta.name != name:
        raise StartupError(f"plugin {name!r}: PLUGIN.name is {meta.name!r}")
    hooks = importlib.import_module(meta.hooks or f"{package_name}.hooks")
    return LoadedPlugin(meta, package, hooks, meta.version)


def order_by_requires(plugins: dict[str, LoadedPlugin]) -> list[LoadedPlugin]:
    """Topological order; a missing requirement or a cycle stops start-up."""
    ordered, state = [], {}

    def visit(name, chain):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise StartupError(f"plugin requirement cycle: {' -> '.join(chain + [name])}")
        state[name] = "visiting"
        for req in plugins[name].meta.requires:
            if req not in plugins:
                raise StartupError(
                    f"plugin {name!r} requires {req!r}, which is not installed or is disabled")
            visit(req, chain + [name])
        for optional in plugins[name].meta.after:
            if optional in plugins:
                visit(optional, chain + [name])
        state[name] = "done"
        ordered.append(plugins[name])

    for name in sorted(plugins, key=lambda n: (n != "core", n)):
        visit(name, [])
    return ordered


def make_plugin_manager(only=None, extra=(), disabled=None):
    """Build a pluggy manager with crmkit's hooks and plugins.

    :param only: names of plugins to load (core always); default all found.
    :param extra: ``PluginMeta``-carrying modules or objects registered as
        well (tests, embedded applications); each needs a ``PLUGIN`` attribute.
    :param disabled: names to block; default from ``CRMKIT_DISABLE_PLUGINS``.
    :return: ``(pm, [LoadedPlugin, ...])`` in requirement order.
    """
    disabled = disabled_from_env() if disabled is None else set(disabled)
    disabled.discard("core")  # core is the domain every plugin builds on
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)

    loaded: dict[str, LoadedPlugin] = {}
    for name, package_name in discover().items():
        if name in disabled or (only is not None and name not in only and name != "core"):
            continue
        loaded[name] = _load(name, package_name)
    for obj in extra:
        meta = obj.PLUGIN
        if meta.name in loaded:
            raise StartupError(f"plugin {meta.name!r} is registered twice")
        hooks = importlib.import_module(meta.hooks) if meta.hooks else obj
        loaded[meta.name] = LoadedPlugin(meta, obj, hooks, meta.version or "0")
    if only is not None:
        missing = set(only) - set(loaded) - disabled
        if missing:
            raise StartupError(f"plugin(s) not installed: {', '.join(sorted(missing))}")

    ordered = order_by_requires(loaded)
    for plugin in ordered:
        pm.register(plugin.hooks, name=plugin.name)
    pm.hook.crmkit_add_hookspecs(pm=pm)
    pm.check_pending()
    return pm, ordered
