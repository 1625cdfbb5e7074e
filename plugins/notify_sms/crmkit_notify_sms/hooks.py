"""The SMS plugin's contract with the kernel."""
from crmkit import ChannelSpec, hookimpl


@hookimpl
def crmkit_add_hookspecs(pm):
    from . import hookspecs
    pm.add_hookspecs(hookspecs)


@hookimpl
def crmkit_register_channels(register):
    from .channel import deliver
    register(ChannelSpec("sms", deliver, address_kind="phone",
                         description="SMS through a provider (built in: configurable HTTP gateway)"))


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "sms", "crmkit_notify_sms.commands:sms",
                   "SMS: settings, length, test send, status, opt-outs.")


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)
