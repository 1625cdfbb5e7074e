"""``crmkit act``: run any declared action by name, as the API's
``POST /api/v1/<entity>/<id>/actions/<name>`` and the web's buttons do.
Every action a plugin declares is reachable from a terminal this way, with
or without a command of its own; ``crmkit act`` alone lists the actions
the acting user may run."""
from __future__ import annotations

import json

import click

from .cli import _record_named, emit, format_option, pass_crm, refuse, say, show_record


@click.command("act", short_help="Run an action by name, as the API and the web pages do.")
@click.argument("action", required=False)
@click.argument("args", nargs=-1)
@format_option
@pass_crm
def act(crm, action, args, fmt):
    """Run ACTION on a record given by id, code or name, with parameters as
    name=value (a list parameter once per item: ids=1 ids=2):
    crmkit act deals.win D-12; crmkit act core.preferences lang=ru.
    Without ACTION: the actions you may run."""
    if action is None:
        _list(crm, fmt)
        return
    spec = crm.registry.action(action)
    keys = [a for a in args if "=" not in a]
    if len(keys) > 1:
        refuse("one record at most, not {keys}", keys=", ".join(map(repr, keys)))
    params = {}
    for pair in (a for a in args if "=" in a):
        name, value = (part.strip() if i == 0 else part for i, part in enumerate(pair.split("=", 1)))
        if spec.schema.get(name, {}).get("type") == "list":
            params.setdefault(name, []).append(value)
        elif name in params:
            refuse("{name} is given twice", name=repr(name))
        else:
            params[name] = value
    key = keys[0] if keys else None
    if key is not None and spec.on_record and crm.may_act(spec):
        key = _record_named(crm, spec.entity, key)      # an id, a code, or a name only one record has
    _show(crm, crm.act(action, key, **params), fmt)


def _list(crm, fmt):
    from .kernel.i18n import translate
    rows = [{"action": s.name, "entity": s.entity or "", "record": s.on_record,
             "parameters": ", ".join(s.schema) if fmt == "json" else " ".join(f"{p}=" for p in s.schema),
             "title": translate(s.title or s.name, crm.lang, context=s.name)}
            for s in sorted(crm.registry.actions.values(), key=lambda s: s.name) if crm.may_act(s)]
    emit(rows, fmt, lang=crm.lang, context="kernel.action_list")


def _show(crm, result, fmt):
    """What an action returned: a record, a dict of plain values, rows, or nothing."""
    import peewee as pw
    if isinstance(result, pw.Model):
        spec = crm.registry.spec_of_model(type(result))
        if spec is not None:
            show_record(crm, spec.name, result, fmt)
            return
        result = result.__data__
    if result is None:
        say(crm, "done", context="kernel.act")
    elif isinstance(result, dict):
        flat = {k: (json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list)) and fmt != "json"
                    else v) for k, v in result.items()}
        emit([flat], fmt, lang=crm.lang)
    elif isinstance(result, (list, tuple)) and all(isinstance(r, dict) for r in result):
        emit(result, fmt, lang=crm.lang)
    else:
        emit([{"result": result}], fmt, lang=crm.lang)
