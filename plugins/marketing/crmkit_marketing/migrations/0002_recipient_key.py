"""A mailing's addressee once: ``recipient_key`` (channel and address, or
channel, partner and contact when there is no address) unique per mailing.
Two sends at once could write a mailing's recipients twice; those copies
are removed (the lowest id of each stays) before the index is made."""

from peewee import CharField

TABLE = "marketing_mailing_recipient"


def up(migrator, db):
    migrator.migrate(migrator.add_column(TABLE, "recipient_key", CharField(max_length=400, null=True)))
    db.execute_sql(
        f"UPDATE {TABLE} SET recipient_key = CASE WHEN address <> '' THEN channel || ':' || address "
        f"ELSE channel || ':partner:' || COALESCE(CAST(partner_id AS VARCHAR(20)), '') "
        f"|| ':contact:' || COALESCE(CAST(contact_id AS VARCHAR(20)), '') END")
    db.execute_sql(
        f"DELETE FROM {TABLE} WHERE id NOT IN (SELECT MIN(id) FROM {TABLE} GROUP BY mailing_id, recipient_key)")
    migrator.migrate(migrator.add_index(TABLE, ("mailing_id", "recipient_key"), True))


def down(migrator, db):
    migrator.migrate(migrator.drop_index(TABLE, f"{TABLE}_mailing_id_recipient_key"),
                     migrator.drop_column(TABLE, "recipient_key"))
