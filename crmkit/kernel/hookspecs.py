"""Every hook crmkit calls. Plugins implement them with ``@crmkit.hookimpl``.

Registration hooks run once when a ``Crm`` is built and receive a
``register`` callback made by the kernel: a duplicate name fails at start-up
naming both plugins. Event hooks are past tense and broadcast to every
plugin; they run inside the write's transaction, so a handler that raises
undoes the write.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crmkit")


@hookspec
def crmkit_add_hookspecs(pm):
    """Add a plugin's own hook specs, for other plugins to implement.

    :param pm: the ``pluggy.PluginManager``; call ``pm.add_hookspecs(module)``.
    """


@hookspec
def crmkit_register_entities(register):
    """Register the plugin's entities.

    :param register: ``register(EntitySpec)``.
    """


@hookspec
def crmkit_register_subject_types(register):
    """Declare entities (of any plugin) that can be the subject (предмет) of
    interactions, tasks and notes, beyond those with ``EntitySpec.subject``.

    :param register: ``register(entity_name)``.
    """


@hookspec
def crmkit_register_reports(register):
    """Register the plugin's reports.

    :param register: ``register(ReportSpec)``.
    """


@hookspec
def crmkit_register_actions(register):
    """Register the plugin's actions (win a deal, send a mailing ...), run
    by ``crm.act`` from the CLI, the HTTP API and the web pages alike.

    :param register: ``register(ActionSpec)``.
    """


@hookspec
def crmkit_register_channels(register):
    """Register outbox delivery channels (email, sms ...).

    :param register: ``register(ChannelSpec)``.
    """


@hookspec
def crmkit_register_template_parameters(register):
    """Register named template parameters (``#ПредставлениеПартнера#``).

    :param register: ``register(TemplateParameter)``.
    """


@hookspec
def crmkit_register_roles(register):
    """Register roles, or add grants to existing ones.

    :param register: ``register(RoleSpec)``; a role registered twice has
        its grants merged, so a plugin can extend ``manager``.
    """


@hookspec
def crmkit_register_segment_fields(register):
    """Offer fields that segment rules may use (``abc_class`` ...).

    :param register: ``register(SegmentField)``.
    """


@hookspec
def crmkit_register_commands(cli):
    """Add the plugin's click group to the ``crmkit`` command.

    :param cli: the root ``click.Group``; add one group named after the plugin.
    """


@hookspec
def crmkit_validate_record(crm, entity, data, record):
    """Check a write beyond its schema (cross-field and business rules).

    :param crm: the acting ``Crm``.
    :param entity: the entity name.
    :param data: the validated, coerced values being written.
    :param record: the stored record for an update, None for a create.
    :return: a dict ``{field: message or [messages]}`` of problems, or None.
    """


@hookspec
def crmkit_entity_saved(crm, entity, record, created, changes):
    """A record was created or updated (a deletion mark is an update).

    :param crm: the acting ``Crm``.
    :param entity: the entity name.
    :param record: the saved peewee record.
    :param created: True for a create.
    :param changes: ``{field: (old, new)}`` of what changed.
    """


@hookspec
def crmkit_entity_deleted(crm, entity, record):
    """A record was deleted for good.

    :param crm: the acting ``Crm``.
    :param entity: the entity name.
    :param record: the record as it was.
    """


@hookspec
def crmkit_load_demo(crm):
    """Load the plugin's part of the demo base; called in ``requires`` order.

    :param crm: a ``Crm`` acting as the system user.
    :return: ids of reports worth printing in the terminal after the load
        (``[("deals.efficiency", {"date_from": "2015-01-01"}), ...]`` pairs
        or plain ids), or None.
    """


@hookspec(firstresult=True)
def crmkit_describe_subject(crm, entity, record):
    """Describe a subject record for lists and templates.

    Stops at the first non-None result; the entity's ``display`` is used
    when no plugin answers.

    :return: a string, or None to let others answer.
    """


@hookspec(firstresult=True)
def crmkit_load_user(login):
    """Find the acting user by login. Stops at the first non-None result.

    :param login: the login given to ``crmkit.open`` or ``--user``.
    :return: an ``Actor`` (id, login, name, roles, access groups), or None.
    """


@hookspec
def crmkit_calendar_entries(crm):
    """Entries of the acting user's calendar feed (``crmkit.core.calendar``).

    Called each time a user's iCalendar feed is built. Read through
    ``crm.query`` so that the feed holds only what the acting user may see,
    and only what that user is responsible for.

    :param crm: a ``Crm`` acting as the feed's user.
    :return: an iterable of ``crmkit.core.calendar.entry(...)`` dicts
        (entity, id, summary, start, end, description, changed_at,
        created_at), or None.
    """


@hookspec(firstresult=True)
def crmkit_outbox_skip_reason(crm, message):
    """Should this message be skipped now, at send time (opt-out, consent)?

    Called for every message just before delivery, after the kernel's own
    suppression check. Stops at the first non-None result.

    :param message: the ``OutboxMessage`` about to be delivered.
    :return: a reason string to skip it, or None to send.
    """


@hookspec
def crmkit_outbox_delivered(crm, message):
    """A message was accepted by its channel (state ``sent``)."""


@hookspec
def crmkit_outbox_failed(crm, message, error, permanent):
    """A delivery attempt failed.

    :param error: the failure text.
    :param permanent: True when the message will not be retried
        (a hard bounce, or the retry cap reached).
    """


@hookspec(firstresult=True)
def crmkit_prepare_import(crm, entity, frame, options):
    """Reshape a chunk of an import file before validation.

    For entities whose files need more than a column mapping (computed
    columns, creating missing references). Stops at the first non-None result.

    :param frame: a DataFrame of the mapped columns, strings as read.
    :param options: ``{name: value}`` given with ``--option`` / ``options=``.
    :return: the DataFrame to validate; a ``_reject`` column, where not
        empty, rejects that row with its text as the reason; other columns
        whose names start with ``_`` are carried past the schema, to
        ``crmkit_validate_frame`` and ``crmkit_import_written`` (never
        written to the table). None to pass.
    """


@hookspec
def crmkit_validate_frame(crm, entity, frame):
    """Check a validated import chunk beyond its schema, vectorised.

    The plugin answering for an entity may complete ``frame`` in place
    (values derived from carried ``_`` columns, defaults); where it applies
    a default the file did not give, it says so in a ``_default`` column
    (text, ``; ``-separated), counted in the import's summary.

    The rows an import creates and the stored rows it updates
    (``--mode update|upsert``) come in separate frames; an update's frame
    has only the file's columns and an ``_id`` column, the stored row's id
    (a plugin that cannot check an update answers with errors for its rows;
    None lets the kernel run ``crmkit_validate_record`` row by row with the
    stored record, as ``update`` does).

    :param frame: the coerced DataFrame about to be written.
    :return: ``{row position: {field: [messages]}}`` or None.
    """


@hookspec
def crmkit_import_written(crm, entity, frame, options):
    """A chunk of an import was written, inside the import's transaction.

    For a plugin that writes its own part of an import in bulk (the deals
    plugin writes the stage history of imported deals): vectorised, one
    bulk insert per chunk (``crm.insert_frame``), never a record at a time.
    A raise undoes the whole import.

    Called for the rows an import inserted; the stored rows an update
    import changed are written with their history (a ``kernel_change`` row
    per changed field) and counted in ``crmkit_entity_imported``.

    :param frame: the written rows as stored, with their ``id`` and the
        carried ``_`` columns.
    :param options: ``{name: value}`` given with ``--option`` / ``options=``.
    """


@hookspec
def crmkit_entity_imported(crm, entity, count, ids, changes):
    """Rows of ``entity`` were bulk-imported (no per-record saved events).

    :param count: rows written (inserted, and stored rows an update changed).
    :param ids: ``(first, last)``: the span of the ids written, inserted or
        updated, or None if unknown.
    :param changes: what an update or upsert changed in stored rows,
        ``{field: [(id, old, new), ...]}`` (values as compared: references
        as ids, moments as ISO text; additional attributes by their names);
        empty for an insert. The old values are gone from the table by now:
        a plugin keeping data derived from where a row was (a contact's
        old partner) finds it here.
    """


@hookspec
def crmkit_erase_personal_data(crm, partner_id, contact_ids):
    """Anonymise what the plugin stores about a person (right to erasure).

    Called inside the erasure's transaction. Keep amounts, dates and
    classes (aggregates must still compute); blank names, texts, addresses.

    :param partner_id: the individual partner erased, or None.
    :param contact_ids: contact persons erased (the partner's, or one).
    """


@hookspec
def crmkit_backup_files(crm, execute):
    """Name the files outside the database that a backup must carry (a
    plugin that keeps contents on disk).

    Called by ``crmkit db backup`` while its snapshot is open:
    ``execute(sql) -> rows`` reads that snapshot, so the files named are
    those its rows refer to. The backup copies each into its tar with its
    SHA-256 in the manifest; one gone before it is copied fails the backup
    (take it again).

    :return: ``[(name, path)]``: ``name`` relative, under the plugin's own
        name (``files/ab/cd/<sha256>``); ``path`` the file to copy. Or None.
    """


@hookspec
def crmkit_restore_files(files):
    """Put back the files a backup carries, before its data replaces the
    database's.

    Called by ``crmkit db restore`` once the backup is verified (every
    file's SHA-256 is the manifest's). Raise ``CrmError`` to refuse the
    restore (the database is not touched): a plugin that cannot place its
    files (no folder configured).

    :param files: ``{name: path of a checked scratch copy}``, every file of
        the backup; take those under the plugin's own name.
    :return: the names taken (a backup with a file no plugin takes is refused).
    """


@hookspec
def crmkit_database_restored(execute):
    """The restore has replaced the data: drop what the restored rows no
    longer name (contents on disk of files the backup did not have).

    :param execute: ``execute(sql) -> rows`` reads the restored database.
    """


@hookspec
def crmkit_collect_personal_data(crm, partner_id, contact_ids):
    """Gather what the plugin stores about a person (subject access request).

    :return: ``{section name: [row dicts]}`` or None.
    """


@hookspec
def crmkit_register_duplicate_rules(register):
    """Register rules that find duplicate records (same INN, same phone,
    similar names ...).

    :param register: ``register(DuplicateRule)``.
    """


@hookspec
def crmkit_merge_records(crm, entity, survivor, merged):
    """Move what the plugin stores about ``merged`` to ``survivor``.

    Called inside the merge's transaction, before the kernel moves every
    remaining foreign key and subject reference (``<x>_type``/``<x>_id``)
    generically. Answer for the plugin's own tables where the generic move
    would not do: rows under a unique key that both records have (keep one,
    add up amounts), and references that are plain integers.

    :param survivor: the record that stays.
    :param merged: the record merged into it (marked for deletion after).
    """


@hookspec
def crmkit_records_merged(crm, entity, survivor, merged):
    """``merged`` was merged into ``survivor`` (inside the transaction)."""


@hookspec(firstresult=True)
def crmkit_currency_rates(crm, source, day, content):
    """Give a day's exchange rates from the provider named ``source``
    (``cbr`` ...), for ``crmkit rates load`` and the ``core.load_rates``
    action. Stops at the first non-None result: answer only for your own
    source.

    :param crm: the acting ``Crm``.
    :param source: the provider asked for.
    :param day: the ``datetime.date`` whose rates are wanted.
    :param content: the provider's document as text when the user gave it
        (a stored file); None to fetch it yourself (bound the wait).
    :return: a list of ``{"currency", "rate", "multiplier", "date"}`` dicts
        (``date`` when the provider's date differs from ``day``; ``rate``
        a ``Decimal`` or its text) for ``multiplier`` units of the currency
        in the provider's base currency, or None when ``source`` is not
        yours. Raise ``crmkit.ValidationError`` for a document that cannot
        be read; the kernel refuses rates of 0 or below and unknown codes.
    """
