"""Modules loaded on first attribute access.

A plugin's hooks.py and commands.py are imported at every start of the
``crmkit`` command; ``models = lazy_module(__package__ + ".models")`` keeps
peewee (and the plugin's tables) out of that path until a command runs.
"""
import importlib.util
import sys


def lazy_module(name: str):
    """The module ``name``, executed when one of its attributes is first read."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
