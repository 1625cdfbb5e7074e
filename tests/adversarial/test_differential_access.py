"""The differential access test: what a restricted user sees does not
change when data they may not see is added.

Every plugin's demo is loaded and every partner put in the group the spy
belongs to. The spy (every verb, not an administrator) then takes a
snapshot of everything they can read: every report of every installed
plugin (from the registry), every entity's list, count, cards and
histories, and every read command of the CLI (found by walking the click
tree, so a new one must be mapped below or this test fails). Then an
administrator adds a world the spy may not see: partners in another group
with contacts, deals, interactions, notes, tasks, reminders, sales,
claims, consents and opt-outs, subscriptions, mailing recipients and
outbox messages, event participants; and records the spy sees but whose
subject is hidden. Classifications, segments and mailings are recomputed
(by the administrator and by the spy) before each snapshot. The two
snapshots must be identical.

It is the test that would have caught issue 15 items 8 (segment counts),
9 (analysis shares), 10 (consent ledger), 11 (subjects) and 12 (mailing
status).
"""
from __future__ import annotations

import datetime as dt
import json
import re

import click
import pytest

import crmkit
from .conftest import ADVERSARY, INSTALLED, SPY_ROLES, installed, run_cli, use
from .world import ENTITIES, REPORTS, writable_row

pytestmark = pytest.mark.plugins(*INSTALLED)

SPY = "spy"
CARDS = 3   # cards (show, history) per entity

# the read commands of the CLI: path -> the entity whose visible keys they take
# (None: no argument). A read command not listed here fails the test.
READ_COMMANDS = {
    ("list",): "*", ("show",): "*", ("history",): "*",        # generic: every entity
    ("entities",): None, ("plugins",): None, ("report", "list"): None,
    ("partner", "tree"): "core.partner", ("partner", "history"): "core.partner",
    ("reminder", "due"): None, ("task", "mine"): None,
    ("segment", "members"): "core.segment",
    ("analysis", "history"): None, ("analysis", "settings"): None,
    ("claims", "list"): None, ("claims", "overdue"): None, ("claims", "show"): "claims.claim",
    ("claims", "plan"): "claims.claim",
    ("deals", "list"): None, ("deals", "show"): "deals.deal", ("deals", "kind", "list"): None,
    ("deals", "kind", "stages"): "deals.kind", ("deals", "stage", "list"): None,
    ("marketing", "channel", "list"): None, ("marketing", "consents"): None,
    ("marketing", "event", "list"): None, ("marketing", "event", "show"): "marketing.event",
    ("marketing", "group", "list"): None, ("marketing", "interest", "show"): "subject",
    ("marketing", "mailing", "list"): None, ("marketing", "mailing", "preview"): "marketing.mailing",
    ("marketing", "mailing", "status"): "marketing.mailing",
    ("marketing", "template", "preview"): "marketing.template",   # --partner: the first visible one
    ("outbox", "list"): None, ("email", "unknown"): None, ("email", "settings"): None,
    ("sms", "status"): None, ("sms", "settings"): None, ("db", "status"): None,
    ("webhook", "list"): None, ("webhook", "settings"): None,       # administrators only
    ("webhook", "show"): "notify_webhook.subscription",
    ("leads", "list"): None, ("user", "token", "list"): None,
    ("files", "list"): "subject", ("attributes", "list"): None,
}
READ_NAMES = {"list", "show", "history", "tree", "members", "due", "mine", "overdue", "consents", "status",
              "preview", "unknown", "stages", "entities", "plugins", "settings", "plan"}
# commands with a read name that write or need arguments of another kind
NOT_READS = {("claims", "plan", "add"), ("claims", "plan", "complete"), ("claims", "plan", "task")}
# fields stamped by the recomputation itself (when it ran, not what it found)
# rows a recomputation writes anew (their ids change with every run, hidden data or not)
REWRITTEN = ("analysis.client_class", "analysis.product_class")
REWRITTEN_ID = re.compile(r'("id": |^\s*id: )\d+', re.M)
STAMPS = "computed_at|changed_at|sent_at|created_at|at|added_at|date"
VOLATILE = re.compile(rf'"({STAMPS})": "[^"]*"|^(\s*(?:{STAMPS}):) .*$', re.M)


def _unstamp(text):
    return VOLATILE.sub(lambda m: f'"{m.group(1)}": "…"' if m.group(1) else f"{m.group(2)} …", text)


def _read_commands(root):
    """Every leaf command of the CLI whose name reads, with its path."""
    out = []

    def walk(group, path):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                walk(cmd, path + (name,))
            elif name in READ_NAMES and path + (name,) not in NOT_READS:
                out.append(path + (name,))
    walk(root, ())
    return sorted(out)


def _cli_root():
    from crmkit.cli import build_cli
    from .conftest import _roots   # run_cli keeps one root per plugin set: share it
    if tuple(INSTALLED) not in _roots:
        root = build_cli(only=list(INSTALLED))
        _roots[tuple(INSTALLED)] = (root, root.plugin_manager)
    return _roots[tuple(INSTALLED)][0]


class Differential:
    def __init__(self, url):
        self.url = url
        self.admin = crmkit.open(url, plugins=list(INSTALLED), extra=[ADVERSARY])
        self.spy = None

    # -- the base the spy sees -------------------------------------------------
    def build(self):
        crm = self.admin
        with crm.transaction():
            for _ in crm.call_in_order("crmkit_load_demo", crm=crm):
                pass
        self.open_group = crm.create("core.access_group", {"name": "open to spy"}).id
        self.hidden_group = crm.create("core.access_group", {"name": "hidden from spy"}).id
        Partner = crm.model("core.partner")
        Partner.update(access_group=self.open_group).execute()
        spy = crm.create("core.user", {"login": SPY, "name": "Spy", "roles": SPY_ROLES})
        crm.create("core.user_access", {"user": spy.id, "access_group": self.open_group})
        self.spy_id = spy.id
        self.clients = crm.create("core.segment", {"name": "all clients", "kind": "partner", "method": "rule",
                                                  "rule": '{"field": "is_client", "op": "eq", "value": true}'}).id
        if installed("marketing"):
            self._mailings()
        self.spy = crm.as_user(SPY)
        return self

    def _mailings(self):
        crm = self.admin
        demo = crm.find("marketing.mailing")[0]
        self.draft = crm.create("marketing.mailing", {"name": "draft to all clients", "group": demo.group_id,
                                                      "template": demo.template_id, "audience": "segment",
                                                      "segment": self.clients}).id
        from crmkit.core.segments import compute
        compute(crm, self.clients)
        self.sent = crm.create("marketing.mailing", {"name": "sent to all clients", "group": demo.group_id,
                                                     "template": demo.template_id, "audience": "segment",
                                                     "segment": self.clients}).id
        if "email" in crm.registry.channels:
            from crmkit_marketing.mailings import send
            send(crm, self.sent)

    # -- what the spy may not see ------------------------------------------------
    def add_hidden(self):
        crm = self.admin
        P = crm.model("core.partner")
        visible = P.select().order_by(P.id).first()
        region = visible.region_id
        hidden = []
        for i in range(3):
            p = crm.create("core.partner", {"name": f"Скрытый {i}", "kind": "company", "is_client": True,
                                            "region": region, "access_group": self.hidden_group})
            contact = crm.create("core.contact", {"partner": p.id, "name": f"Тайный {i}"})
            crm.create("core.contact_info", {"partner": p.id, "kind": "email", "value": f"hidden{i}@secret.example"})
            crm.create("core.contact_info", {"contact": contact.id, "kind": "email",
                                             "value": f"contact{i}@secret.example"})
            crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2015-10-21",
                                            "partner": p.id, "topic": "hidden call"})
            crm.create("core.task", {"title": "hidden task", "partner": p.id})
            crm.create("core.note", {"title": "hidden note", "partner": p.id})
            hidden.append(p)
        self.hidden = hidden
        self._hidden_deals(hidden, visible)
        self._hidden_sales(hidden)
        self._hidden_claims(hidden)
        self._hidden_marketing(hidden)

    def _hidden_deals(self, hidden, visible):
        crm = self.admin
        if not installed("deals"):
            return
        source = crm.find("deals.deal", limit=1)[0]
        row = writable_row(self, "deals.deal", source)
        row.pop("agreement", None)
        for p in hidden:
            deal = crm.create("deals.deal", {**row, "client": p.id, "name": "hidden deal"})
        # records the spy sees by partner whose subject is the hidden deal (item 11)
        subject = ("deals.deal", deal.id)
        crm.create("core.interaction", {"kind": "call", "direction": "outgoing", "date": "2015-10-22",
                                        "partner": visible.id, "topic": "about a hidden deal", "subject": subject})
        crm.create("core.task", {"title": "task on a hidden deal", "partner": visible.id, "subject": subject,
                                 "performer": self.spy_id})
        crm.create("core.note", {"title": "note on a hidden deal", "partner": visible.id, "subject": subject})
        crm.create("core.reminder", {"remind_at": "2015-10-20T15:30:00", "description": "hidden deal",
                                     "partner": visible.id, "user": self.spy_id, "subject": subject})

    def _hidden_sales(self, hidden):
        crm = self.admin
        if not installed("analysis"):
            return
        import pandas as pd
        S = crm.model("analysis.sale")
        Prod = crm.model("core.product")
        lines = list(S.select(S.date, Prod.code, S.quantity, S.revenue, S.cost, S.currency)
                     .join(Prod, on=(S.product == Prod.id)).order_by(S.id).limit(40).tuples())
        rows = []
        for n, p in enumerate(hidden):
            for k, (date, product, qty, revenue, cost, currency) in enumerate(lines):
                rows.append({"document": f"HID-{n}-{k}", "date": date, "partner": p.code, "product": product,
                             "quantity": qty, "revenue": revenue * 50, "cost": cost * 50, "currency": currency})
        crm.import_frame("analysis.sale", pd.DataFrame(rows))

    def _hidden_claims(self, hidden):
        crm = self.admin
        if not installed("claims") or not crm.count("claims.claim"):
            return
        source = crm.find("claims.claim", limit=1)[0]
        row = writable_row(self, "claims.claim", source)
        for name in ("subject_type", "subject_id", "agreement", "deal", "contact"):
            row.pop(name, None)
        for p in hidden:
            crm.create("claims.claim", {**row, "client": p.id})

    def _hidden_marketing(self, hidden):
        crm = self.admin
        if not installed("marketing"):
            return
        from crmkit_marketing import consent
        demo = crm.find("marketing.mailing")[0]
        for i, p in enumerate(hidden):
            consent.subscribe(crm, demo.group_id, "email", partner=p.id, method="web form")
            consent.opt_out(crm, "email", address=f"contact{i}@secret.example", method="unsubscribe link")
        consent.opt_out(crm, "email", address="nobody@nowhere.example", method="unsubscribe link")
        event = crm.find("marketing.event", limit=1)
        if event:
            crm.create("marketing.participant", {"event": event[0].id, "partner": hidden[0].id})
        # a hidden addressee of the mailing already sent (recipient row and its message)
        R = crm.model("marketing.mailing_recipient")
        if "email" in crm.registry.channels:
            msg = crm.outbox.queue("email", "hidden0@secret.example", subject="hidden", text="hidden",
                                   key="differential-hidden", source=f"marketing.mailing:{self.sent}",
                                   partner_id=hidden[0].id)
            R.insert(mailing=self.sent, partner=hidden[0].id, channel="email", address="hidden0@secret.example",
                     state="queued", outbox_id=msg.id, created_at=crmkit.utcnow()).execute()
            R.insert(mailing=self.sent, partner=hidden[1].id, channel="email", address="",
                     state="skipped", reason="no email address", created_at=crmkit.utcnow()).execute()

    # -- recomputation, as the procedure of a working day ---------------------------
    def recompute(self):
        """Classify, compute segments (as the administrator, then as the spy)."""
        crm = self.admin
        use(crm)
        out = {}
        if installed("analysis"):
            from crmkit_analysis.classify import run
            from crmkit_analysis.demo import RUNS
            for as_of in RUNS:
                run(crm, "partner", as_of)
                run(crm, "product", as_of)
        from crmkit.core.segments import compute
        for seg in crm.find("core.segment", method="rule"):
            compute(crm, seg.id)
        for seg in self.spy.find("core.segment", method="rule"):
            out[f"spy computes segment {seg.id}"] = compute(self.spy, seg.id)
        out["cli segment compute"] = self.cli("segment", "compute")
        return out

    # -- the snapshot --------------------------------------------------------------
    def cli(self, *args):
        result = run_cli(self.admin, self.url, *args, user=SPY)
        text = f"exit {result.exit_code}\n{result.output}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            text += f"\n{type(result.exception).__name__}: {result.exception}"
        return _unstamp(text)

    def keys_of(self, entity, limit=CARDS):
        spy = self.spy
        if entity == "subject":
            return [f"deals.deal:{d.id}" for d in spy.find("deals.deal", limit=limit)] if installed("deals") else []
        if entity not in spy.registry.entities or not spy.can("read", entity):
            return []
        return [r.get_id() for r in spy.find(entity, limit=limit)]

    def snapshot(self, commands):
        spy = self.spy
        use(self.admin)
        shot = {}
        for report_id in REPORTS:
            try:
                doc = json.loads(spy.report(report_id).render("json"))["sections"]
            except crmkit.CrmError as exc:
                doc = f"refused: {type(exc).__name__}"
            shot[f"report {report_id}"] = _unstamp(json.dumps(doc, ensure_ascii=False, sort_keys=True))
        for entity in ENTITIES:
            if not spy.can("read", entity):
                continue
            shot[f"count {entity}"] = spy.count(entity, include_marked=True)
            shot[f"list {entity}"] = self.cli("list", entity, "--all", "--limit", "100000", "--format", "json")
            for n, key in enumerate(self.keys_of(entity)):
                shot[f"show {entity} #{n}"] = self.cli("show", entity, key)
                shot[f"history {entity} #{n}"] = self.cli("history", entity, key)
            if entity in REWRITTEN:
                for name in [k for k in shot if k.split(" ")[1:2] == [entity] and isinstance(shot[k], str)]:
                    shot[name] = REWRITTEN_ID.sub(lambda m: m.group(1) + "#", shot[name])
        for path in commands:
            target = READ_COMMANDS[path]
            if target == "*":
                continue
            if target is None:
                shot[" ".join(path)] = self.cli(*path, *(["--format", "json"] if self._takes_format(path) else []))
                continue
            extra = ["--partner", self.keys_of("core.partner", 1)[0]] if path[-2:] == ("template", "preview") else []
            for n, key in enumerate(self.keys_of(target, limit=CARDS if target != "core.segment" else 100)):
                shot[f"{' '.join(path)} #{n}"] = self.cli(*path, key, *extra)
        return shot

    def _takes_format(self, path):
        cmd = _cli_root()
        for name in path:
            cmd = cmd.commands[name]
        return any(getattr(p, "name", "") == "fmt" for p in cmd.params)


def _report(crm, report_id):
    try:
        return json.loads(crm.report(report_id).render("json"))["sections"]
    except crmkit.CrmError as exc:
        return f"refused: {type(exc).__name__}"


@pytest.fixture(scope="module")
def differential(adv_url):
    d = Differential(adv_url).build()
    yield d
    d.admin.close()


def test_every_read_command_is_covered():
    """A read command the CLI gains must be added to READ_COMMANDS, so the
    differential below runs it."""
    missing = [p for p in _read_commands(_cli_root()) if p not in READ_COMMANDS]
    assert not missing, f"read commands the differential does not run: {missing}"


def test_nothing_the_spy_sees_depends_on_what_they_may_not_see(differential):
    d = differential
    commands = [p for p in _read_commands(_cli_root()) if p in READ_COMMANDS]
    before_compute = d.recompute()
    before = d.snapshot(commands)
    admin_before = {r: _report(d.admin, r) for r in REPORTS}
    d.add_hidden()
    after_compute = d.recompute()
    after = d.snapshot(commands)
    # the hidden world is really there: the administrator's figures move
    moved = [r for r in REPORTS if _report(d.admin, r) != admin_before[r]]
    assert len(moved) >= len(REPORTS) // 3, f"only {moved} changed for the administrator"
    assert set(before) == set(after), sorted(set(before) ^ set(after))
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    changed.update({k: (before_compute[k], after_compute.get(k)) for k in before_compute
                    if before_compute[k] != after_compute.get(k)})
    assert not changed, f"{sorted(changed)}\nwhat the spy sees changed when hidden data was added:\n" + "\n".join(
        f"- {k}:\n    before: {str(b)[:400]}\n    after:  {str(a)[:400]}" for k, (b, a) in sorted(changed.items()))
    assert len(before) > len(ENTITIES) + len(REPORTS)
