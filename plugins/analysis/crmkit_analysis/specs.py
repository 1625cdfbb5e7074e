"""Report declarations; the builds live in ``reports.py`` (pandas is
imported only when a report runs)."""
from crmkit import ChartSpec, ReportSpec
from crmkit.core.currency import PARAMS as REPORT_CURRENCY   # report_currency, rates_on

R = "crmkit_analysis.reports:"
DATE = {"type": "date", "coerce": "date", "nullable": True}
KIND = {"type": "string", "allowed": ["partner", "product"], "default": "partner"}
MEASURE = {"type": "string", "allowed": ["revenue", "gross_profit", "documents"], "nullable": True}
PERIOD = {"date_from": DATE, "date_to": DATE}
MONEY = {**PERIOD, **REPORT_CURRENCY}      # reports summing revenue and cost

REPORTS = [
    ReportSpec("analysis.abc_xyz_clients", "ABC/XYZ classification of clients", R + "abc_xyz_clients",
               params={"as_of": DATE, "measure": MEASURE},
               charts=(ChartSpec("bar", x="code", y="value", title="Measure by client"),)),
    ReportSpec("analysis.abc_xyz_products", "ABC/XYZ classification of products", R + "abc_xyz_products",
               params={"as_of": DATE, "measure": MEASURE},
               charts=(ChartSpec("bar", x="code", y="value", title="Measure by product"),)),
    ReportSpec("analysis.matrix", "BCG matrix", R + "matrix",
               params={"kind": KIND, "as_of": DATE, "measure": MEASURE},
               charts=(ChartSpec("heatmap", section="cells", x="abc", y="xyz", value="count",
                                 title="ABC/XYZ distribution"),)),
    ReportSpec("analysis.abc_changes", "ABC changes", R + "abc_changes", params={"kind": KIND, "as_of": DATE}),
    ReportSpec("analysis.xyz_changes", "XYZ changes", R + "xyz_changes", params={"kind": KIND, "as_of": DATE}),
    ReportSpec("analysis.history", "Classification history", R + "history",
               params={"partner": {"type": "string", "nullable": True}}, page_size=1000),
    ReportSpec("analysis.segments", "Comparing client segments", R + "segments", params=MONEY,
               charts=(ChartSpec("bar", x="segment", y=("revenue", "gross_profit"), title="Sales by segment"),)),
    ReportSpec("analysis.assortment", "Assortment and sales dynamics", R + "assortment",
               params={**MONEY, "as_of": DATE},
               charts=(ChartSpec("bar", section="dynamics", x="month", y="revenue", title="Revenue by month"),)),
    ReportSpec("analysis.deal_profit", "Gross profit by deals", R + "deal_profit", params=MONEY,
               charts=(ChartSpec("bar", x="client", y="gross_profit", title="Gross profit by deal"),)),
]
