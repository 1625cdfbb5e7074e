"""The outbox's claim token: the fencing token of a delivery run's claim
(a result is recorded only by the run that still holds it)."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("kernel_outbox", "claim_token", CharField(max_length=32, null=True)),
        migrator.add_index("kernel_outbox", ("claim_token",), False))


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("kernel_outbox", "kernel_outbox_claim_token"),
        migrator.drop_column("kernel_outbox", "claim_token"))
