"""Report declarations (no pandas here: builds are imported when run)."""
from crmkit import ChartSpec, ReportSpec
from crmkit.core.currency import LABELS as CURRENCY_LABELS, PARAMS as REPORT_CURRENCY   # report_currency, rates_on

KEY = {"type": ["string", "integer"], "nullable": True}
PERIOD = {"date_from": {"type": "date", "coerce": "date", "nullable": True},
          "date_to": {"type": "date", "coerce": "date", "nullable": True}}
# date_basis: the period (and the month key) reads the start or the close date
BASIS = {"date_basis": {"type": "string", "nullable": True, "allowed": ["start", "close"]}}
# holding: a partner and everything under it; department: the responsible's department
# and everything under it; team: a manager, meaning their department's tree
FILTERS = {**PERIOD, **BASIS, "kind": KEY, "responsible": KEY, "client": KEY, "segment": KEY,
           "holding": KEY, "department": KEY, "team": KEY,
           "currency": {"type": "string", "nullable": True, "regex": "[A-Za-z]{3}"},
           "include_marked": {"type": "boolean", "coerce": "bool"}, **REPORT_CURRENCY}
# comma-separated keys of crmkit_deals.dimensions.GROUP_KEYS, checked by the build
GROUP_BY = {"group_by": {"type": "string", "nullable": True, "maxlength": 200}}
AS_OF = {"as_of": {"type": "datetime", "coerce": "datetime", "nullable": True}}
# the filters' labels (the columns of deal reports are named in English already)
FILTER_LABELS = {"kind": "Deal kind", "responsible": "Responsible", "client": "Client", "segment": "Segment",
                 "currency": "Currency", "detail": "In detail", "reason": "Loss reason", "holding": "Holding",
                 "department": "Department", "team": "Team", "date_basis": "Date basis", "group_by": "Group by",
                 **CURRENCY_LABELS}


def _status_groups(group, prefix):
    """The efficiency tree's columns of one status under its group header."""
    return {f"{prefix}: deals": (group, "Number of deals"), f"{prefix}: share of deals, %": (group, "Share in count, %"),
            f"{prefix}: potential": (group, "Potential sales amount"),
            f"{prefix}: share of potential, %": (group, "Share in potential sales amount, %")}


FUNNEL_LABELS = {"Stages in work": ("In work", "Stages in work"), "Potential in work": ("In work", "Potential in work"),
                 "Stages won": ("Won stages", "Stages won"), "Won potential": ("Won stages", "Won potential"),
                 "Stages lost": ("Lost stages", "Stages lost"), "Lost potential": ("Lost stages", "Lost potential")}
EFFICIENCY_LABELS = {**_status_groups("In work", "In work"), **_status_groups("Won", "Won"),
                     **_status_groups("Lost", "Lost")}

TARGETS = {**PERIOD, "period": {"type": "string", "nullable": True, "allowed": ["month", "quarter"]},
           "responsible": KEY, "department": KEY, "kind": KEY, **REPORT_CURRENCY}

REPORTS = [
    ReportSpec("deals.funnel", "Sales funnel", "crmkit_deals.reports:funnel",
               params={**FILTERS, **AS_OF, **GROUP_BY},
               description="Stage passages of deals in work, won and lost, and how long a stage lasts.",
               question="How effective is each stage of the sales funnel?",
               labels={**FILTER_LABELS, **FUNNEL_LABELS},
               charts=(ChartSpec("funnel", section="Funnel chart", x="Sales process stage", y="Number of deals",
                                 title="Number of deals"),
                       ChartSpec("funnel", section="Funnel chart", x="Sales process stage",
                                 y="Potential sales amount", title="Potential sales total"))),
    ReportSpec("deals.efficiency", "Deal efficiency", "crmkit_deals.reports:efficiency",
               params={**FILTERS, **AS_OF, **GROUP_BY, "detail": {"type": "boolean", "coerce": "bool"}},
               description="Deals by status; in work and won by kind, deal and client; lost by responsible.",
               question="How many deals were won? For what potential sales amount?",
               labels={**FILTER_LABELS, **EFFICIENCY_LABELS}, tree_level="Level",
               charts=(ChartSpec("bar", section="By status", x="Status", y="Potential sales amount",
                                 title="Potential sales amount"),)),
    ReportSpec("deals.loss_reasons", "Deal loss reasons", "crmkit_deals.reports:loss_reasons",
               params={**FILTERS, **AS_OF, **GROUP_BY, "reason": KEY}, labels=FILTER_LABELS,
               question="Which reasons made us lose deals? With which managers? With which clients?",
               charts=(ChartSpec("bar", x="Loss reason", y="Lost deals count", title="Deal loss reasons"),)),
    ReportSpec("deals.forecast", "Deal forecast", "crmkit_deals.reports:forecast",
               params={**FILTERS, **GROUP_BY},
               description="Weighted pipeline of deals in work: potential x win probability.",
               question="How likely are the deals to be won?", labels=FILTER_LABELS,
               charts=(ChartSpec("bar", section="By close month", x="Month",
                                 y=("Potential sales amount", "Weighted potential"), title="Deal forecast"),)),
    ReportSpec("deals.primary_demand", "Primary demand", "crmkit_deals.reports:primary_demand", params=FILTERS,
               question="What are the main reasons clients stay unsatisfied? In which deals was the demand satisfied?",
               labels=FILTER_LABELS,
               charts=(ChartSpec("bar", section="By product", x="Product",
                                 y=("Satisfied amount", "Unsatisfied amount"), title="Primary demand"),)),
    ReportSpec("deals.managers", "Manager performance", "crmkit_deals.reports:managers",
               params={**FILTERS, **GROUP_BY},
               description="Per responsible (or department, team, holding, month ...): deals in work, won and "
                           "lost, win rate, potentials, average cycle and won deal, and a total row.",
               question="How do the managers' deals go: in work, won and lost?", labels=FILTER_LABELS,
               charts=(ChartSpec("bar", x="Responsible", y=("Deals won", "Deals lost"), title="Deals won and lost"),)),
    ReportSpec("deals.plan_actual", "Sales plan and actual", "crmkit_deals.targets:plan_actual", params=TARGETS,
               question="How far has each manager, department and deal kind come towards its sales target? "
                        "Will the deals in work make it?",
               labels={**FILTER_LABELS, "department": "Department", "period": "Period"},
               description="Targets per manager, department and deal kind against the deals won in their month "
                           "or quarter, with completion % and the forecast.",
               charts=(ChartSpec("bar", section="Plan and actual", x="Responsible",
                                 y=("Target amount", "Won amount", "Forecast amount"), title="Plan and actual"),)),
]
