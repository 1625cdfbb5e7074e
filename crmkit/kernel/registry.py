"""Registries filled once at start-up through the ``register`` callbacks.

Each registration hook is called plugin by plugin, so a duplicate name fails
loudly naming both plugins.
"""
from __future__ import annotations

from .access import VERBS
from .errors import NotFound, StartupError, did_you_mean
from .specs import (ActionSpec, ChannelSpec, DuplicateRule, EntitySpec, ReportSpec, RoleSpec, SegmentField,
                    TemplateParameter)


class Registry:
    def __init__(self):
        self.entities: dict[str, EntitySpec] = {}
        self.reports: dict[str, ReportSpec] = {}
        self.channels: dict[str, ChannelSpec] = {}
        self.actions: dict[str, ActionSpec] = {}
        self.template_parameters: dict[str, TemplateParameter] = {}
        from .access import BUILTIN_ROLES
        self.roles: dict[str, dict] = {name: dict(grants) for name, grants in BUILTIN_ROLES.items()}
        from .access import ADMIN_ONLY_ENTITIES
        self.admin_writes: set[str] = set(ADMIN_ONLY_ENTITIES)   # and every spec with admin_writes
        self.segment_fields: dict[tuple[str, str], SegmentField] = {}
        self.subject_types: set[str] = set()
        self.duplicate_rules: dict[tuple[str, str], DuplicateRule] = {}
        self.owner: dict[tuple[str, str], str] = {}
        self.by_model: dict = {}

    # -- filling ---------------------------------------------------------
    def _add(self, table, kind, key, value, plugin, expected):
        if not isinstance(value, expected):
            raise StartupError(f"plugin {plugin!r} registered a {type(value).__name__} "
                               f"where a {expected.__name__} was expected")
        if key in table:
            raise StartupError(f"{kind} {key!r} is registered by both "
                               f"{self.owner[(kind, key)]!r} and {plugin!r}")
        table[key] = value
        self.owner[(kind, key)] = plugin

    def fill(self, pm):
        def each(hookname, make):
            for impl in reversed(getattr(pm.hook, hookname).get_hookimpls()):
                impl.function(make(impl.plugin_name))

        def entity(plugin):
            def register(spec):
                if not spec.name.startswith(plugin + "."):
                    raise StartupError(f"plugin {plugin!r}: entity {spec.name!r} must be named {plugin}.<name>")
                self._add(self.entities, "entity", spec.name, spec, plugin, EntitySpec)
                self.by_model[spec.model] = spec
                if spec.subject:
                    self.subject_types.add(spec.name)
                if spec.admin_writes:
                    self.admin_writes.add(spec.name)
            return register

        def report(plugin):
            return lambda spec: self._add(self.reports, "report", spec.id, spec, plugin, ReportSpec)

        def action(plugin):
            def register(spec):
                self._add(self.actions, "action", getattr(spec, "name", None), spec, plugin, ActionSpec)
                if not spec.name.startswith(plugin + "."):
                    raise StartupError(f"plugin {plugin!r}: action {spec.name!r} must be named {plugin}.<name>")
                if spec.entity is not None and spec.entity not in self.entities:
                    raise StartupError(f"plugin {plugin!r}: action {spec.name!r} acts on unknown entity {spec.entity!r}")
                if spec.verb not in VERBS:
                    raise StartupError(f"plugin {plugin!r}: action {spec.name!r} has unknown verb {spec.verb!r}")
            return register

        def channel(plugin):
            return lambda spec: self._add(self.channels, "channel", spec.name, spec, plugin, ChannelSpec)

        def parameter(plugin):
            return lambda spec: self._add(self.template_parameters, "template parameter",
                                          spec.name, spec, plugin, TemplateParameter)

        def role(plugin):
            def register(spec):
                if not isinstance(spec, RoleSpec):
                    raise StartupError(f"plugin {plugin!r} registered a role that is not a RoleSpec")
                merged = self.roles.setdefault(spec.name, {})
                for pattern, verbs in spec.grants.items():
                    merged[pattern] = "".join(sorted(set(merged.get(pattern, "")) | set(verbs)))
            return register

        def segment_field(plugin):
            return lambda spec: self._add(self.segment_fields, "segment field",
                                          (spec.kind, spec.name), spec, plugin, SegmentField)

        each("crmkit_register_entities", entity)
        each("crmkit_register_reports", report)
        each("crmkit_register_channels", channel)
        each("crmkit_register_actions", action)
        each("crmkit_register_template_parameters", parameter)
        each("crmkit_register_roles", role)
        each("crmkit_register_segment_fields", segment_field)

        def subject(plugin):
            def register(name):
                if name not in self.entities:
                    raise StartupError(f"plugin {plugin!r} declared unknown entity {name!r} a subject type")
                self.subject_types.add(name)
            return register

        each("crmkit_register_subject_types", subject)

        def duplicate_rule(plugin):
            def register(spec):
                self._add(self.duplicate_rules, "duplicate rule", (getattr(spec, "entity", None),
                          getattr(spec, "name", None)), spec, plugin, DuplicateRule)
                if spec.entity not in self.entities:
                    raise StartupError(f"plugin {plugin!r}: duplicate rule {spec.name!r} is for "
                                       f"unknown entity {spec.entity!r}")
            return register

        each("crmkit_register_duplicate_rules", duplicate_rule)

    # -- reading ---------------------------------------------------------
    def entity(self, name) -> EntitySpec:
        try:
            return self.entities[name]
        except KeyError:
            from .i18n import Message
            raise NotFound(Message("no entity {name};{hint}", context="kernel.message", name=repr(name),
                                   hint=did_you_mean(name, self.entities, tail=True)
                                   or Message(" `crmkit entities` lists the {n} there are", domain="kernel",
                                              n=len(self.entities)))) from None

    def report(self, report_id) -> ReportSpec:
        try:
            return self.reports[report_id]
        except KeyError:
            from .i18n import Message
            raise NotFound(Message("no report {name};{hint}", context="kernel.message", name=repr(report_id),
                                   hint=did_you_mean(report_id, self.reports, tail=True)
                                   or Message(" `crmkit report list` lists them", domain="kernel"))) from None

    def action(self, name) -> ActionSpec:
        try:
            return self.actions[name]
        except KeyError:
            from .i18n import Message
            raise NotFound(Message("no action {name};{hint}", context="kernel.message", name=repr(name),
                                   hint=did_you_mean(name, self.actions, tail=True)
                                   or Message(" known: {names}", domain="kernel",
                                              names=", ".join(sorted(self.actions))))) from None

    def actions_of(self, entity) -> list[ActionSpec]:
        """The actions on ``entity`` (None: those on no entity), by name."""
        return sorted((a for a in self.actions.values() if a.entity == entity), key=lambda a: a.name)

    def rules_of(self, entity) -> list[DuplicateRule]:
        return [r for (e, _), r in self.duplicate_rules.items() if e == entity]

    def spec_of_model(self, model) -> EntitySpec | None:
        return self.by_model.get(model)
