"""ABC/XYZ classification as actions: ``crmkit analysis classify`` and
``settings``, the API and the web pages run these through ``crm.act``;
the logic is in ``classify``."""
from crmkit import ActionSpec

UNIT = {"type": "string", "nullable": True, "allowed": ["day", "week", "month", "quarter", "year"]}
PERCENT = {"type": "float", "coerce": "float", "nullable": True}
SETTINGS = {
    "measure": {"type": "string", "nullable": True, "allowed": ["revenue", "gross_profit", "documents"]},
    "abc_period": UNIT, "abc_periods": {"type": "integer", "coerce": "int", "nullable": True},
    "xyz_period": UNIT, "xyz_periods": {"type": "integer", "coerce": "int", "nullable": True},
    "xyz_subperiod": UNIT, "a": PERCENT, "b": PERCENT, "c": PERCENT, "x": PERCENT, "y": PERCENT,
    "returns": {"type": "string", "nullable": True, "allowed": ["net", "sales_only"]},
    "crossing": {"type": "string", "nullable": True, "allowed": ["higher", "lower"]},
    "anonymous": {"type": "string", "nullable": True, "maxlength": 20},
    "anonymous_buyer": {"type": "string", "nullable": True, "allowed": ["exclude", "include"]},
    "report_currency": {"type": "string", "nullable": True, "maxlength": 3},
}


def _given(values):
    return {k: v for k, v in values.items() if v is not None}


def _classify(crm, record, kind="all", as_of=None, **settings):
    from crmkit import report_progress, translate
    from .classify import STEPS, run
    kinds = ("partner", "product") if kind == "all" else (kind,)
    total = STEPS * len(kinds)
    rows = []
    for i, k in enumerate(kinds):
        label = translate(f"classifying {k}s", crm.lang)

        def step(n, offset=i * STEPS, label=label):
            report_progress(offset + n, total, label)
        step(0)
        rows.append(run(crm, k, as_of, progress=step, **_given(settings)))
    return rows


def _settings(crm, record, kind="partner", **settings):
    from .classify import save_settings, stored_settings
    given = _given(settings)
    return save_settings(crm, kind, given) if given else stored_settings(crm, kind)


ACTIONS = [
    ActionSpec("analysis.classify", "analysis.run", _classify, on_record=False, verb="create", title="Classify",
               description="Classify clients and/or products as of a date and store the history; a re-run for "
                           "the same date and settings replaces that run.",
               params={"kind": {"type": "string", "allowed": ["partner", "product", "all"], "default": "all"},
                       "as_of": {"type": "date", "coerce": "date", "nullable": True}, **SETTINGS}),
    ActionSpec("analysis.settings", "analysis.run", _settings, on_record=False, verb="update",
               title="Classification settings",
               description="The stored classification settings, changed where given.",
               params={"kind": {"type": "string", "allowed": ["partner", "product"], "default": "partner"},
                       **SETTINGS}),
]
