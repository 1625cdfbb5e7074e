"""The web plugin's contract with the kernel. Flask is imported only when
the application is built, so the CLI starts without it."""
from crmkit import hookimpl


@hookimpl
def crmkit_register_commands(cli):
    from .commands import serve
    cli.add_command(serve)
