"""The frozen descriptions plugins hand to the kernel through ``register``."""
from __future__ import annotations

from typing import Any, Callable

import attrs


@attrs.frozen
class PluginMeta:
    """What a plugin says about itself, as ``PLUGIN`` in its package.

    :param name: short name, also the entry point name and table prefix.
    :param requires: plugins that must be loaded first (their tables,
        entities and hooks are used by this one).
    :param after: plugins used when installed: not required, but loaded
        (and migrated, and given the demo) before this one when present.
    :param version: shown by ``crmkit plugins``; defaults to the distribution's.
    :param hooks: dotted module holding the ``@hookimpl`` functions;
        defaults to ``<package>.hooks``.
    :param migrations: folder of ``0001_*.py`` migrations; defaults to
        ``<package>/migrations`` when it exists.
    :param title: what people call the plugin's part of the work ("Sales"),
        in English, translated in the plugin's catalogue: the report book
        and the web's report list group reports under it.
    """

    name: str
    requires: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    version: str | None = None
    description: str = ""
    hooks: str | None = None
    migrations: str | None = None
    title: str = ""


@attrs.frozen
class EntitySpec:
    """A kind of record: its model, its input schema and how to show it.

    :param name: ``<plugin>.<entity>``, e.g. ``core.partner``.
    :param model: the peewee model.
    :param schema: cerberus rules per field; merged over rules derived
        from the model (type, required, maxlength, allowed).
    :param read_only: fields no payload may set (ids, times, authors,
        computed values); ``id``, ``created_at``, ``changed_at`` always are.
    :param admin_only: fields only an administrator may set.
    :param admin_writes: only administrators create, change or delete its
        records, whatever the roles grant (reference data every figure
        depends on: exchange rates, sales targets).
    :param label: English name; other languages come from catalogues.
    :param subject: whether it can be the subject of interactions, tasks, notes.
    :param display: field name or ``callable(record) -> str``.
    :param partner_path: field through which a record belongs to a
        partner (``"partner"``, ``"client"``, or a reference to another
        entity that does, like ``"deal"``); a tuple when a record may hang
        off several (``("partner", "contact")``); ``"self"`` for partners.
        Drives row-level access.
    :param lookup: field that identifies a record in files (``"code"``).
    :param code_prefix: auto-number ``code`` as ``<prefix><8 digits>``.
    :param list_fields: columns shown by list commands and exports.
    :param order_by: default sort fields.
    :param row_filter: extra visibility rule, see below.
    :param whole_base: fields computed over every partner (a share of the
        whole base, a count of all items): withheld (read as null) from
        users whose view is restricted, because their value depends on rows
        those users may not see.
    :param import_group: column whose rows belong together in an import
        (a deal's stage history rows): the file's chunks are cut between
        groups, never inside one, so a plugin's checks see each group whole.
    """

    name: str
    model: Any
    schema: dict = attrs.field(factory=dict)
    read_only: tuple[str, ...] = ()
    admin_only: tuple[str, ...] = ()
    admin_writes: bool = False
    label: str = ""
    field_labels: dict = attrs.field(factory=dict)
    subject: bool = False
    display: Any = "name"
    partner_path: str | None = None
    lookup: str | None = None
    code_prefix: str | None = None
    code_field: str = "code"
    list_fields: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("id",)
    row_filter: Any = None
    whole_base: tuple[str, ...] = ()
    import_group: str | None = None

    # row_filter: optional ``row_filter(actor, model) -> expression`` that
    # narrows what non-administrators see beyond the partner rule
    # (private notes, own reminders); ``row_filter(actor, model, view)``
    # also gets ``view.ids(entity)``, a select of the keys of ``entity`` the
    # actor sees (None: all), and ``view.registry``, to follow a relation
    # that is not a reference (a consent's address to its contact info).
    # Returning None adds no condition.

    @property
    def plugin(self) -> str:
        return self.name.split(".", 1)[0]


@attrs.frozen
class ActionSpec:
    """Something a user does beyond create/update/delete: win a deal, send a
    mailing, resolve a claim. Declared once; the CLI, the HTTP API
    (``POST /api/v1/<entity>/<id>/actions/<name>``) and the web pages all
    reach it through ``crm.act``.

    :param name: ``<plugin>.<action>``, e.g. ``deals.win``.
    :param entity: the entity it acts on (``deals.deal``), or None for an
        action on no entity (``kernel.deliver_outbox``).
    :param run: ``run(crm, record, **params)``; ``record`` is the visible
        record the action is about, or None when ``on_record`` is False.
        Returns a record, a dict of plain values, or None.
    :param params: cerberus schema of the parameters (strings are coerced,
        unknown names rejected).
    :param verb: what the acting user's roles must grant on ``entity``
        (``read``, ``create``, ``update``, ``delete``, ``merge``).
    :param on_record: False for an action on the entity as a whole
        (``POST /api/v1/<entity>/actions/<name>``, record None).
    :param transaction: False for actions that commit their own steps
        (an outbox delivery run commits each message's lease and result).
    :param admin_only: only administrators may run it.
    """

    name: str
    entity: str | None
    run: Callable
    params: dict = attrs.field(factory=dict)
    verb: str = "update"
    title: str = ""
    description: str = ""
    on_record: bool = True
    transaction: bool = True
    admin_only: bool = False

    @property
    def id(self) -> str:
        return self.name

    @property
    def schema(self) -> dict:
        """The parameters' schema, as ``check_params`` reads it of reports too."""
        return self.params

    @property
    def plugin(self) -> str:
        return self.name.split(".", 1)[0]


@attrs.frozen
class ChartSpec:
    """A chart of one report section: ``bar``, ``funnel`` or ``heatmap``.

    ``x`` names the label column, ``y`` the value column(s); for a heat map
    ``x`` and ``y`` are the axes and ``value`` the cell value.
    """

    kind: str
    section: str = "main"
    x: str = ""
    y: Any = ""
    value: str = ""
    title: str = ""


@attrs.frozen
class ReportSpec:
    """A report: parameters in, named DataFrames out, rendered by the kernel.

    :param id: ``<plugin>.<report>``.
    :param build: ``build(crm, **params)`` returning a DataFrame or a dict
        of section name -> DataFrame; or a ``"module:function"`` string,
        imported only when the report runs (keeps pandas out of start-up).
    :param params: cerberus schema of the parameters (strings coerced).
    :param charts: ChartSpec hints for the HTML page.
    :param template: optional jinja2 template for the HTML page.
    :param page_size: for a report listing many rows: the rows of its first
        screen. The kernel then adds the parameters ``page`` (from 1) and
        ``page_size`` (0: every row), passes both to ``build``, and exports
        (CSV, XLSX, JSON) ask for every row; ``build`` pages its query with
        ``crm.paged``.
    :param question: the question the report answers, as the presentation's
        list of reports asks it ("Which reasons made us lose deals?"); the
        report book's index and the web's report list show it.
    :param labels: what a person reads for each name the build's frames use
        (column, section or parameter name -> English label, translated in
        the plugin's catalogue), so pages never show ``avg_days``. A label
        ``(group, label)`` puts the column under a group header spanning
        its neighbours of the same group ("In work" over count and
        potential), as the presentation's report forms have them.
    :param tree_level: the column holding each row's depth in a grouping
        tree (0 = top): pages indent the row's first column by it, set group
        rows in bold and do not show the column itself.
    """

    id: str
    title: str
    build: Any
    params: dict = attrs.field(factory=dict)
    charts: tuple = ()
    description: str = ""
    template: str | None = None
    page_size: int | None = None
    question: str = ""
    labels: dict = attrs.field(factory=dict)
    tree_level: str = ""

    @property
    def schema(self) -> dict:
        """The parameters with the paging ones of a paged report."""
        if not self.page_size:
            return self.params
        return {**self.params, "page": {"type": "integer", "coerce": "int", "min": 1, "default": 1},
                "page_size": {"type": "integer", "coerce": "int", "min": 0, "default": self.page_size}}

    @property
    def plugin(self) -> str:
        return self.id.split(".", 1)[0]


@attrs.frozen
class ChannelSpec:
    """A delivery channel for outbox messages (``email``, ``sms`` ...).

    :param deliver: ``deliver(crm, message) -> None`` sends one message or
        raises ``TemporaryFailure`` / ``PermanentFailure``.
    :param address_kind: the contact-information kind it sends to.
    :param session: optional ``session(crm)`` context manager opened once per
        delivery run before the channel's first message and closed after the
        run (one SMTP connection for a whole run).
    """

    name: str
    deliver: Callable
    address_kind: str = ""
    description: str = ""
    session: Callable | None = None


@attrs.frozen
class TemplateParameter:
    """A named value for templates, e.g. ``ПредставлениеПартнера``.

    :param compute: ``compute(crm, context) -> value``; ``context`` holds the
        objects a message is about (``partner``, ``contact``, ``record`` ...).
    :param entity: the entity it applies to, or None for all.
    """

    name: str
    compute: Callable
    entity: str | None = None
    description: str = ""


@attrs.frozen
class RoleSpec:
    """A role: verbs it grants per entity or report pattern.

    ``grants`` maps a pattern (``"core.*"``, ``"deals.deal"``, ``"*"``) to a
    string of verbs: ``r`` read, ``c`` create, ``u`` update, ``d`` delete.
    """

    name: str
    grants: dict
    label: str = ""


@attrs.frozen
class SegmentField:
    """A field segment rules may use beyond the model's own columns.

    ``expression(model)`` returns a peewee expression of the value for each
    row of ``model`` (a subquery is fine).

    ``view_expression(crm, model)``, for a value computed over the whole
    base (a class that ranks a client among all clients), returns the value
    as the acting user's view has it. A segment whose rule uses such a field
    ranks partners company-wide: its stored membership is the
    administrator's, and a user who does not see every partner gets its
    members evaluated live over their view instead.
    """

    kind: str
    name: str
    expression: Callable
    type: str = "string"
    view_expression: Callable | None = None


@attrs.frozen
class DuplicateRule:
    """A way two records of ``entity`` may be one client spelt twice.

    :param entity: the entity whose records are matched (``core.partner``).
    :param name: the rule's name within the entity (``inn``, ``phone``, ``name``).
    :param keys: ``keys(crm, ids) -> [(id, key)]`` (``(id, key, text)`` for a
        fuzzy rule): the keys of the records ``ids`` (all when None), read
        without access checks (they feed the key index). Called on every
        save of a record the keys come from: keep it to plain queries.
    :param probe: ``probe(crm, data) -> [(key, text)]``: the keys of a record
        about to be written, from its field values (the same normalisation).
    :param fuzzy: records sharing a key form a block; pairs within a block
        are candidates when their ``text`` similarity reaches ``threshold``.
        Without it, sharing a key is enough.
    :param mode: the default check on create and import: ``warn`` lists the
        candidates, ``strict`` refuses the write, ``off`` skips the rule;
        an administrator overrides it per rule.
    :param block_limit: blocks larger than this are skipped (a key shared by
        half the base, like a common word, tells nothing).
    :param accept: ``accept(text_a, text_b) -> bool``, a fuzzy rule's own
        check of a pair that reached the threshold (names whose numbers
        differ are different companies); pairs are scored with rapidfuzz's
        ``token_sort_ratio``.
    """

    entity: str
    name: str
    keys: Callable
    probe: Callable
    label: str = ""
    fuzzy: bool = False
    threshold: float = 90.0
    mode: str = "warn"
    block_limit: int = 200
    accept: Callable | None = None
