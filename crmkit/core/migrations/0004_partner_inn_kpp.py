"""The partner's INN and KPP (ИНН, КПП), the strongest keys of duplicate
detection: an index on the INN makes matching a new partner a look-up."""
from peewee import SQL, CharField

# a database default as well: rows written by plain SQL (other systems, bulk loads) need not name them
EMPTY = [SQL("DEFAULT ''")]


def up(migrator, db):
    migrator.migrate(migrator.add_column("core_partner", "inn", CharField(max_length=12, default="", constraints=EMPTY)),
            migrator.add_column("core_partner", "kpp", CharField(max_length=9, default="", constraints=EMPTY)),
            migrator.add_index("core_partner", ("inn",), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("core_partner", "core_partner_inn"),
            migrator.drop_column("core_partner", "inn"),
            migrator.drop_column("core_partner", "kpp"))
