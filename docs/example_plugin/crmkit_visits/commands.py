"""``crmkit visits ...``: imported only when the group is used."""
import click

from crmkit.cli import pass_crm


@click.group()
def visits():
    """Field visits to partners."""


@visits.command("log")
@click.argument("partner")
@click.argument("date")
@click.option("--km", type=int, default=0)
@click.option("--note", default="")
@pass_crm
def log(crm, partner, date, km, note):
    """Log a visit to PARTNER (id or code) on DATE."""
    visit = crm.create("visits.visit", {"partner": crm.get("core.partner", partner).id, "date": date,
                                        "kilometres": km, "note": note})
    click.echo(f"logged {visit.code}")
