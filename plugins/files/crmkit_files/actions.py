"""The files actions: attach (content as base64, for the HTTP API; the
CLI streams a file from disk through the same ``store.attach``) and remove."""
from crmkit import ActionSpec


def _attach(crm, record, subject, name, content, comment=""):
    from .store import attach_base64, describe
    return describe(attach_base64(crm, subject, name, content, comment or ""))


def _remove(crm, record):
    from .store import remove
    return {"removed": remove(crm, record.id).id}


ACTIONS = [
    ActionSpec("files.attach", "files.file", _attach, on_record=False, verb="create", title="Attach a file",
               description="Attach a file to a subject the user sees (partner, deal, event, claim, "
                           "interaction, lead); its type comes from its content, programs are refused.",
               params={"subject": {"type": "string", "required": True, "maxlength": 200},
                       "name": {"type": "string", "required": True, "maxlength": 255},
                       "content": {"type": "string", "required": True},
                       "comment": {"type": "string", "nullable": True, "maxlength": 500}}),
    ActionSpec("files.remove", "files.file", _remove, verb="delete", title="Remove the file",
               description="Delete the file; its content goes when no other file holds it."),
]
