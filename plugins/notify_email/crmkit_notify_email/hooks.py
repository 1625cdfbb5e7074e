"""The email plugin's contract with the kernel."""
from crmkit import ChannelSpec, hookimpl


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


@hookimpl
def crmkit_register_channels(register):
    from .channel import deliver
    from .smtp import run_session
    register(ChannelSpec("email", deliver, address_kind="email", session=run_session,
                         description="SMTP (plain, STARTTLS, SSL), one connection per delivery run"))


@hookimpl
def crmkit_outbox_delivered(crm, message):
    if message.channel == "email":
        from .channel import after_delivered
        after_delivered(crm, message)


@hookimpl
def crmkit_outbox_failed(crm, message, error, permanent):
    if message.channel == "email":
        from .channel import after_failed
        after_failed(crm, message, error, permanent)


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "email", "crmkit_notify_email.commands:email",
                   "Email: settings, test send, fetch incoming mail, unknown senders.")
    if "outbox" not in cli.commands:
        add_lazy_group(cli, "outbox", "crmkit_notify_email.commands:outbox",
                       "Outbound messages: list, deliver, retry, purge.")


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)
