"""Report declarations (no pandas here: builds are imported when run)."""
from crmkit import ChartSpec, ReportSpec
from crmkit.core.currency import PARAMS as REPORT_CURRENCY   # report_currency, rates_on

KEY = {"type": ["string", "integer"], "nullable": True}
PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}
FILTERS = {**PERIOD, "kind": KEY, "responsible": KEY, "client": KEY, "segment": KEY,
           "currency": {"type": "string", "nullable": True, "regex": "[A-Za-z]{3}"},
           "include_marked": {"type": "boolean", "coerce": "bool"}, **REPORT_CURRENCY}
AS_OF = {"as_of": {"type": "datetime", "coerce": "datetime", "nullable": True}}

TARGETS = {**PERIOD, "period": {"type": "string", "nullable": True, "allowed": ["month", "quarter"]},
           "responsible": KEY, "department": KEY, "kind": KEY, **REPORT_CURRENCY}

REPORTS = [
    ReportSpec("deals.funnel", "Sales funnel", "crmkit_deals.reports:funnel", params={**FILTERS, **AS_OF},
               description="Stage passages of deals in work, won and lost, and how long a stage lasts.",
               charts=(ChartSpec("funnel", section="Funnel chart", x="Sales process stage", y="Number of deals",
                                 title="Number of deals"),
                       ChartSpec("funnel", section="Funnel chart", x="Sales process stage",
                                 y="Potential sales amount", title="Potential sales total"))),
    ReportSpec("deals.efficiency", "Deal efficiency", "crmkit_deals.reports:efficiency",
               params={**FILTERS, **AS_OF, "detail": {"type": "boolean", "coerce": "bool"}},
               description="Deals by status; in work and won by kind, deal and client; lost by responsible.",
               charts=(ChartSpec("bar", section="By status", x="Status", y="Potential sales amount",
                                 title="Potential sales amount"),)),
    ReportSpec("deals.loss_reasons", "Deal loss reasons", "crmkit_deals.reports:loss_reasons",
               params={**FILTERS, **AS_OF, "reason": KEY},
               charts=(ChartSpec("bar", x="Loss reason", y="Lost deals count", title="Deal loss reasons"),)),
    ReportSpec("deals.forecast", "Deal forecast", "crmkit_deals.reports:forecast", params=FILTERS,
               description="Weighted pipeline of deals in work: potential x win probability.",
               charts=(ChartSpec("bar", section="By close month", x="Month",
                                 y=("Potential sales amount", "Weighted potential"), title="Deal forecast"),)),
    ReportSpec("deals.primary_demand", "Primary demand", "crmkit_deals.reports:primary_demand", params=FILTERS,
               charts=(ChartSpec("bar", section="By product", x="Product",
                                 y=("Satisfied amount", "Unsatisfied amount"), title="Primary demand"),)),
    ReportSpec("deals.managers", "Manager performance", "crmkit_deals.reports:managers", params=FILTERS,
               charts=(ChartSpec("bar", x="Responsible", y=("Deals won", "Deals lost"), title="Deals won and lost"),)),
    ReportSpec("deals.plan_actual", "Sales plan and actual", "crmkit_deals.targets:plan_actual", params=TARGETS,
               description="Targets per manager, department and deal kind against the deals won in their month "
                           "or quarter, with completion % and the forecast.",
               charts=(ChartSpec("bar", section="Plan and actual", x="Responsible",
                                 y=("Target amount", "Won amount", "Forecast amount"), title="Plan and actual"),)),
]
