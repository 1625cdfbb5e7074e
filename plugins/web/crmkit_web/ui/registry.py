"""The pages, menu entries and card tabs plugins register, collected once
when the application is built (``crmkit_register_pages``)."""
from __future__ import annotations

import attrs

from crmkit import StartupError

from .specs import CardTab, MenuEntry, Page


@attrs.define
class Pages:
    pages: list = attrs.field(factory=list)
    menu: list = attrs.field(factory=list)
    menu_plugins: list = attrs.field(factory=list)   # who registered each entry (sections keep plugin order)
    tabs: dict = attrs.field(factory=dict)     # entity -> [CardTab]
    owners: dict = attrs.field(factory=dict)   # endpoint or rule -> plugin
    body_limits: dict = attrs.field(factory=dict)   # Flask endpoint -> a page's max_body
    memo: dict = attrs.field(factory=dict)     # what the side menu makes per roles and language (views.py)

    def tabs_of(self, entity):
        return self.tabs.get(entity, [])


def collect(host) -> Pages:
    """Call every plugin's ``crmkit_register_pages`` in ``requires`` order;
    a page endpoint or URL registered twice fails, naming both plugins."""
    crm = host.system()
    out = Pages()
    for plugin in crm.plugins:
        impl = getattr(plugin.hooks, "crmkit_register_pages", None)
        if impl is None:
            continue

        def register(item, _plugin=plugin.name):
            if isinstance(item, Page):
                for key in (item.endpoint, item.rule):
                    if key in out.owners:
                        raise StartupError(f"web page {key!r} is registered by both {out.owners[key]!r} "
                                           f"and {_plugin!r}")
                    out.owners[key] = _plugin
                out.pages.append(item)
            elif isinstance(item, MenuEntry):
                out.menu.append(item)
                out.menu_plugins.append(_plugin)
            elif isinstance(item, CardTab):
                out.tabs.setdefault(item.entity, []).append(item)
            else:
                raise StartupError(f"plugin {_plugin!r} registered {item!r}: not a Page, MenuEntry or CardTab")

        impl(register=register)
    for tabs in out.tabs.values():
        tabs.sort(key=lambda t: t.order)
    return out


def install_loader(app):
    """Templates of every plugin's ``templates/`` folder, after the web's own."""
    import jinja2
    folders = []
    for plugin in app.extensions["crmkit"].system().plugins:
        folder = plugin.package_dir / "templates" if plugin.package_dir else None
        if folder and folder.is_dir() and plugin.name != "web":
            folders.append(str(folder))
    app.jinja_loader = jinja2.ChoiceLoader([app.jinja_loader, jinja2.FileSystemLoader(folders)])
