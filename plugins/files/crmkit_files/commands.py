"""``crmkit files``: attach, list, get and remove files. Thin: attach and
remove are the actions ``files.attach`` and ``files.remove``; attach
streams the file from disk (a 2 GB file is refused at the limit, not read
whole)."""
from __future__ import annotations

from pathlib import Path

import click

from crmkit.cli import emit, format_option, pass_crm, say


@click.group()
def files():
    """Files attached to partners, deals, events, claims, interactions and leads."""


@files.command("attach")
@click.argument("subject")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="The file's name (default: the path's).")
@click.option("--comment", default="")
@pass_crm
def attach_cmd(crm, subject, path, name, comment):
    """Attach the file at PATH to SUBJECT (core.partner:00-00000001, deals.deal:5 ...)."""
    entity, key = _resolve(crm, subject)
    with path.open("rb") as stream:
        done = crm.act("files.attach", subject=f"{entity}:{key}", name=name or path.name, content=stream,
                       comment=comment)
    say(crm, "attached file {id}: {name} ({mime}, {size} bytes)", id=done["id"], name=done["name"],
        mime=done["mime"], size=done["size"])


def _subject(text):
    entity, _, key = text.partition(":")
    if not key:
        raise click.BadParameter(f"{text!r}: expected entity:id or entity:code", param_hint="SUBJECT")
    return (entity, int(key) if key.isascii() and key.isdigit() else key)


def _resolve(crm, text):
    """A subject by id or code, as ``(entity, id)``; one the user does not
    see stays as given (``attach`` names it as not existing)."""
    from crmkit import NotFound
    entity, key = _subject(text)
    try:
        return (entity, crm.get(entity, key).get_id())
    except NotFound:
        return (entity, key)


@files.command("list")
@click.argument("subject")
@format_option
@pass_crm
def list_cmd(crm, subject, fmt):
    """The files of SUBJECT you may see."""
    from .store import describe, listing
    emit([describe(f) for f in listing(crm, _resolve(crm, subject))], fmt, lang=crm.lang)


@files.command("get")
@click.argument("key", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the content.")
@pass_crm
def get_cmd(crm, key, output):
    """Write the content of file KEY to OUTPUT."""
    import shutil

    from .store import CHUNK, open_content
    record, stream = open_content(crm, key)
    with stream, output.open("wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)
        size = out.tell()
    say(crm, "{name}: {size} bytes written to {file}", name=record.name, size=size, file=output)


@files.command("remove")
@click.argument("key", type=int)
@pass_crm
def remove_cmd(crm, key):
    """Delete file KEY (the role's d grant); its content goes when no other file holds it."""
    result = crm.act("files.remove", key)
    say(crm, "removed file {id}", id=result["removed"])
