"""A populated world with a secret half, and an oracle of what must stay hidden.

Every plugin's demo is loaded; the partners are split between the access
group ``ZZ secret`` (the spy is outside it) and ``open to spy``. The oracle
decides independently of the kernel's filter which rows hang off a secret
partner (through ``partner_path``, a subject reference, or a partner
segment's membership) and taints their free text with ``ZZSECRET``, so that
any output reaching the spy can be searched for a leak.
"""
from __future__ import annotations

import peewee as pw

import crmkit

from .conftest import ADVERSARY, INSTALLED, SPY_ROLES

def _registry():
    from crmkit.kernel.plugins import make_plugin_manager
    from crmkit.kernel.registry import Registry
    pm, _ = make_plugin_manager(only=list(INSTALLED))
    registry = Registry()
    registry.fill(pm)
    return registry


REGISTRY = _registry()   # what the installed plugins register, known at collection
ENTITIES = sorted(REGISTRY.entities)
REPORTS = sorted(REGISTRY.reports)
TAINT = "ZZSECRET"
TAINTED_FIELDS = ("name", "public_name", "title", "topic", "text", "comment", "description", "value",
                  "result", "role", "position", "document", "subject", "body_text", "note")


class World:
    def __init__(self, url):
        self.url = url
        self.admin = crmkit.open(url, plugins=list(INSTALLED), extra=[ADVERSARY])
        self.spy = None
        self.secret = {}          # entity -> set of ids that must stay hidden
        self.secret_group = None
        self.open_group = None

    # -- building ----------------------------------------------------------
    def build(self):
        crm = self.admin
        with crm.transaction():
            for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
                pass
        self.secret_group = crm.create("core.access_group", {"name": "ZZ secret"}).id
        self.open_group = crm.create("core.access_group", {"name": "open to spy"}).id
        spy = crm.create("core.user", {"login": "spy", "name": "Spy", "roles": SPY_ROLES})
        crm.create("core.user_access", {"user": spy.id, "access_group": self.open_group})
        Partner = crm.model("core.partner")
        ids = [pid for (pid,) in Partner.select(Partner.id).order_by(Partner.id).tuples()]
        secret_ids, open_ids = ids[0::2], ids[1::2]
        Partner.update(access_group=self.secret_group).where(Partner.id.in_(secret_ids)).execute()
        Partner.update(access_group=self.open_group).where(Partner.id.in_(open_ids)).execute()
        # a visible partner that mentions a secret one (its head company)
        Partner.update(head=secret_ids[0]).where(Partner.id == open_ids[0]).execute()
        self._cover_empty_entities(spy.id)
        self.secret = self.compute_secret()
        self._taint()
        self.spy = crm.as_user("spy")
        return self

    def _cover_empty_entities(self, spy_id):
        """Give entities the demo leaves without secret rows one on a secret partner."""
        crm = self.admin
        Partner = crm.model("core.partner")
        secret_partner = Partner.select().where(Partner.access_group == self.secret_group).first()
        crm.create("core.note", {"title": "about a secret partner", "partner": secret_partner.id})
        # the spy's own reminder about a partner he may no longer see
        crm.create("core.reminder", {"remind_at": "2015-10-20T15:30:00", "description": "call",
                                     "partner": secret_partner.id, "user": spy_id})
        if "claims.claim" in crm.registry.entities and not crm.count("claims.participant", include_marked=True):
            Claim = crm.model("claims.claim")
            claim = Claim.select().where(Claim.client.in_(
                Partner.select(Partner.id).where(Partner.access_group == self.secret_group))).first()
            user = crm.model("core.user").select().first()
            if claim is not None:
                crm.create("claims.participant", {"claim": claim.id, "user": user.id, "role": "expert"})
        if "leads.lead" in crm.registry.entities and not crm.count("leads.lead", include_marked=True):
            # no demo has leads: one in the spy's group, one converted into a secret partner
            crm.create("leads.lead", {"person": "Open Lead", "company": "Open Co", "access_group": self.open_group,
                                      "email": "open.lead@spy.example"})
            secret = crm.create("leads.lead", {"person": "Secret Lead", "company": "Secret Co",
                                               "access_group": self.open_group, "email": "secret.lead@spy.example"})
            Lead = crm.model("leads.lead")   # partner is the conversion's to set: written here directly
            Lead.update(partner=secret_partner.id, status="qualified").where(Lead.id == secret.id).execute()
        if "marketing.mailing_recipient" in crm.registry.entities \
                and not crm.count("marketing.mailing_recipient", include_marked=True):
            Mailing = crm.model("marketing.mailing")
            mailing = Mailing.select().first()
            if mailing is not None:
                crm.model("marketing.mailing_recipient").insert(
                    mailing=mailing.id, partner=secret_partner.id, channel="email",
                    address="secret@spy.example", state="queued").execute()

    # -- the oracle --------------------------------------------------------
    def compute_secret(self) -> dict:
        crm = self.admin
        reg = crm.registry
        secret: dict[str, set] = {name: set() for name in reg.entities}
        root = crm.access_root()
        P = root.model
        secret[root.name] = {pid for (pid,) in P.select(P.id).where(P.access_group == self.secret_group).tuples()}
        changed = True
        while changed:
            changed = False
            for name, spec in reg.entities.items():
                if spec.partner_path == "self":
                    continue
                model = spec.model
                before = len(secret[name])
                refs = []
                if spec.partner_path:
                    paths = (spec.partner_path,) if isinstance(spec.partner_path, str) else spec.partner_path
                    for path in paths:
                        target = reg.spec_of_model(getattr(model, path).rel_model)
                        if target is not None:
                            refs.append((getattr(model, path), target.name))
                pk = model._meta.primary_key
                for field, target in refs:
                    if secret[target]:
                        secret[name] |= {rid for (rid,) in model.select(pk).where(
                            field.in_(sorted(secret[target]))).tuples()}
                if "subject_type" in model._meta.fields and "subject_id" in model._meta.fields:
                    for target, ids in secret.items():
                        if ids:
                            secret[name] |= {rid for (rid,) in model.select(pk).where(
                                (model.subject_type == target) & model.subject_id.in_(sorted(ids))).tuples()}
                if name == "core.segment_member":
                    S = reg.entity("core.segment").model
                    partner_segments = S.select(S.id).where(S.kind == "partner")
                    secret[name] |= {rid for (rid,) in model.select(pk).where(
                        model.segment.in_(partner_segments)
                        & model.member_id.in_(sorted(secret[root.name]))).tuples()}
                changed |= len(secret[name]) != before
        return secret

    def _taint(self):
        for name, ids in self.secret.items():
            if not ids:
                continue
            model = self.admin.registry.entity(name).model
            values = {}
            for fname in TAINTED_FIELDS:
                field = model._meta.fields.get(fname)
                if isinstance(field, (pw.CharField, pw.TextField)) and not field.unique and not field.choices:
                    width = field.max_length if isinstance(field, pw.CharField) and field.max_length else 40
                    values[field] = f"{TAINT} {name}"[:width]
            if values:
                model.update(values).where(model._meta.primary_key.in_(sorted(ids))).execute()

    # -- reading as the administrator ---------------------------------------
    def snapshot(self, entity):
        model = self.admin.registry.entity(entity).model
        pk = model._meta.primary_key
        return sorted(tuple(str(v) for v in row) for row in model.select().order_by(pk).tuples())

    def visible_mentioning_secret(self, entity, limit=5):
        """Ids of rows the spy may see that refer to a secret row."""
        reg = self.admin.registry
        spec = reg.entity(entity)
        model = spec.model
        hidden = self.secret.get(entity, set())
        out = []
        for row in model.select().order_by(model._meta.primary_key):
            if row.get_id() in hidden:
                continue
            for fname, field in model._meta.fields.items():
                if isinstance(field, pw.ForeignKeyField):
                    target = reg.spec_of_model(field.rel_model)
                    if target is not None and getattr(row, fname + "_id") in self.secret.get(target.name, ()):
                        out.append(row.get_id())
                        break
            if len(out) >= limit:
                break
        return out


# -- payloads copied from existing rows ------------------------------------

def writable_row(w, entity, source):
    """A payload copied from an existing row: every field a user may set."""
    from crmkit.kernel.validation import schema_for
    spec = w.admin.registry.entity(entity)
    schema = schema_for(spec, admin=False)
    row = {}
    for name, field in spec.model._meta.fields.items():
        rules = schema.get(name, {})
        if rules.get("readonly") or field.unique or name in (spec.code_field,):
            continue
        value = getattr(source, name + "_id") if isinstance(field, pw.ForeignKeyField) else getattr(source, name)
        if value is not None:
            row[name] = value
    return row


def as_file_value(w, entity, name, value):
    """How a row reaches a file: yes/no, and references by their code when they have one."""
    if value is True or value is False:
        return "yes" if value else "no"
    if hasattr(value, "astimezone") and hasattr(value, "hour"):   # datetimes as a user's file has them (UTC)
        import datetime as dt
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    field = w.admin.registry.entity(entity).model._meta.fields.get(name)
    if isinstance(field, pw.ForeignKeyField):
        target = w.admin.registry.spec_of_model(field.rel_model)
        if target is not None and target.lookup:
            return getattr(target.model.get_by_id(value), target.lookup) or value
    return value


def write_csv(path, row):
    import csv
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
