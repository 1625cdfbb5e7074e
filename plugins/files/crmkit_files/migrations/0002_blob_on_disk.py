"""A content may live on disk (``CRMKIT_FILES_DIR``): ``files_blob.content``
is null for those, the row still naming the SHA-256 the file is stored under."""


def up(migrator, db):
    migrator.migrate(migrator.drop_not_null("files_blob", "content"))


def down(migrator, db):
    migrator.migrate(migrator.add_not_null("files_blob", "content"))
