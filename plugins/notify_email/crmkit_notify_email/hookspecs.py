"""Hooks this plugin offers to others (published via crmkit_add_hookspecs).

Implementers that must also work without notify_email installed mark their
implementation ``@hookimpl(optionalhook=True)``.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_outbox_retention(crm):
    """How long sent messages of a source are kept before ``crmkit outbox purge``.

    :param crm: the acting ``Crm``.
    :return: a list of ``(source, days)`` pairs (exact sources), e.g. the mailing
        groups' "delete created messages after N days"
        (``[("marketing.mailing:5", 30), ...]``), or None.
    """


@hookspec
def crmkit_email_registered(crm, interaction, raw):
    """An incoming email became an interaction (inside its transaction).

    :param crm: the system ``Crm`` that registered it.
    :param interaction: the new ``core.interaction`` record.
    :param raw: the message's bytes as received (RFC 5322), e.g. to keep
        its attachments (the files plugin does).
    """


@hookspec(firstresult=True)
def crmkit_email_inline_content(crm, sha256):
    """The bytes of an image a queued email refers to by its SHA-256
    (``meta["inline"]`` items ``{"cid", "filename", "content_type",
    "sha256"}``, a mailing's ``#Картинка1#``), read when the email is sent,
    so the outbox holds one reference instead of the bytes per message.

    :param crm: the ``Crm`` delivering (the system user).
    :param sha256: the content's SHA-256 (64 hex digits).
    :return: the bytes (their SHA-256 is checked), or None when not stored:
        the message then fails permanently, naming the image.
    """
