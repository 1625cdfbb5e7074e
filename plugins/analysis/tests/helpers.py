"""Small builders shared by the analysis tests."""
import datetime as dt

MONTHLY = {"abc_period": "month", "abc_periods": 3, "xyz_period": "month", "xyz_periods": 3,
           "xyz_subperiod": "month"}


def partner(crm, code, **extra):
    return crm.create("core.partner", {"code": code, "name": f"Client {code}", **extra})


def product(crm, code):
    return crm.create("core.product", {"code": code, "name": f"Product {code}"})


def sale(crm, partner_rec, product_rec, day, revenue, quantity=None, document=None, **extra):
    quantity = quantity if quantity is not None else (1 if revenue >= 0 else -1)
    return crm.create("analysis.sale", {
        "document": document or f"D-{partner_rec.code}-{day}-{revenue}", "date": dt.date.fromisoformat(day),
        "partner": partner_rec.id, "product": product_rec.id, "quantity": quantity, "revenue": revenue, **extra})


def classes(crm, run_id, model):
    field = "partner" if "client" in model._meta.table_name else "product"
    return {getattr(r, field).code: (r.abc_class, r.xyz_class) for r in model.select().where(model.run == run_id)}
