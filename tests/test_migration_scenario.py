"""A company moving in from another CRM: a generated base of the shape of
a public CRM data set (agents under managers in regional offices, accounts
under parent companies, products, deals won, lost and in work with their
dates) loaded with the bulk import, one file per entity, then every deal
report checked against figures computed here, independently, from the
source files with pandas; and the same base made through the Python API
gives the same reports."""
import datetime as dt
import random
from decimal import Decimal

import pandas as pd
import pytest

import crmkit
from crmkit_deals import api, context

pytestmark = pytest.mark.plugins("deals")

UTC = dt.timezone.utc
STAGES = ["Prospecting", "Engaging", "Proposal"]
REASONS = ["Price", "Competitor", "No budget"]
AS_OF = "2017-06-01T00:00:00+00:00"
CUT = pd.Timestamp(AS_OF)


@pytest.fixture(autouse=True)
def utc_operator(monkeypatch):
    monkeypatch.setenv("CRMKIT_TZ", "UTC")


def generate(seed=19, count=120):
    r = random.Random(seed)
    offices = ["Central", "East", "West"]
    departments = [{"name": o, "parent": ""} for o in offices]
    managers, agents = [], []
    for i in range(6):
        team = f"Team {i + 1}"
        departments.append({"name": team, "parent": offices[i % 3]})
        managers.append({"login": f"manager{i + 1}", "name": f"Manager {i + 1}", "department": team,
                         "roles": "manager"})
    for i in range(30):
        agents.append({"login": f"agent{i + 1:02d}", "name": f"Agent {i + 1:02d}",
                       "department": managers[i % 6]["department"], "roles": "manager"})
    parents = [{"code": f"H-{i}", "name": f"Holding {i}", "head": ""} for i in range(1, 5)]
    accounts = [{"code": f"A-{i:02d}", "name": f"Account {i:02d}", "head": parents[i % 4]["code"] if i % 3 else ""}
                for i in range(1, 16)]
    products = [{"code": f"P{i}", "name": f"Product {i}", "unit": "pcs"} for i in range(1, 8)]
    price = {p["code"]: 100 * (i + 1) for i, p in enumerate(products)}
    deals, demand = [], []
    for i in range(count):
        status = ["won", "lost", "in_work"][i % 3] if i % 7 else "in_work"
        start = dt.date(2016, 1, 1) + dt.timedelta(days=r.randrange(0, 330))
        stage = r.randrange(0, 3)
        entered = (dt.datetime.combine(start, dt.time(9)) + dt.timedelta(days=r.randrange(1, 20),
                                                                        hours=r.randrange(8))) if stage else None
        closed = ((entered or dt.datetime.combine(start, dt.time(9))) + dt.timedelta(days=r.randrange(1, 60), hours=3)
                  if status != "in_work" else None)
        product, quantity = r.choice(products)["code"], r.randrange(1, 5)
        code = f"OP-{i + 1:04d}"
        deals.append({
            "code": code, "name": f"Opportunity {i + 1}", "client": r.choice(accounts + parents)["code"],
            "responsible": agents[r.randrange(30)]["login"], "kind": "Pipeline", "stage": STAGES[stage],
            "status": status, "start_date": start.isoformat(),
            "stage_entered_at": entered.isoformat(" ", "minutes") if entered else "",
            "closed_at": closed.isoformat(" ", "minutes") if closed else "",
            "end_date": (start + dt.timedelta(days=r.randrange(30, 200))).isoformat() if i % 5 else "",
            "loss_reason": r.choice(REASONS) if status == "lost" else "",
            "potential": f"{price[product] * quantity}.00", "currency": "USD",
            "probability": {"won": 100, "lost": 0}.get(status, r.choice([10, 30, 50, 70]))})
        demand.append({"deal": code, "product": product, "quantity": quantity, "price": price[product]})
    frame = pd.DataFrame
    return {"core.department": frame(departments), "core.user": frame(managers + agents),
            "parents": frame(parents), "core.partner": frame(accounts), "core.product": frame(products),
            "deals.stage": frame({"name": STAGES}),
            "deals.kind": frame({"name": ["Pipeline"], "process": ["manual"]}),
            "deals.kind_stage": frame({"kind": ["Pipeline"] * 3, "stage": STAGES, "sequence": [1, 2, 3]}),
            "deals.loss_reason": frame({"name": REASONS}), "deals.deal": frame(deals),
            "deals.demand": frame(demand)}


def load_by_import(crm, base, folder):
    """One CSV a table, each through ``crm.import_file`` (references by code and name)."""
    departments = base["core.department"]
    steps = [("core.department", departments[departments.parent == ""]),
             ("core.department", departments[departments.parent != ""]), ("core.user", base["core.user"]),
             ("core.partner", base["parents"]), ("core.partner", base["core.partner"])]
    steps += [(e, base[e]) for e in ("core.product", "deals.stage", "deals.kind", "deals.kind_stage",
                                     "deals.loss_reason", "deals.deal", "deals.demand")]
    for n, (entity, frame) in enumerate(steps):
        path = folder / f"{n:02d}-{entity}.csv"
        frame.to_csv(path, index=False)
        summary = crm.import_file(entity, path)
        assert (summary["written"], summary["rejected"], summary["defaults"]) == (len(frame), 0, {}), entity


def moment(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


def load_by_api(crm, base):
    """The same base made record by record: creates, moves, wins and losses at the file's moments."""
    ids: dict = {}

    def ref(entity, key):
        return ids[(entity, key)] if key else None
    for row in base["core.department"].to_dict("records"):
        ids[("dep", row["name"])] = crm.create("core.department", {"name": row["name"],
                                                                   "parent": ref("dep", row["parent"])}).id
    for row in base["core.user"].to_dict("records"):
        ids[("user", row["login"])] = crm.create("core.user", {**row, "department": ref("dep", row["department"])}).id
    for row in [*base["parents"].to_dict("records"), *base["core.partner"].to_dict("records")]:
        ids[("partner", row["code"])] = crm.create("core.partner", {**row, "head": ref("partner", row["head"])}).id
    for row in base["core.product"].to_dict("records"):
        ids[("product", row["code"])] = crm.create("core.product", row).id
    for name in STAGES:
        ids[("stage", name)] = crm.create("deals.stage", {"name": name}).id
    kind = crm.create("deals.kind", {"name": "Pipeline", "process": "manual"}).id
    for seq, name in enumerate(STAGES, start=1):
        crm.create("deals.kind_stage", {"kind": kind, "stage": ids[("stage", name)], "sequence": seq})
    for name in REASONS:
        ids[("reason", name)] = crm.create("deals.loss_reason", {"name": name}).id
    for row in base["deals.deal"].to_dict("records"):
        start = dt.date.fromisoformat(row["start_date"])
        deal = api.create(crm, {
            "code": row["code"], "name": row["name"], "client": ids[("partner", row["client"])],
            "responsible": ids[("user", row["responsible"])], "kind": kind, "start_date": start,
            "end_date": dt.date.fromisoformat(row["end_date"]) if row["end_date"] else None,
            "potential": Decimal(row["potential"]), "currency": "USD", "probability": row["probability"]},
            at=dt.datetime(start.year, start.month, start.day, tzinfo=UTC))
        if row["stage"] != STAGES[0]:
            with crm.transaction(), context.acting(at=moment(row["stage_entered_at"]), process=True):
                crm.update("deals.deal", deal.id, {"stage": ids[("stage", row["stage"])]})
        if row["status"] == "won":
            api.win(crm, deal.id, at=moment(row["closed_at"]))
        elif row["status"] == "lost":
            api.lose(crm, deal.id, ids[("reason", row["loss_reason"])], at=moment(row["closed_at"]))
        if row["probability"] != crm.get("deals.deal", deal.id).probability:
            crm.update("deals.deal", deal.id, {"probability": row["probability"]})
    for row in base["deals.demand"].to_dict("records"):
        deal = crm.get("deals.deal", row["deal"])
        crm.create("deals.demand", {"deal": deal.id, "product": ids[("product", row["product"])],
                                    "quantity": row["quantity"], "price": Decimal(row["price"])})


# -- the figures, computed from the source files alone ----------------------

def source(base):
    d = base["deals.deal"].copy()
    users = base["core.user"].set_index("login")
    teams = base["core.department"].set_index("name")["parent"]
    heads = pd.concat([base["parents"], base["core.partner"]]).set_index("code")
    names = heads["name"]
    d["who"] = d["responsible"].map(users["name"])
    d["team"] = d["responsible"].map(users["department"])
    d["office"] = d["team"].map(teams)
    d["holding"] = d["client"].map(lambda c: names[heads.loc[c, "head"] or c])
    d["client_name"] = d["client"].map(names)
    d["pot"] = d["potential"].astype(float)
    d["stage_no"] = d["stage"].map(STAGES.index)
    d["start"] = pd.to_datetime(d["start_date"], utc=True)
    d["entered"] = pd.to_datetime(d["stage_entered_at"].replace("", None), utc=True)
    d["closed"] = pd.to_datetime(d["closed_at"].replace("", None), utc=True)
    d["cycle"] = (d["closed"] - d["start"]).dt.total_seconds() / 86400
    d["close_month"] = d["closed"].dt.strftime("%Y-%m")
    return d


def near(got, want):
    if want is None or want != want:
        return got is None
    return got is not None and abs(float(got) - float(want)) < 0.0051


def same_rows(frame, expected, columns):
    got = [tuple(r) for r in frame[columns].itertuples(index=False)]
    assert len(got) == len(expected), (got, expected)
    for g, e in zip(got, expected):
        for a, b in zip(g, e):
            assert (near(a, b) if isinstance(b, float) or b is None else a == b), (a, b, g, e)


def manager_rows(d, by):
    out = []
    for key, g in sorted(d.groupby(by), key=lambda kv: kv[0]):
        out.append((key, *manager_figures(g)))
    return out + [("Total", *manager_figures(d))]


def manager_figures(g):
    won, lost, work = (g[g.status == s] for s in ("won", "lost", "in_work"))
    closed = g[g.status != "in_work"]
    return (len(work), len(won), len(lost), 100 * len(won) / len(closed) if len(closed) else None,
            work.pot.sum(), won.pot.sum(), lost.pot.sum(), closed.cycle.mean() if len(closed) else None,
            won.cycle.mean() if len(won) else None, won.pot.mean() if len(won) else None)


MANAGER_COLUMNS = ["Deals in work", "Deals won", "Deals lost", "Win rate, %", "Potential in work", "Won potential",
                   "Lost potential", "Average cycle, days", "Average won cycle, days", "Average won deal"]


def check_against_source(crm, base):
    d = source(base)
    by_status = crm.report("deals.efficiency", as_of=AS_OF)["By status"]
    same_rows(by_status, [(label, int((d.status == s).sum()), d.pot[d.status == s].sum())
                          for label, s in (("In work", "in_work"), ("Won", "won"), ("Lost", "lost"))],
              ["Status", "Number of deals", "Potential sales amount"])

    lost = d[d.status == "lost"]
    same_rows(crm.report("deals.loss_reasons", as_of=AS_OF).frame,
              [(r, int((lost.loss_reason == r).sum()), lost.pot[lost.loss_reason == r].sum()) for r in sorted(REASONS)]
              + [("Total", len(lost), lost.pot.sum())],
              ["Loss reason", "Lost deals count", "Potential sales amount"])

    managers = crm.report("deals.managers").frame
    same_rows(managers, manager_rows(d, "who"), ["Responsible", *MANAGER_COLUMNS])
    same_rows(crm.report("deals.managers", group_by="department").frame, manager_rows(d, "team"),
              ["Department", *MANAGER_COLUMNS])
    same_rows(crm.report("deals.managers", group_by="holding").frame, manager_rows(d, "holding"),
              ["Holding", *MANAGER_COLUMNS])
    office = crm.report("deals.managers", department="East").frame
    same_rows(office, manager_rows(d[d.office == "East"], "who"), ["Responsible", *MANAGER_COLUMNS])
    closed = d[d.status != "in_work"]
    by_close = crm.report("deals.managers", date_basis="close", group_by="month").frame
    work = d[d.status == "in_work"]
    expected = [("(no date)", *manager_figures(work))] + manager_rows(closed, "close_month")[:-1] \
        + [("Total", *manager_figures(d))]
    same_rows(by_close, expected, ["Month", *MANAGER_COLUMNS])

    forecast = crm.report("deals.forecast")
    work = work.assign(month=work.end_date.str[:7].replace("", "(no date)"),
                       weighted=work.pot * work.probability / 100)
    months = sorted(work.month.unique(), key=lambda m: (m != "(no date)", m))
    same_rows(forecast["By close month"],
              [(m, int((work.month == m).sum()), work.pot[work.month == m].sum(), work.weighted[work.month == m].sum(),
                100 * work.weighted[work.month == m].sum() / work.pot[work.month == m].sum()) for m in months],
              ["Month", "Number of deals", "Potential sales amount", "Weighted potential", "Average probability, %"])
    assert sorted(forecast["Deals without a close date"]["Code"]) == sorted(work.code[work.end_date == ""])

    funnel = crm.report("deals.funnel", as_of=AS_OF)["Sales funnel"]
    expected = []
    for k, stage in enumerate(STAGES):
        passed = d if k == 0 else d[d.stage_no == k]     # every deal passes the first stage, then its own
        since = passed.start if k == 0 else passed.entered
        until = passed.entered.where(passed.entered.notna(), passed.closed) if k == 0 else passed.closed
        # a stay's days are kept to the hundredth (half up); a stage still open counts in no duration
        seconds = (until - since).dt.total_seconds()
        days = ((seconds * 100 + 43200) // 86400) / 100
        row = [stage]
        for s in ("in_work", "won", "lost"):
            row += [int((passed.status == s).sum()), passed.pot[passed.status == s].sum()]
        row += [days.mean(), days[passed.status == "won"].mean(), days[passed.status == "lost"].mean()]
        expected.append(tuple(row))
    same_rows(funnel, expected, list(funnel.columns))

    demand = base["deals.demand"].merge(d[["code", "status"]], left_on="deal", right_on="code")
    demand["amount"] = demand.quantity * demand.price
    names = base["core.product"].set_index("code")["name"]
    rows = []
    for code, g in demand.groupby("product"):
        part = {s: g[g.status == s] for s in ("won", "lost", "in_work")}
        satisfied, unsatisfied = part["won"].amount.sum(), part["lost"].amount.sum()
        rows.append((names[code], len(g), int(g.quantity.sum()), float(g.amount.sum()),
                     int(part["won"].quantity.sum()), float(satisfied), int(part["lost"].quantity.sum()),
                     float(unsatisfied), int(part["in_work"].quantity.sum()), float(part["in_work"].amount.sum()),
                     100 * satisfied / (satisfied + unsatisfied)))
    frame = crm.report("deals.primary_demand")["By product"]
    same_rows(frame, rows, list(frame.columns))


REPORTS = [("deals.funnel", {"as_of": AS_OF}), ("deals.funnel", {"as_of": AS_OF, "group_by": "department"}),
           ("deals.efficiency", {"as_of": AS_OF}), ("deals.loss_reasons", {"as_of": AS_OF}),
           ("deals.loss_reasons", {"as_of": AS_OF, "group_by": "holding"}), ("deals.forecast", {}),
           ("deals.forecast", {"group_by": "top_department"}), ("deals.primary_demand", {}), ("deals.managers", {}),
           ("deals.managers", {"group_by": "top_department,responsible"}),
           ("deals.managers", {"date_basis": "close", "group_by": "month"})]


def every_report(crm):
    out = {}
    for report, params in REPORTS:
        result = crm.report(report, **params)
        sections = result.sections if hasattr(result, "sections") else {"": result.frame}
        out[(report, tuple(sorted(params.items())))] = {
            name: frame.astype(object).where(frame.notna(), None).values.tolist() for name, frame in sections.items()}
    return out


def test_a_migrated_base_gives_the_figures_of_its_source_files(crm, tmp_path):
    base = generate()
    load_by_import(crm, base, tmp_path)
    check_against_source(crm, base)
    by_import = every_report(crm)
    again = crm.import_file("deals.deal", tmp_path / "10-deals.deal.csv", mode="upsert")   # the same file again
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, len(base["deals.deal"]))
    assert every_report(crm) == by_import
    made = crmkit.open(f"sqlite:///{tmp_path / 'by-api.db'}", plugins=["deals"])
    try:
        load_by_api(made, base)
        check_against_source(made, base)
        assert every_report(made) == by_import
    finally:
        made.close()
