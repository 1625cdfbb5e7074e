"""``crmkit webhook ...``: subscribe URLs to events, see them, disable,
enable, rotate secrets, send a test, list the events there are."""
from __future__ import annotations

import click

from crmkit.cli import emit, format_option, pass_crm, say

ENTITY = "notify_webhook.subscription"
LIST_COLUMNS = ("id", "url", "events", "active", "failure_count", "last_success_at", "last_failure_at",
                "disabled_reason", "owner", "description")


@click.group()
def webhook():
    """Webhooks: signed HTTP POSTs to subscribed URLs when things happen."""


def _admin(crm, what):
    from .subscriptions import require_admin
    require_admin(crm, f"webhook {what}")


@webhook.command("add")
@click.argument("url")
@click.option("--events", required=True,
              help='Event names or patterns, comma-separated: "deals.deal.won,core.partner.*".')
@click.option("--description", default="")
@click.option("--secret", default=None, help="Use this whsec_... secret instead of a new random one.")
@pass_crm
def add_cmd(crm, url, events, description, secret):
    """Subscribe URL to events; prints the signing secret once."""
    sub = crm.act("notify_webhook.subscribe", url=url, events=events, description=description, secret=secret)
    say(crm, "subscription {id}: {url}", id=sub["id"], url=sub["url"])
    say(crm, "events: {events}", events=sub["events"])
    say(crm, "secret (shown once, keep it for checking signatures): {secret}", secret=sub["secret"])


@webhook.command("list")
@click.option("--all", "include_marked", is_flag=True, help="Include subscriptions marked for deletion.")
@format_option
@pass_crm
def list_cmd(crm, include_marked, fmt):
    """Subscriptions with their state and failures."""
    _admin(crm, "list")
    rows = [{c: getattr(s, c) for c in LIST_COLUMNS}
            for s in crm.find(ENTITY, order_by="id", include_marked=include_marked)]
    emit(rows, fmt, columns=list(LIST_COLUMNS), lang=crm.lang)


@webhook.command("show")
@click.argument("key")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@format_option
@pass_crm
def show_cmd(crm, key, limit, fmt):
    """One subscription and its latest deliveries."""
    _admin(crm, "show")
    from .subscriptions import current_secrets
    sub = crm.get(ENTITY, key)
    info = {c: getattr(sub, c) for c in LIST_COLUMNS}
    info["signing_secrets"] = len(current_secrets(sub.id))
    emit([{"field": k, "value": v} for k, v in info.items()], fmt, lang=crm.lang)
    rows = [{"id": x.id, "event": x.subject, "state": x.state, "attempts": x.attempts,
             "last_error": x.last_error, "created_at": x.created_at, "sent_at": x.sent_at}
            for x in crm.outbox.messages(channel="webhook", source=f"{ENTITY}:{sub.id}", limit=limit)]
    if rows:
        click.echo("")
        emit(rows, fmt, columns=list(rows[0]), lang=crm.lang)


@webhook.command("disable")
@click.argument("key")
@click.option("--reason", default="", help="Why (shown in the list).")
@pass_crm
def disable_cmd(crm, key, reason):
    """Stop delivering to a subscription (its waiting messages are skipped)."""
    sub = crm.act("notify_webhook.disable", key, reason=reason)
    say(crm, "subscription {id} disabled", id=sub.id)


@webhook.command("enable")
@click.argument("key")
@pass_crm
def enable_cmd(crm, key):
    """Deliver to a subscription again (its failure count starts afresh)."""
    sub = crm.act("notify_webhook.enable", key)
    say(crm, "subscription {id} enabled", id=sub.id)


@webhook.command("rotate-secret")
@click.argument("key")
@click.option("--grace", type=float, default=24.0, show_default=True,
              help="Hours the old secret keeps signing too (a second signature); 0 drops it now.")
@click.option("--secret", default=None, help="Use this whsec_... secret instead of a new random one.")
@pass_crm
def rotate_cmd(crm, key, grace, secret):
    """A new signing secret; prints it once."""
    done = crm.act("notify_webhook.rotate_secret", key, grace=grace, secret=secret)
    say(crm, "subscription {id}: new secret (shown once): {secret}", id=done["id"], secret=done["secret"])
    if grace:
        say(crm, "the old secret signs too for {hours} hour(s)", hours=f"{grace:g}")


@webhook.command("remove")
@click.argument("key")
@pass_crm
def remove_cmd(crm, key):
    """Delete a subscription and its secrets (its waiting messages are skipped)."""
    _admin(crm, "remove")
    done = crm.act("notify_webhook.remove", key)
    say(crm, "subscription {id} removed", id=done["removed"])


@webhook.command("test")
@click.argument("key")
@pass_crm
def test_cmd(crm, key):
    """Send a signed notify_webhook.ping to a subscription now and show the answer."""
    _admin(crm, "test")
    done = crm.act("notify_webhook.test", key)
    if not done["ok"]:
        raise click.ClickException(done["answer"])
    click.echo(done["answer"])


@webhook.command("events")
@format_option
@pass_crm
def events_cmd(crm, fmt):
    """Every event there is to subscribe to."""
    from crmkit import Message
    from .events import catalogue
    # a description another plugin declared is in its words (the event's first part names it)
    rows = [{"event": e.name, "entity": e.entity or "",
             "description": e.description if isinstance(e.description, Message) or not e.description
             else Message(e.description, domain=e.name.split(".")[0]),
             "payload": ", ".join(e.payload)} for e in catalogue(crm).values()]
    emit(rows, fmt, columns=["event", "entity", "description", "payload"], lang=crm.lang)


@webhook.command("settings")
@format_option
@pass_crm
def settings_cmd(crm, fmt):
    """Timeouts, the failure limit and networks allowed despite being private."""
    from .settings import WebhookSettings
    emit([{"setting": k, "value": str(v)} for k, v in WebhookSettings.from_env().shown().items()], fmt,
         lang=crm.lang)
