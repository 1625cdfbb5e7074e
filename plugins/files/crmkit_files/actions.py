"""The files actions: attach and remove. ``files.attach`` is the one way a
file is attached, whoever calls: the CLI (a file streamed from disk), the
web's Files tab (the form's file part), the API's upload route (the raw
request body, ``POST /api/v1/files/<entity>/<id>``) give ``content`` as a
stream, read a megabyte at a time and bounded; the API's JSON action gives
it as base64 text."""
from crmkit import ActionSpec


def _attach(crm, record, subject, name, content, comment=""):
    from .store import attach, attach_base64, describe
    if isinstance(content, str):
        return describe(attach_base64(crm, subject, name, content, comment or ""))
    return describe(attach(crm, subject, name, content, comment or ""))


def _remove(crm, record):
    from .store import remove
    return {"removed": remove(crm, record.id).id}


ACTIONS = [
    # not one transaction around the whole action: the content is read (and, on disk, spooled) before
    # the transaction that records it begins, so a slow upload holds no lock (store.attach)
    ActionSpec("files.attach", "files.file", _attach, on_record=False, verb="create", title="Attach a file",
               description="Attach a file to a subject the user sees (partner, deal, event, claim, "
                           "interaction, lead); its type comes from its content, programs are refused. "
                           "Over JSON the content is base64; POST /api/v1/files/<entity>/<id>?name=... takes "
                           "the raw bytes as the body, up to CRMKIT_FILES_MAX_BYTES.",
               transaction=False,
               params={"subject": {"type": "string", "required": True, "maxlength": 200},
                       "name": {"type": "string", "required": True, "maxlength": 255},
                       "content": {"type": ["string", "stream"], "required": True},
                       "comment": {"type": "string", "nullable": True, "maxlength": 500}}),
    ActionSpec("files.remove", "files.file", _remove, verb="delete", title="Remove the file",
               description="Delete the file; its content goes when no other file holds it."),
]
