"""``crmkit deals ...``: create, list, show, move, complete, win, lose,
reopen, probability, demand, participants, kinds and stages."""
from __future__ import annotations

import functools

import click

from crmkit import Choice, translate
from crmkit.cli import emit, format_option, parse_assignments, pass_crm, record_row, refuse, say

from crmkit import lazy_module

from . import kinds

api = lazy_module(__package__ + ".api")

m = lazy_module(__package__ + ".models")  # peewee only when a command runs

REFERENCES = {"client": "core.partner", "responsible": "core.user", "kind": "deals.kind",
              "agreement": "deals.agreement", "loss_reason": "deals.loss_reason", "stage": "deals.stage"}


def _resolve_refs(crm, data):
    """References given by code, login or name become ids."""
    for field, entity in REFERENCES.items():
        if isinstance(data.get(field), str) and data[field].strip():
            data[field] = api.resolve(crm, entity, data[field].strip(), field)
    return data


@click.group()
def deals():
    """Deals with clients: stages, processes, win and loss."""


@deals.command("create")
@click.argument("values", nargs=-1)
@click.option("--at", default=None, help="When the deal started (ISO moment; administrators, for history).")
@pass_crm
def create(crm, values, at):
    """Create a deal: crmkit deals create name="Продажа телевизоров" client=00-00000010
    kind="Типовая продажа" responsible=fedorov potential=884.70 currency=USD"""
    record = api.create(crm, _resolve_refs(crm, parse_assignments(values)), at=at)
    if record.stage_id:
        say(crm, "created deal {code} {name}, stage {stage}", code=record.code, name=record.name,
            stage=record.stage.name)
    else:
        say(crm, "created deal {code} {name}", code=record.code, name=record.name)


@deals.command("list")
@click.option("--status", type=click.Choice(kinds.STATUSES), default=None)
@click.option("--kind", default=None, help="Deal kind (name or id).")
@click.option("--responsible", default=None, help="Login of the responsible.")
@click.option("--client", default=None, help="Client code, id or name.")
@click.option("--stage", default=None, help="Current stage (name or id).")
@click.option("--order-by", default=None, help="Field to sort by; prefix - for descending.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--all", "include_marked", is_flag=True, help="Include deals marked for deletion.")
@format_option
@pass_crm
def list_deals(crm, status, kind, responsible, client, stage, order_by, limit, include_marked, fmt):
    """Deals the acting user may see."""
    filters = _resolve_refs(crm, {k: v for k, v in {"kind": kind, "responsible": responsible, "client": client,
                                                     "stage": stage}.items() if v})
    if status:
        filters["status"] = status
    records = crm.find("deals.deal", order_by=order_by, limit=limit, include_marked=include_marked, **filters)
    emit([record_row(crm, "deals.deal", r) for r in records], fmt, lang=crm.lang)


@deals.command("show")
@click.argument("key")
@format_option
@pass_crm
def show(crm, key, fmt):
    """A deal with its route map, stage history, win probability,
    participants and primary demand."""
    deal = api.get_deal(crm, key)
    fields = record_row(crm, "deals.deal", deal, [f for f in m.Deal._meta.fields])
    route = [{**r, "state": Choice(r["state"])} for r in api.route_map(crm, deal.id)]
    history = [record_row(crm, "deals.stage_history", h, ["stage", "status", "entered_at", "left_at", "days",
                                                          "user"]) for h in api.stage_history(crm, deal.id)]
    probability = api.probability_breakdown(crm, deal.id)
    participants = [record_row(crm, "deals.participant", p, ["partner", "contact", "role"])
                    for p in crm.find("deals.participant", deal=deal.id)]
    demand = [record_row(crm, "deals.demand", d, ["product", "quantity", "price", "amount"])
              for d in crm.find("deals.demand", deal=deal.id)]
    if fmt == "json":
        import json
        from crmkit import plain
        doc = {"deal": fields, "route_map": route, "stage_history": history, "probability": probability,
               "participants": participants, "demand": demand}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2,
                              default=lambda v: plain(v) if not isinstance(v, float) else v))
        return
    from crmkit import format_value
    click.echo(crm.describe(("deals.deal", deal.id)))
    for name, value in fields.items():
        click.echo(f"{translate(name, crm.lang):>26}: {format_value(value, crm.lang)}")
    for title, rows in (("Route map", route), ("Stage history", history), ("Participants", participants),
                        ("Primary demand", demand)):
        if rows or title in ("Stage history",):
            click.echo(f"\n{translate(title, crm.lang)}")
            emit(rows, "table", lang=crm.lang)
    t = functools.partial(translate, lang=crm.lang)
    if deal.status != "in_work":   # the outcome is known: a won deal has no "0 %" chance of winning
        click.echo(f"\n{t('Win probability')}: "
                   + t("none, the deal is closed ({status})").format(
                       status=Choice(deal.status, "deals.deal").label(crm.lang)))
        return
    click.echo(f"\n{t('Win probability')}: {t('manual')} {probability['manual']} %, "
               f"{t('statistics')} {probability['probability'] if probability['probability'] is not None else '-'} %"
               f" ({t('method')}: {Choice(probability['method'], 'deals.deal').label(crm.lang)})")
    if probability["factors"]:
        emit([{"factor": Choice(r["factor"]), "name": r["name"], "won": r["won"], "closed": r["closed"],
               "raw_rate": r["raw_rate"], "rate": r["rate"]} for r in probability["factors"]], "table",
             lang=crm.lang, context="deals.probability")


def _say(crm, deal, msgid):
    """``msgid``: "deal {code} moved: stage {stage}, status {status}" and its like."""
    deal = api.get_deal(crm, deal.id)
    say(crm, msgid, code=deal.code, stage=deal.stage.name if deal.stage_id else "-",
        status=Choice(deal.status, "deals.deal.status"))


@deals.command("move")
@click.argument("key")
@click.argument("stage")
@click.option("--at", default=None, help="When it happened (ISO moment; administrators, for history).")
@pass_crm
def move(crm, key, stage, at):
    """Move a deal of a manual kind to STAGE (name, id, next or previous)."""
    _say(crm, crm.act("deals.move", key, stage=stage, at=at), "deal {code} moved: stage {stage}, status {status}")


@deals.command("complete")
@click.argument("key")
@click.option("--result", default="", help="What was done.")
@click.option("--at", default=None, help="When it happened (ISO moment; administrators, for history).")
@pass_crm
def complete(crm, key, result, at):
    """Complete the current stage's tasks of a process-driven deal; the process moves it on."""
    _say(crm, crm.act("deals.complete", key, result=result, at=at), "deal {code} stage completed: stage {stage}, status {status}")


@deals.command("win")
@click.argument("key")
@click.option("--at", default=None, help="When it happened (ISO moment; administrators, for history).")
@pass_crm
def win(crm, key, at):
    """Mark a deal won."""
    _say(crm, crm.act("deals.win", key, at=at), "deal {code} won: stage {stage}, status {status}")


@deals.command("lose")
@click.argument("key")
@click.option("--reason", required=True, help="Loss reason (name or id), e.g. \"Проигрыш конкуренту\".")
@click.option("--at", default=None, help="When it happened (ISO moment; administrators, for history).")
@pass_crm
def lose(crm, key, reason, at):
    """Mark a deal lost, with its reason."""
    _say(crm, crm.act("deals.lose", key, reason=reason, at=at), "deal {code} lost: stage {stage}, status {status}")


@deals.command("reopen")
@click.argument("key")
@pass_crm
def reopen(crm, key):
    """Put a won or lost deal back in work."""
    _say(crm, crm.act("deals.reopen", key), "deal {code} reopened: stage {stage}, status {status}")


@deals.command("probability")
@click.argument("key")
@click.option("--refresh", is_flag=True, help="Store the statistical probability on the deal.")
@format_option
@pass_crm
def probability(crm, key, refresh, fmt):
    """The win probability of a deal from closed-deal statistics, factor by factor."""
    if refresh:
        crm.act("deals.refresh_probability", key)
    result = api.probability_breakdown(crm, key)
    rows = [{"factor": Choice(r["factor"]), "name": r["name"], "won": r["won"], "closed": r["closed"],
             "raw_rate": r["raw_rate"], "rate": r["rate"]} for r in result["factors"]]
    rows.append({"factor": Choice("probability"), "name": Choice(result["method"], "deals.deal"),
                 "won": result["overall_won"],
                 "closed": result["overall_closed"], "raw_rate": None, "rate": result["probability"]})
    emit(rows, fmt, lang=crm.lang, context="deals.probability")


@deals.group("probabilities")
def probabilities():
    """Win probabilities of many deals at once."""


@probabilities.command("recompute")
@click.option("--keep-manual", is_flag=True, help="Leave deals whose probability is set by hand.")
@format_option
@pass_crm
def recompute_probabilities(crm, keep_manual, fmt):
    """Store the probability from closed-deal statistics on every open deal you see."""
    result = crm.act("deals.recompute_probabilities", keep_manual=keep_manual)
    if fmt == "json":
        import json
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    say(crm, "{changed} of {open_deals} open deals changed (statistics: {won} won of {closed} closed)",
        **{k: result[k] for k in ("changed", "open_deals", "won", "closed")})
    if result.get("note"):
        say(crm, result["note"])


@deals.command("demand")
@click.argument("key")
@click.argument("product")
@click.argument("quantity")
@click.argument("price")
@click.option("--fill-potential", is_flag=True, help="Set the deal's potential to the demand total.")
@pass_crm
def demand(crm, key, product, quantity, price, fill_potential):
    """Add a primary demand line: crmkit deals demand 00-00000003 TV-001 3 294.90"""
    deal = api.get_deal(crm, key)
    line = crm.create("deals.demand", {"deal": deal.id, "product": api.resolve(crm, "core.product", product,
                                                                                 "product"),
                                       "quantity": quantity, "price": price})
    say(crm, "demand line {id}: {amount}", id=line.id, amount=line.amount)
    if fill_potential:
        deal = crm.act("deals.fill_potential", deal.id)
        say(crm, "potential {amount} {currency}", amount=deal.potential, currency=deal.currency)


@deals.command("participant")
@click.argument("key")
@click.option("--partner", default=None, help="Partner code, id or name.")
@click.option("--contact", default=None, help="Contact person (id or name).")
@click.option("--role", default="", help="Role in the deal.")
@pass_crm
def participant(crm, key, partner, contact, role):
    """Add a participant to the deal environment."""
    deal = api.get_deal(crm, key)
    data = {"deal": deal.id, "role": role,
            "partner": api.resolve(crm, "core.partner", partner, "partner") if partner else None,
            "contact": api.resolve(crm, "core.contact", contact, "contact") if contact else None}
    record = crm.create("deals.participant", data)
    say(crm, "participant {id} added", id=record.id)


@deals.group("kind")
def kind():
    """Deal kinds and their stages."""


@kind.command("list")
@format_option
@pass_crm
def kind_list(crm, fmt):
    """Deal kinds with their process and stages."""
    rows = []
    for k in crm.find("deals.kind"):
        route = " → ".join(ks.stage.name for ks in m.KindStage.select().where(m.KindStage.kind == k.id)
                           .order_by(m.KindStage.sequence))
        rows.append({"id": k.id, "name": k.name, "process": Choice(k.process, "deals.kind.process"), "stages": route})
    emit(rows, fmt, lang=crm.lang, context="deals.kind")


@kind.command("add")
@click.argument("name")
@click.option("--process", type=click.Choice(kinds.PROCESSES), default="manual", show_default=True,
              help="process: a business process moves the stages; manual: moved by hand; none: no stages.")
@click.option("--stage", "stages", multiple=True, help="A stage, in order (created when new); repeatable.")
@click.option("--comment", default="")
@pass_crm
def kind_add(crm, name, process, stages, comment):
    """Add a deal kind with its stages in order."""
    with crm.transaction():
        record = crm.create("deals.kind", {"name": name, "process": process, "comment": comment})
        for seq, stage in enumerate(stages, start=1):
            crm.create("deals.kind_stage", {"kind": record.id, "stage": _stage_id(crm, stage), "sequence": seq})
    say(crm, "kind {id} {name}: {n} stages", id=record.id, name=name, n=len(stages))


def _stage_id(crm, name):
    found = crm.find("deals.stage", name=name)
    return found[0].id if found else crm.create("deals.stage", {"name": name}).id


@kind.command("stages")
@click.argument("kind_key")
@format_option
@pass_crm
def kind_stages(crm, kind_key, fmt):
    """The route of a kind: stages, route points and the tasks a process sets."""
    kind_id = api.resolve(crm, "deals.kind", kind_key, "kind")
    emit([record_row(crm, "deals.kind_stage", ks, ["id", "sequence", "stage", "route_point", "tasks", "task_days"])
          for ks in crm.find("deals.kind_stage", kind=kind_id, order_by="sequence")], fmt, lang=crm.lang)


@kind.command("add-stage")
@click.argument("kind_key")
@click.argument("stage")
@click.option("--sequence", type=int, default=None, help="Position (default: last).")
@click.option("--route-point", default="", help="Route point name, e.g. \"Отразить первичный контакт\".")
@click.option("--task", "tasks", multiple=True,
              help="Task title template for process kinds, e.g. \"Позвонить по сделке {{ deal }}\"; repeatable.")
@click.option("--days", type=int, default=1, show_default=True, help="Days to do the task.")
@pass_crm
def kind_add_stage(crm, kind_key, stage, sequence, route_point, tasks, days):
    """Add a stage to a kind's route."""
    kind_id = api.resolve(crm, "deals.kind", kind_key, "kind")
    with crm.transaction():
        record = crm.create("deals.kind_stage", {"kind": kind_id, "stage": _stage_id(crm, stage),
                                                 "sequence": sequence, "route_point": route_point,
                                                 "tasks": "\n".join(tasks), "task_days": days})
    say(crm, "stage {stage} is number {sequence}", stage=stage, sequence=record.sequence)


@kind.command("remove-stage")
@click.argument("kind_key")
@click.argument("stage")
@pass_crm
def kind_remove_stage(crm, kind_key, stage):
    """Take a stage out of a kind's route (not while deals stand at it)."""
    kind_id = api.resolve(crm, "deals.kind", kind_key, "kind")
    stage_id = api.resolve(crm, "deals.stage", stage, "stage")
    crm.require("delete", "deals.kind_stage")
    if m.Deal.select().where((m.Deal.kind == kind_id) & (m.Deal.stage == stage_id)).exists():
        refuse("deals of this kind stand at this stage: move them first")
    n = m.KindStage.delete().where((m.KindStage.kind == kind_id) & (m.KindStage.stage == stage_id)).execute()
    say(crm, "removed {n}", context="deals.kind_stage", n=n)


@deals.group("stage")
def stage():
    """The catalogue of sales process stages."""


@stage.command("list")
@format_option
@pass_crm
def stage_list(crm, fmt):
    emit([record_row(crm, "deals.stage", s) for s in crm.find("deals.stage")], fmt, lang=crm.lang)


@stage.command("add")
@click.argument("name")
@click.option("--comment", default="")
@pass_crm
def stage_add(crm, name, comment):
    record = crm.create("deals.stage", {"name": name, "comment": comment})
    say(crm, "stage {id} {name}", id=record.id, name=name)
