"""The files plugin's contract with the kernel."""
from crmkit import EntitySpec, RoleSpec, hookimpl


def subject_readable(actor, model, view):
    """A file is seen only by whom its subject's entity is readable: the
    partner rule and the subject's own rows aside, a role without ``r`` on
    marketing templates sees none of their images either."""
    if actor.is_admin:
        return None
    from fnmatch import fnmatchcase
    grants = [(pattern, verbs) for role in actor.roles
              for pattern, verbs in view.registry.roles.get(role, {}).items()]
    hidden = sorted(name for name in view.registry.subject_types
                    if not any("r" in verbs and fnmatchcase(name, pattern) for pattern, verbs in grants))
    return model.subject_type.not_in(hidden) if hidden else None


# a rename is held to what an attach keeps of a name (store.NAME_BAD): no folders, no control or
# bidirectional characters
NAME_REGEX = r"[^\x00-\x1f\x7f-\x9f/\\\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+"


@hookimpl
def crmkit_register_entities(register):
    from . import models as m
    register(EntitySpec(
        "files.file", m.File, label="File", partner_path="partner", display="name", row_filter=subject_readable,
        read_only=("mime", "size", "sha256", "partner"), order_by=("-id",),
        schema={"name": {"empty": False, "maxlength": 255, "regex": NAME_REGEX}},
        list_fields=("id", "name", "mime", "size", "subject_type", "subject_id", "created_at", "comment")))


@hookimpl
def crmkit_register_roles(register):
    # whoever works with partners, deals, events and claims keeps their documents
    for role in ("manager", "marketer", "claims_officer"):
        register(RoleSpec(role, {"files.file": "rcud"}))


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity != "files.file":
        return None
    if record is None:
        from .store import attaching
        if not attaching.get():   # a file row without its content would be a lie
            return {"content": ["a file is attached with its content: crmkit files attach, "
                                "or the files.attach action"]}
    if ("subject_type" in data or record is None) and not data.get("subject_type"):
        return {"subject": ["a file belongs to a subject (partner, deal, event, claim, interaction, lead)"]}
    return None


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "files", "crmkit_files.commands:files",
                   "Files attached to partners, deals, events, claims, interactions and leads.")


@hookimpl
def crmkit_collect_personal_data(crm, partner_id, contact_ids):
    from .store import collect_personal
    return collect_personal(crm, partner_id, contact_ids)


@hookimpl
def crmkit_erase_personal_data(crm, partner_id, contact_ids):
    from .store import erase_personal
    erase_personal(crm, partner_id, contact_ids)


@hookimpl(optionalhook=True)
def crmkit_email_registered(crm, interaction, raw):
    """Attachments of an incoming email become files of its interaction."""
    from .mail import keep_attachments
    return keep_attachments(crm, interaction, raw)


@hookimpl(optionalhook=True)
def crmkit_register_pages(register):
    from .web import register_pages
    register_pages(register)


@hookimpl(optionalhook=True)
def crmkit_register_api_routes(register):
    from .routes import register_routes
    register_routes(register)


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl
def crmkit_backup_files(crm, execute):
    """Contents kept on disk that the backup's snapshot names."""
    from .store import backup_files
    return backup_files(execute)


@hookimpl
def crmkit_restore_files(files):
    from .store import restore_files
    return restore_files(files)


@hookimpl
def crmkit_database_restored(execute):
    from .store import restored
    restored(execute)


@hookimpl(optionalhook=True)
def crmkit_email_inline_content(crm, sha256):
    """The bytes of an image a queued email refers to (a mailing's #Картинка1#)."""
    from .store import content_of_digest
    return content_of_digest(sha256)


@hookimpl
def crmkit_outbox_delivered(crm, message):
    """A sent message's images are kept no longer for it."""
    if "sha256" not in (message.meta or ""):   # cheap test: only messages that refer to contents
        return
    from .store import release
    with crm.transaction():
        release(message.id)
