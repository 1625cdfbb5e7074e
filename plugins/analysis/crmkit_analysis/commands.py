"""``crmkit analysis ...``: classify (for cron), settings, history."""
from __future__ import annotations

import click

from crmkit.cli import emit, format_option, pass_crm, progress_bar

KIND = click.Choice(["partner", "product", "all"])
UNIT = click.Choice(["day", "week", "month", "quarter", "year"])


def setting_options(fn):
    options = [
        click.option("--measure", type=click.Choice(["revenue", "gross_profit", "documents"]), default=None),
        click.option("--abc-period", type=UNIT, default=None), click.option("--abc-periods", type=int, default=None),
        click.option("--xyz-period", type=UNIT, default=None), click.option("--xyz-periods", type=int, default=None),
        click.option("--xyz-subperiod", type=UNIT, default=None),
        click.option("--a", "a", type=float, default=None, help="A threshold, % (default 80)."),
        click.option("--b", "b", type=float, default=None, help="B threshold, % (default 15)."),
        click.option("--c", "c", type=float, default=None, help="C threshold, % (default 5)."),
        click.option("--x", "x", type=float, default=None, help="X: CV at most, % (default 10)."),
        click.option("--y", "y", type=float, default=None, help="Y: CV at most, % (default 25)."),
        click.option("--returns", type=click.Choice(["net", "sales_only"]), default=None,
                     help="Returns netted into the measure (net, the default) or left out (sales_only)."),
        click.option("--crossing", type=click.Choice(["higher", "lower"]), default=None,
                     help="The class of the item crossing a line: the higher (default) or the lower."),
        click.option("--anonymous", default=None, help="Code of the anonymous buyer (the import records it)."),
        click.option("--report-currency", default=None,
                     help="Classify money in this currency (each sale at the rate of its date)."),
        click.option("--anonymous-buyer", type=click.Choice(["exclude", "include"]), default=None,
                     help="Leave the anonymous buyer out of the client classification (default) or count it."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group()
def analysis():
    """Sales analysis: ABC/XYZ classification of clients and products."""


@analysis.command("classify")
@click.option("--kind", type=KIND, default="all", show_default=True)
@click.option("--as-of", default=None, help="Date of the classification (default today).")
@setting_options
@format_option
@pass_crm
def classify_cmd(crm, kind, as_of, fmt, **settings):
    """Classify clients and/or products as of a date and store the history.

    Safe to run from cron: a re-run for the same date and settings replaces
    that run instead of adding another.
    """
    from crmkit import translate
    with progress_bar(translate("classifying", crm.lang), fmt):
        rows = crm.act("analysis.classify", kind=kind, as_of=as_of, **settings)
    from crmkit import Choice, Message, translate
    for summary in rows:
        summary.setdefault("note", "")
        if fmt == "json":
            summary["classes"] = ", ".join(f"{c}: {n}" for c, n in sorted(summary["classes"].items()))
            continue
        # classes, the windows' sub-period and the note in the user's words ("Потерянные/Потерянные: 5")
        summary["classes"] = ", ".join(
            "/".join(Choice(part, "analysis.history").label(crm.lang) for part in str(c).split("/")) + f": {n}"
            for c, n in sorted(summary["classes"].items()))
        for name in ("abc_window", "xyz_window"):
            dates, by, unit = str(summary.get(name) or "").partition(" by ")
            if by:
                summary[name] = f"{dates} {translate('by ' + unit, crm.lang)}"
        summary["note"] = Message(summary["note"]) if summary["note"] else ""
        for name in ("kind", "measure"):
            if isinstance(summary.get(name), str):
                summary[name] = Choice(summary[name], "analysis.history")
    emit(rows, fmt, lang=crm.lang, context="analysis.history")


@analysis.command("settings")
@click.option("--kind", type=click.Choice(["partner", "product"]), default="partner", show_default=True)
@setting_options
@format_option
@pass_crm
def settings_cmd(crm, kind, fmt, **settings):
    """Show the stored classification settings, or change those given."""
    current = crm.act("analysis.settings", kind=kind, **settings)
    rows = [{"setting": k, "value": v} for k, v in current.items()]
    if fmt != "json" and crm.lang != "en":      # each name and code as typed, with its label beside it
        from crmkit import translate
        from .specs import LABELS

        def with_label(word):
            label = translate(LABELS.get(word, word), crm.lang, context="analysis.settings")
            return word if label == word else f"{word} ({label})"
        rows = [{"setting": with_label(r["setting"]),
                 "value": with_label(r["value"]) if isinstance(r["value"], str) and r["value"] else r["value"]}
                for r in rows]
    emit(rows, fmt, lang=crm.lang)


@analysis.command("history")
@click.argument("partner")
@format_option
@pass_crm
def history_cmd(crm, partner, fmt):
    """A partner's classification history, newest first."""
    record = crm.get("core.partner", partner)
    frame = crm.report("analysis.history", partner=record.code).frame
    rows = frame.to_dict(orient="records")
    if fmt != "json":           # classes and measures by their label ("Потенциальные")
        from crmkit import Choice
        rows = [{k: Choice(v, "analysis.history") if isinstance(v, str) and k in CODED else v for k, v in r.items()}
                for r in rows]
    emit(rows, fmt, lang=crm.lang, context="analysis.history")


CODED = {"abc", "xyz", "abc_class", "xyz_class", "measure", "class", "kind"}
