"""Report declarations; the builds live in ``reports.py`` (pandas is
imported only when a report runs)."""
from crmkit import ChartSpec, ReportSpec
from crmkit.core.currency import LABELS as CURRENCY_LABELS, PARAMS as REPORT_CURRENCY   # report_currency, rates_on

R = "crmkit_analysis.reports:"
DATE = {"type": "date", "coerce": "date", "nullable": True}
KIND = {"type": "string", "allowed": ["partner", "product"], "default": "partner"}
MEASURE = {"type": "string", "allowed": ["revenue", "gross_profit", "documents"], "nullable": True}
PERIOD = {"date_from": DATE, "date_to": DATE}
MONEY = {**PERIOD, **REPORT_CURRENCY}      # reports summing revenue and cost
# which run a classification report shows: by id, or the latest computed for the
# date (as_of) and the settings given (any of the classification settings)
UNIT = {"type": "string", "nullable": True, "allowed": ["day", "week", "month", "quarter", "year"]}
PERCENT = {"type": "float", "coerce": "float", "nullable": True}
RUN = {"run": {"type": "integer", "coerce": "int", "nullable": True, "min": 1},
       "abc_period": UNIT, "abc_periods": {"type": "integer", "coerce": "int", "nullable": True},
       "xyz_period": UNIT, "xyz_periods": {"type": "integer", "coerce": "int", "nullable": True},
       "xyz_subperiod": UNIT, "a": PERCENT, "b": PERCENT, "c": PERCENT, "x": PERCENT, "y": PERCENT,
       "returns": {"type": "string", "nullable": True, "allowed": ["net", "sales_only"]},
       "crossing": {"type": "string", "nullable": True, "allowed": ["higher", "lower"]}}
# what a person reads for the names the builds use (columns, sections, parameters)
LABELS = {
    "code": "Number", "partner": "Partner", "product": "Product", "value": "Value", "share": "Share, %",
    "cumulative_share": "Cumulative share, %", "abc": "ABC class", "cv": "Coefficient of variation, %",
    "xyz": "XYZ class", "setting": "Setting", "settings": "Classification settings", "main": "Classification",
    "previous": "Previous classification", "current": "Current classification", "count": "Count",
    "change": "Change", "lost": "Lost", "matrix": "Matrix", "cells": "Cells", "moved": "Changed class",
    "runs": "Classifications", "run": "Classification", "as_of": "Date", "class": "Class",
    "potential": "Potential", "total": "Total", "counts": "Count", "measure": "Measure",
    "segment": "Segment", "products": "Products", "month": "Month", "products_sold": "Items sold",
    "revenue": "Revenue", "gross_profit": "Gross profit", "documents": "Sales documents",
    "classes by segment": "Product ABC/XYZ by segment", "dynamics": "Assortment and sales dynamics",
    "deal_code": "Deal number", "deal": "Deal", "deal_id": "Deal", "status": "Status", "responsible": "Responsible",
    "client": "Client", "cost": "Cost", "margin_pct": "Margin, %", "lines": "Lines", "clients": "Number of clients",
    "deals in_work": ("Deals", "Deals in work"), "deals won": ("Deals", "Deals won"),
    "deals lost": ("Deals", "Deals lost"), "deals": ("Deals", "All deals"), "kind": "Object of classification",
    **CURRENCY_LABELS,
    "returns": "Returns", "crossing": "Crossing item",
    "abc_period": "ABC period", "abc_periods": "ABC periods", "xyz_period": "XYZ period",
    "xyz_periods": "XYZ periods", "xyz_subperiod": "XYZ subperiod", "a": "A-class share, %",
    "b": "B-class share, %", "c": "C-class share, %", "x": "X-class variation up to, %",
    "y": "Y-class variation up to, %",
}

REPORTS = [
    ReportSpec("analysis.abc_xyz_clients", "ABC/XYZ classification of clients", R + "abc_xyz_clients",
               params={"as_of": DATE, "measure": MEASURE, **RUN}, labels=LABELS,
               question="How much do we depend on each client (ABC)? Which clients buy steadily, "
                        "which only once (XYZ)?",
               charts=(ChartSpec("bar", x="partner", y="value", title="Measure by client"),)),
    ReportSpec("analysis.abc_xyz_products", "ABC/XYZ classification of products", R + "abc_xyz_products",
               params={"as_of": DATE, "measure": MEASURE, **RUN}, labels=LABELS,
               question="Which products sell well and steadily? Which have a low turnover and sell unsteadily?",
               charts=(ChartSpec("bar", x="product", y="value", title="Measure by product"),)),
    ReportSpec("analysis.matrix", "BCG matrix", R + "matrix",
               params={"kind": KIND, "as_of": DATE, "measure": MEASURE, **RUN}, labels=LABELS,
               question="With which clients is it promising to work?",
               charts=(ChartSpec("heatmap", section="cells", x="abc", y="xyz", value="count",
                                 title="ABC/XYZ distribution"),)),
    ReportSpec("analysis.abc_changes", "ABC changes", R + "abc_changes", params={"kind": KIND, "as_of": DATE, **RUN},
               labels=LABELS, question="How have the ABC classes changed since the previous classification?"),
    ReportSpec("analysis.xyz_changes", "XYZ changes", R + "xyz_changes", params={"kind": KIND, "as_of": DATE, **RUN},
               labels=LABELS, question="How have the XYZ classes changed since the previous classification?"),
    ReportSpec("analysis.history", "Classification history", R + "history",
               params={"partner": {"type": "string", "nullable": True}}, page_size=1000, labels=LABELS,
               question="Which classes did each client have at each classification?"),
    ReportSpec("analysis.segments", "Comparing client segments", R + "segments", params=MONEY, labels=LABELS,
               question="How many clients are in the segments? What are the sales by segment? "
                        "How many deals, and in what state?",
               charts=(ChartSpec("bar", x="segment", y=("revenue", "gross_profit"), title="Sales by segment"),)),
    ReportSpec("analysis.assortment", "Assortment and sales dynamics", R + "assortment",
               params={**MONEY, "as_of": DATE}, labels=LABELS,
               question="How does the assortment change?",
               charts=(ChartSpec("bar", section="dynamics", x="month", y="revenue", title="Revenue by month"),)),
    ReportSpec("analysis.deal_profit", "Gross profit by deals", R + "deal_profit", params=MONEY, labels=LABELS,
               question="Which deal kinds and deals bring the most sales to clients?",
               charts=(ChartSpec("bar", x="client", y="gross_profit", title="Gross profit by deal"),)),
]
