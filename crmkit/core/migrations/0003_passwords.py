"""Passwords (argon2id hashes) and sign-in failures per login; a user's own
language and time zone for the web pages."""
from peewee import *
from playhouse.migrate import migrate


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        class Meta:
            table_name = "core_user"

    class UserPassword(Base):
        user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
        hash = CharField(max_length=255)
        changed_at = DateTimeField(null=True)

        class Meta:
            table_name = "core_user_password"

    class LoginFailure(Base):
        login = CharField(max_length=64, unique=True)
        failures = IntegerField(default=0)
        last_failed_at = DateTimeField(null=True)
        locked_until = DateTimeField(null=True)

        class Meta:
            table_name = "core_login_failure"

    migrate(migrator.add_column("core_user", "lang", CharField(max_length=8, default="")),
            migrator.add_column("core_user", "time_zone", CharField(max_length=64, default="")))
    db.create_tables([UserPassword, LoginFailure])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "core_login_failure"')
    db.execute_sql('DROP TABLE IF EXISTS "core_user_password"')
    migrate(migrator.drop_column("core_user", "lang"), migrator.drop_column("core_user", "time_zone"))
