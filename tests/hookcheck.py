"""A test plugin implementing every crmkit hook and recording each call."""
import types

import click
import peewee as pw

from crmkit import (ActionSpec, BaseModel, ChannelSpec, DuplicateRule, EntitySpec, PluginMeta, ReportSpec, RoleSpec, SegmentField,
                    TemplateParameter, hookimpl)

PLUGIN = PluginMeta(name="hookcheck", requires=("core",))
CALLS = []
SENT = []


class Thing(BaseModel):
    name = pw.CharField(max_length=50)
    partner = pw.IntegerField(null=True)

    class Meta:
        table_name = "hookcheck_thing"


def _record(name, **kw):
    CALLS.append((name, kw))


@hookimpl
def crmkit_add_hookspecs(pm):
    _record("add_hookspecs")
    spec_module = types.ModuleType("hookcheck_specs")
    import pluggy
    marker = pluggy.HookspecMarker("crmkit")

    @marker
    def hookcheck_custom_event(value):
        """A hook this plugin offers to others."""

    spec_module.hookcheck_custom_event = hookcheck_custom_event
    pm.add_hookspecs(spec_module)


@hookimpl
def crmkit_register_entities(register):
    _record("register_entities")
    register(EntitySpec("hookcheck.thing", Thing, label="Thing", subject=False))


@hookimpl
def crmkit_register_subject_types(register):
    _record("register_subject_types")
    register("hookcheck.thing")


@hookimpl
def crmkit_register_reports(register):
    _record("register_reports")
    register(ReportSpec("hookcheck.things", "Things", lambda crm: crm.frame(crm.query("hookcheck.thing", Thing.name))))


@hookimpl
def crmkit_register_channels(register):
    _record("register_channels")
    register(ChannelSpec("pigeon", lambda crm, message: SENT.append(message.recipient)))


def _rename(crm, record, name, fail=False):
    _record("action_run", id=record.id, new_name=name, actor=crm.actor.login)
    thing = crm.update("hookcheck.thing", record.id, {"name": name})
    if fail:
        raise RuntimeError("the action failed after writing")
    return thing


@hookimpl
def crmkit_register_actions(register):
    _record("register_actions")
    register(ActionSpec("hookcheck.rename", "hookcheck.thing", _rename, title="Rename",
                        params={"name": {"type": "string", "required": True, "empty": False, "maxlength": 50},
                                "fail": {"type": "boolean", "coerce": "bool", "default": False}}))


@hookimpl
def crmkit_register_template_parameters(register):
    _record("register_template_parameters")
    register(TemplateParameter("ThingName", lambda crm, ctx: ctx.get("thing", "?")))


@hookimpl
def crmkit_register_roles(register):
    _record("register_roles")
    register(RoleSpec("thing_keeper", {"hookcheck.*": "rcud"}))


@hookimpl
def crmkit_register_segment_fields(register):
    _record("register_segment_fields")
    register(SegmentField("partner", "name_length", lambda model: pw.fn.LENGTH(model.name), type="integer"))


@hookimpl
def crmkit_register_commands(cli):
    _record("register_commands")

    @cli.group()
    def hookcheck():
        """Hook check."""

    @hookcheck.command()
    def ping():
        click.echo("pong")


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity == "hookcheck.thing":
        _record("validate_record", data=dict(data))
        if data.get("name") == "forbidden":
            return {"name": "is forbidden"}


@hookimpl
def crmkit_validate_frame(crm, entity, frame):
    if entity == "hookcheck.thing":
        _record("validate_frame", rows=len(frame))
        return {i: {"name": ["is forbidden"]} for i, n in enumerate(frame["name"]) if n.lower() == "forbidden"}


@hookimpl
def crmkit_prepare_import(crm, entity, frame, options):
    if entity == "hookcheck.thing":
        _record("prepare_import", options=dict(options))
        frame = frame.copy()
        frame["name"] = frame["name"].str.upper() if options.get("upper") else frame["name"]
        return frame


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "hookcheck.thing":
        _record("entity_saved", created=created, changes=sorted(changes))
        if record.name == "EXPLODE":
            raise RuntimeError("handler failed")


@hookimpl
def crmkit_entity_deleted(crm, entity, record):
    if entity == "hookcheck.thing":
        _record("entity_deleted", id=record.id)


@hookimpl
def crmkit_entity_imported(crm, entity, count, ids):
    if entity == "hookcheck.thing":
        _record("entity_imported", count=count)


@hookimpl
def crmkit_import_written(crm, entity, frame, options):
    if entity == "hookcheck.thing":
        _record("import_written", ids=[int(i) for i in frame["id"]], names=list(frame["name"]))


@hookimpl
def crmkit_load_demo(crm):
    _record("load_demo")
    return ["hookcheck.things"]


@hookimpl
def crmkit_describe_subject(crm, entity, record):
    if entity == "hookcheck.thing":
        return f"Thing «{record.name}»"


@hookimpl
def crmkit_load_user(login):
    if login == "hookcheck-bot":
        from crmkit import Actor
        _record("load_user")
        return Actor(login="hookcheck-bot", roles=frozenset({"thing_keeper"}))


@hookimpl
def crmkit_outbox_skip_reason(crm, message):
    _record("outbox_skip_reason")
    if message.recipient == "skip-me":
        return "asked to skip"


@hookimpl
def crmkit_outbox_delivered(crm, message):
    _record("outbox_delivered")


@hookimpl
def crmkit_outbox_failed(crm, message, error, permanent):
    _record("outbox_failed")


@hookimpl
def crmkit_erase_personal_data(crm, partner_id, contact_ids):
    _record("erase_personal_data", partner_id=partner_id)


@hookimpl
def crmkit_collect_personal_data(crm, partner_id, contact_ids):
    _record("collect_personal_data", partner_id=partner_id)
    return {"hookcheck": [{"partner": partner_id}]}


def _thing_keys(crm, ids):
    q = Thing.select(Thing.id, Thing.name)
    if ids is not None:
        q = q.where(Thing.id.in_(ids))
    return [(i, name.lower()) for i, name in q.tuples()]


@hookimpl
def crmkit_register_duplicate_rules(register):
    _record("register_duplicate_rules")
    register(DuplicateRule("hookcheck.thing", "same_name", _thing_keys,
                           lambda crm, data: [(str(data.get("name", "")).lower(), "")], label="same name"))


@hookimpl
def crmkit_merge_records(crm, entity, survivor, merged):
    _record("merge_records", entity=entity, survivor=survivor.id, merged=merged.id)


@hookimpl
def crmkit_records_merged(crm, entity, survivor, merged):
    _record("records_merged", entity=entity, survivor=survivor.id, merged=merged.id)


@hookimpl
def crmkit_currency_rates(crm, source, day, content):
    _record("currency_rates", source=source, day=day, content=content)
    return [{"currency": "USD", "rate": "89.6876"}] if source == "hookcheck" else None


@hookimpl
def crmkit_calendar_entries(crm):
    import datetime as dt
    from crmkit.core.calendar import entry
    _record("calendar_entries", login=crm.actor.login)
    return [entry("hookcheck.thing", 1, "From hookcheck", dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc))]


BACKUP_FILE = []   # the path of the file hookcheck asks backups to carry (set by the test)


@hookimpl
def crmkit_backup_files(crm, execute):
    things = execute('SELECT COUNT(*) FROM "hookcheck_thing"')[0][0]
    _record("backup_files", things=things)
    return [("hookcheck/note.txt", BACKUP_FILE[0])] if BACKUP_FILE else None


@hookimpl
def crmkit_restore_files(files):
    mine = {n: p for n, p in files.items() if n.startswith("hookcheck/")}
    _record("restore_files", files={n: open(p, "rb").read() for n, p in mine.items()})
    return list(mine)


@hookimpl
def crmkit_database_restored(execute):
    _record("database_restored", things=execute('SELECT COUNT(*) FROM "hookcheck_thing"')[0][0])
