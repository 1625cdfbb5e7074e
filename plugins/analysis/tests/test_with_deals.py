"""With the deals plugin installed: deal references are checked, and the
gross-profit-by-deal report names deals, clients and states."""
import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins("analysis", "deals")


def test_deal_reference_and_gross_profit_by_deal(crm, open_crm, tmp_path):
    group = crm.create("core.access_group", {"name": "Hidden"})
    seen = crm.create("core.partner", {"code": "K1", "name": "Seen client"})
    hidden = crm.create("core.partner", {"code": "K2", "name": "Hidden client", "access_group": group.id})
    g = crm.create("core.product", {"code": "G", "name": "G"})
    d1 = crm.create("deals.deal", {"name": "TV sale", "client": seen.id, "start_date": "2015-01-01"})
    d2 = crm.create("deals.deal", {"name": "Secret", "client": hidden.id, "start_date": "2015-01-01"})
    base = {"document": "1", "date": "2015-01-10", "product": g.id, "quantity": 1}
    with pytest.raises(ValidationError) as err:
        crm.create("analysis.sale", {**base, "partner": seen.id, "revenue": 10, "deal_id": 99999})
    assert "deal_id" in err.value.errors
    crm.create("analysis.sale", {**base, "partner": seen.id, "revenue": 1000, "cost": 600, "deal_id": d1.id})
    crm.create("analysis.sale", {**base, "partner": seen.id, "revenue": 500, "cost": 100, "deal_id": d1.id})
    crm.create("analysis.sale", {**base, "partner": hidden.id, "revenue": 70, "cost": 7, "deal_id": d2.id})
    path = tmp_path / "s.csv"
    path.write_text("document,date,partner,product,quantity,revenue,deal_id\n2,2015-01-11,K1,G,1,5,99999\n",
                    encoding="utf-8")
    summary = crm.import_file("analysis.sale", str(path), skip_invalid=True)
    assert summary["rejected"] == 1 and "deal_id" in summary["errors"][1]
    frame = crm.report("analysis.deal_profit").frame.set_index("deal")
    assert frame.loc["TV sale", "gross_profit"] == 800 and frame.loc["TV sale", "margin_pct"] == pytest.approx(53.33)
    assert frame.loc["TV sale", "status"] == "in_work" and "Secret" in frame.index
    crm.create("core.user", {"login": "ann", "name": "Ann", "roles": "manager"})
    assert open_crm(user="ann").report("analysis.deal_profit").frame["deal"].tolist() == ["TV sale"]
    segment = crm.create("core.segment", {"name": "All", "kind": "partner", "method": "manual"})
    from crmkit.core.segments import add_members
    add_members(crm, segment.id, [seen.id, hidden.id])
    row = crm.report("analysis.segments").frame.set_index("segment").loc["All"]
    assert row["deals"] == 2 and row["deals in_work"] == 2 and row["revenue"] == 1570
