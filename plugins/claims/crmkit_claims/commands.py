"""``crmkit claims ...``: register, list, show, plan add/complete, resolve,
overdue, remind. A thin shell over ``crmkit_claims.api``."""
from __future__ import annotations

from decimal import Decimal

import click

from crmkit import Choice, translate
from crmkit.cli import emit, format_option, parse_assignments, pass_crm, record_row, say

from crmkit import lazy_module

from . import kinds

m = lazy_module(__package__ + ".models")  # peewee only when a command runs

# how CLI text finds referenced records: field -> (entity, lookup filter for names)
REFERENCES = {"client": ("core.partner", None), "contact": ("core.contact", "name"),
              "cause": ("claims.cause", None), "responsible": ("core.user", None),
              "guilty_employee": ("core.user", None), "guilty_department": ("core.department", "name")}


def _resolve_references(crm, data):
    """``client=00-00000020 responsible=volkov cause=Испорченный товар`` -> ids."""
    from crmkit import Message, ValidationError
    for field, (entity, by_name) in REFERENCES.items():
        value = data.get(field)
        if not isinstance(value, str) or not value or value.isdigit():
            continue
        if by_name:
            found = crm.find(entity, **{by_name: value})
            if len(found) != 1:
                raise ValidationError({field: Message("{value}: {n} {entity} records have this name",
                                                      value=repr(value), n=len(found), entity=entity)},
                                      "claims.claim")
            data[field] = found[0].id
        else:
            try:
                data[field] = crm.get(entity, value).id
            except Exception:
                raise ValidationError({field: Message("{value} not found", value=repr(value))},
                                      "claims.claim") from None
    return data


def _row(crm, claim, fmt="table", fields=None):
    """A claim for output: JSON keeps status codes, tables show the
    status as the operator's language says it."""
    row = record_row(crm, "claims.claim", claim, fields)
    if fmt != "json" and crm.lang != "en":
        row["status"] = translate(claim.status, crm.lang)
    return row


@click.group()
def claims():
    """Client claims: register, plan, resolve, follow up."""


@claims.command("register")
@click.argument("values", nargs=-1)
@pass_crm
def register_cmd(crm, values):
    """Register a claim: crmkit claims register name=... client=00-00000020
    cause=Испорченный товар responsible=volkov planned_end=2015-05-14 basis=deals.deal:3"""
    from .api import register
    claim = register(crm, _resolve_references(crm, parse_assignments(values)))
    say(crm, "registered claim {code}", code=claim.code)


@claims.command("list")
@click.option("--status", type=click.Choice(kinds.STATUSES), default=None)
@click.option("--client", default=None, help="Partner code or id.")
@click.option("--open", "only_open", is_flag=True, help="Only claims not closed.")
@click.option("--all", "include_marked", is_flag=True, help="Include claims marked for deletion.")
@format_option
@pass_crm
def list_cmd(crm, status, client, only_open, include_marked, fmt):
    """The visible claims, by name and number as in the claim list."""
    filters = {}
    if status:
        filters["status"] = status
    if client:
        filters["client"] = crm.get("core.partner", client).id
    if only_open:
        filters["status__in"] = [s for s in kinds.STATUSES if s not in kinds.FINAL_STATUSES]
    records = crm.find("claims.claim", include_marked=include_marked, **filters)
    emit([_row(crm, r, fmt) for r in records], fmt, lang=crm.lang, context="claims.claim")


@claims.command("show")
@click.argument("key")
@format_option
@pass_crm
def show_cmd(crm, key, fmt):
    """A claim with its work plan, participants and status history."""
    from .api import get_claim, history, plan
    claim = get_claim(crm, key)
    fields = [f for f in m.Claim._meta.sorted_field_names if f not in ("subject_type", "subject_id")]
    main = _row(crm, claim, fmt, fields)
    main["compensation"] = Decimal(claim.compensation).quantize(Decimal("0.01"))   # SQLite keeps 1500
    main["basis"] = crm.describe((claim.subject_type, claim.subject_id)) if claim.subject_type else ""
    stages = [record_row(crm, "claims.stage", s, ["position", "title", "responsible", "due", "done",
                                                   "done_at", "result", "task"]) for s in plan(crm, claim.id)]
    changes = [record_row(crm, "claims.status_change", c, ["at", "login", "old_status", "new_status"])
               for c in history(crm, claim.id)]
    people = [record_row(crm, "claims.participant", p, ["user", "contact", "role", "comment"])
              for p in crm.find("claims.participant", claim=claim.id)]
    if fmt == "json":
        import json
        click.echo(json.dumps({"claim": main, "plan": stages, "participants": people, "history": changes},
                              ensure_ascii=False, indent=2, default=_json_value))
        return
    emit([{"field": translate(k, crm.lang, context="claims.claim"), "value": v} for k, v in main.items()],
         lang=crm.lang)
    for title, rows, entity in (("Work plan", stages, "claims.stage"), ("Participants", people, "claims.participant"),
                                ("Status history", changes, "claims.status_change")):
        click.echo("")
        click.echo(translate(title, crm.lang))
        emit(rows, lang=crm.lang, context=entity)


def _json_value(value):
    import datetime as dt
    import decimal
    if isinstance(value, (dt.date, dt.datetime)):
        from crmkit import local_moment
        return local_moment(value).isoformat()     # a moment in the user's zone, with its offset
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


@claims.group("plan")
def plan_group():
    """The claim's work plan (stages of handling)."""


@plan_group.command("add")
@click.argument("key")
@click.argument("title")
@click.option("--responsible", default=None, help="Login; default the claim's responsible.")
@click.option("--due", default=None, help="Due moment (ISO or dd.mm.yyyy).")
@click.option("--position", type=int, default=None, help="Default: after the last stage.")
@click.option("--task", "with_task", is_flag=True, help="Also give the responsible a task about the claim.")
@pass_crm
def plan_add(crm, key, title, responsible, due, position, with_task):
    """Add a stage to a claim's plan."""
    stage = crm.act("claims.add_stage", key, title=title, responsible=responsible, due=due, position=position,
                    with_task=with_task)
    if stage.task_id:
        say(crm, "added stage {position} with task {task}", position=stage.position, task=stage.task.number)
    else:
        say(crm, "added stage {position}", position=stage.position)


@plan_group.command("complete")
@click.argument("key")
@click.argument("position", type=int)
@click.option("--result", default="", help="What the stage came to.")
@click.option("--reopen", is_flag=True, help="Mark the stage not done again.")
@pass_crm
def plan_complete(crm, key, position, result, reopen):
    """Complete (or reopen) a plan stage by its position."""
    stage = crm.act("claims.complete_stage", key, position=position, result=result, done=not reopen)
    say(crm, "stage {position}: done" if stage.done else "stage {position}: open", position=stage.position)


@plan_group.command("task")
@click.argument("key")
@click.argument("position", type=int)
@pass_crm
def plan_task(crm, key, position):
    """Give a stage's responsible a task about the claim."""
    stage = crm.act("claims.stage_task", key, position=position)
    say(crm, "task {task} for stage {position}", task=stage.task.number, position=stage.position)


@claims.command("resolve")
@click.argument("key")
@click.argument("status", type=click.Choice(kinds.STATUSES))
@click.option("--decision", default=None)
@click.option("--compensation", default=None, help="Amount, e.g. 1500.00")
@click.option("--currency", default=None, help="ISO code, e.g. RUB")
@click.option("--comment", "result_comment", default=None, help="Comment on the review's results.")
@click.option("--end", "actual_end", default=None, help="Actual end; default now for a final status.")
@pass_crm
def resolve_cmd(crm, key, status, decision, compensation, currency, result_comment, actual_end):
    """Set a claim's status with the review's results."""
    claim = crm.act("claims.resolve", key, status=status, decision=decision, compensation=compensation,
                    currency=currency, result_comment=result_comment, actual_end=actual_end)
    say(crm, "claim {code}: {status}", code=claim.code, status=Choice(claim.status, "claims.claim.status"))


@claims.command("overdue")
@click.option("--at", default=None, help="Moment to check (ISO); default now.")
@format_option
@pass_crm
def overdue_cmd(crm, at, fmt):
    """Claims not closed whose planned end has passed."""
    from .api import overdue
    emit([_row(crm, r, fmt) for r in overdue(crm, _moment(crm, at))], fmt, lang=crm.lang)


@claims.command("remind")
@click.option("--at", default=None, help="Moment to check (ISO); default now.")
@format_option
@pass_crm
def remind_cmd(crm, at, fmt):
    """Remind the responsible of every overdue claim (a core reminder)."""
    rows = crm.act("claims.remind", at=_moment(crm, at))
    if fmt != "json":       # the outcome in the user's words
        from crmkit import Message
        rows = [{k: Message(v) if k == "result" and isinstance(v, str) and v else v for k, v in r.items()}
                for r in rows]
    emit(rows, fmt, lang=crm.lang)


def _moment(crm, text):
    """A moment typed by the user: without an offset, a local time of their zone."""
    if not text:
        return None
    from crmkit import Message, ValidationError
    import datetime as dt
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError({"at": Message("{text} is not an ISO date and time", text=repr(text))}) from None
    return value if value.tzinfo else value.replace(tzinfo=crm.zone)
