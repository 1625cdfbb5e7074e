"""The analysis plugin's contract with the kernel."""
from crmkit import EntitySpec, RoleSpec, SegmentField, hookimpl


CLASS_FIELDS = ("run", "as_of", "abc_class", "xyz_class", "value", "share", "cumulative_share", "cv")
HISTORY_ONLY = "classification history is written by `crmkit analysis classify`, not by hand"

def entities():
    from . import models as m  # here, not at import: the CLI starts without peewee
    return [
        EntitySpec("analysis.sale", m.Sale, label="Sales line", partner_path="partner", display="document",
                   order_by=("date", "id"),
                   schema={"currency": {"regex": r"[A-Z]{3}"}, "document": {"empty": False}},
                   list_fields=("id", "document", "date", "partner", "product", "quantity", "revenue", "cost",
                                "currency", "manager", "deal_id")),
        EntitySpec("analysis.run", m.Run, label="Classification run", display=_run_display,
                   order_by=("-as_of", "-id"), whole_base=("items",),
                   list_fields=("id", "kind", "as_of", "measure", "abc_from", "abc_to", "xyz_from", "xyz_to",
                                "items", "computed_at")),
        EntitySpec("analysis.client_class", m.ClientClass, label="Client classification", partner_path="partner",
                   display=lambda r: f"{r.abc_class}{r.xyz_class}", order_by=("-as_of", "partner"),
                   # a client's own value and CV are its own; its share and class rank it among all clients
                   whole_base=("share", "cumulative_share", "abc_class"),
                   list_fields=("id", "as_of", "partner", *CLASS_FIELDS[2:])),
        EntitySpec("analysis.product_class", m.ProductClass, label="Product classification",
                   display=lambda r: f"{r.abc_class}{r.xyz_class}", order_by=("-as_of", "product"),
                   # a product's figures sum the sales to every client
                   whole_base=("value", "share", "cumulative_share", "abc_class", "cv", "xyz_class"),
                   list_fields=("id", "as_of", "product", *CLASS_FIELDS[2:])),
    ]


def _run_display(run):
    """"Партнеры 26.10.2015": a run by its kind and date, in the user's language."""
    from crmkit import current_language, format_value, translate
    return f"{translate(run.kind)} {format_value(run.as_of, current_language())}"


@hookimpl
def crmkit_register_actions(register):
    from .actions import ACTIONS
    for spec in ACTIONS:
        register(spec)


@hookimpl
def crmkit_register_entities(register):
    for spec in entities():
        register(spec)


@hookimpl
def crmkit_register_roles(register):
    register(RoleSpec("manager", {"analysis.sale": "rcu"}))


@hookimpl
def crmkit_validate_record(crm, entity, data, record):
    if entity in ("analysis.run", "analysis.client_class", "analysis.product_class"):
        return {"_": HISTORY_ONLY}
    if entity != "analysis.sale":
        return None
    from .rules import check_sale
    return check_sale(crm, data, record)


@hookimpl
def crmkit_validate_frame(crm, entity, frame):
    if entity in ("analysis.run", "analysis.client_class", "analysis.product_class"):
        return {pos: {"_": [HISTORY_ONLY]} for pos in range(len(frame))}
    if entity != "analysis.sale":
        return None
    from .rules import check_sale_frame
    return check_sale_frame(crm, frame)


@hookimpl
def crmkit_prepare_import(crm, entity, frame, options):
    if entity != "analysis.sale":
        return None
    from .importing import prepare
    return prepare(crm, frame, options)


def _current(model, item, column):
    """The class in the latest run of its kind: a correlated subquery."""
    def expression(outer):
        from . import models as m
        R = m.Run
        latest = (R.select(R.id).where(R.kind == ("partner" if item == "partner" else "product"))
                  .order_by(R.as_of.desc(), R.id.desc()).limit(1))
        return (model.select(getattr(model, column))
                .where((getattr(model, item) == outer.id) & (model.run == latest)))
    return expression


def _in_view(kind, column):
    """The class as the acting user's view has it (see reports.view_classes)."""
    def expression(crm, outer):
        import peewee as pw
        from .reports import pick_run, view_classes
        run = pick_run(crm, kind)
        if run is None:
            return pw.Value(None)
        frame = view_classes(crm, kind, run)
        cases = [(outer.id.in_([int(i) for i in frame.loc[frame[column] == cls, "item_id"]]), cls)
                 for cls in sorted(set(frame[column].dropna()))]
        return pw.Case(None, cases, None) if cases else pw.Value(None)
    return expression


@hookimpl
def crmkit_register_segment_fields(register):
    from . import models as m
    for kind, model in (("partner", m.ClientClass), ("product", m.ProductClass)):
        register(SegmentField(kind, "abc_class", _current(model, kind, "abc_class"),
                              view_expression=_in_view(kind, "abc")))
        # a client's XYZ class is its own sales' variation; a product's sums the sales to every client
        register(SegmentField(kind, "xyz_class", _current(model, kind, "xyz_class"),
                              view_expression=_in_view(kind, "xyz") if kind == "product" else None))


@hookimpl
def crmkit_register_reports(register):
    from .specs import REPORTS
    for spec in REPORTS:
        register(spec)


@hookimpl
def crmkit_register_commands(cli):
    from crmkit.cli import add_lazy_group
    add_lazy_group(cli, "analysis", "crmkit_analysis.commands:analysis",
                   "ABC/XYZ classification of clients and products.")


@hookimpl
def crmkit_load_demo(crm):
    from .demo import load
    return load(crm)


@hookimpl(optionalhook=True)
def crmkit_register_pages(register):
    """The partner card's classification history (only when the web plugin
    is installed)."""
    from .web import register_pages
    register_pages(register)


@hookimpl
def crmkit_entity_saved(crm, entity, record, created, changes):
    if entity == "analysis.sale":   # the monthly summary, in the write's transaction
        from .summary import line_written
        line_written(crm, record, changes)


@hookimpl
def crmkit_entity_deleted(crm, entity, record):
    if entity == "analysis.sale":
        from .summary import line_deleted
        line_deleted(crm, record)


@hookimpl
def crmkit_entity_imported(crm, entity, count, ids):
    if entity == "analysis.sale":   # inside the import's transaction: a raise undoes the import
        from .summary import lines_imported
        lines_imported(crm, ids)


@hookimpl
def crmkit_records_merged(crm, entity, survivor, merged):
    if entity in ("core.partner", "core.product"):
        from .summary import after_merge
        after_merge(crm, entity, survivor, merged)


@hookimpl
def crmkit_merge_records(crm, entity, survivor, merged):
    if entity in ("core.partner", "core.product"):
        from .summary import before_merge
        before_merge(crm, entity, survivor, merged)
    # A run holds one class row per client: where both have one, the
    # survivor's takes the merged client's measure and the other goes.
    if entity != "core.partner":
        return
    from .models import ClientClass as C
    both = C.select(C.run).where(C.partner == survivor.id)
    extra = {run: value for run, value in C.select(C.run, C.value).where(
        (C.partner == merged.id) & C.run.in_(both)).tuples()}
    for run, value in extra.items():
        if value is not None:
            C.update(value=C.value + value).where((C.run == run) & (C.partner == survivor.id)).execute()
    if extra:
        C.delete().where((C.partner == merged.id) & C.run.in_(list(extra))).execute()
