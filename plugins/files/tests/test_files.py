"""Files attached to subjects: typed by content, bounded while read, stored
once per content, seen only with their subject, erased and exported with
the person, carried by backup and restore, kept from incoming email."""
import base64
import io
import resource
from email.message import EmailMessage

import pytest

import crmkit
from crmkit import AccessDenied, NotFound, ValidationError

pytestmark = pytest.mark.plugins("files", "notify_email")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100 + b"This program cannot be run in DOS mode"


@pytest.fixture(params=["database", "disk"])
def storage(request, tmp_path, monkeypatch):
    """Both ways of storing contents: in the database (the default) and on
    disk under ``CRMKIT_FILES_DIR``; the folder (or None)."""
    if request.param == "database":
        monkeypatch.delenv("CRMKIT_FILES_DIR", raising=False)
        return None
    root = tmp_path / "file store"
    monkeypatch.setenv("CRMKIT_FILES_DIR", str(root))
    return root


@pytest.fixture
def world(crm, open_crm, storage):
    wholesale = crm.create("core.access_group", {"name": "Оптовые"})
    retail = crm.create("core.access_group", {"name": "Розничные"})
    crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": retail.id})
    hidden = crm.create("core.partner", {"name": "Дальстрой", "access_group": wholesale.id})
    own = crm.create("core.partner", {"name": "Протон", "access_group": retail.id})
    return {"crm": crm, "hidden": hidden, "own": own, "volkov": open_crm(user="volkov"), "root": storage}


def on_disk(root):
    """The contents in the folder (by SHA-256) and anything else in it."""
    if root is None or not root.exists():
        return set()
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return {p.rsplit("/", 1)[-1] for p in found if p != ".lock"} | {p for p in found if p.startswith(".tmp/")}


def _attach(crm, subject, name, data, **kw):
    from crmkit_files.store import attach
    return attach(crm, subject, name, io.BytesIO(data), **kw)


def test_attach_list_read_and_store_once(world):
    from crmkit_files import models as m
    from crmkit_files.store import content, listing
    crm, own = world["crm"], world["own"]
    first = _attach(crm, ("core.partner", own.id), "договор.pdf", PDF, comment="подписан")
    again = _attach(crm, f"core.partner:{own.id}", "copy of договор.pdf", PDF)
    assert (first.mime, first.size, first.partner_id) == ("application/pdf", len(PDF), own.id)
    assert first.sha256 == again.sha256 and m.Blob.select().count() == 1   # one content, two files
    assert [f.name for f in listing(crm, ("core.partner", own.id))] == ["copy of договор.pdf", "договор.pdf"]
    assert content(crm, first.id) == (first, PDF) or content(crm, first.id)[1] == PDF
    assert _attach(crm, ("core.partner", own.id), "../../etc/passwd", b"root:x:0:0").name == "passwd"


def test_a_lying_name_is_not_believed(world):
    """A program named .pdf is refused (nothing written); another type named
    .pdf is stored as what its content is."""
    from crmkit_files import models as m
    crm, own = world["crm"], world["own"]
    with pytest.raises(ValidationError) as exc:
        _attach(crm, ("core.partner", own.id), "invoice.pdf", EXE)
    assert "is a program (application/x-msdownload)" in exc.value.errors["content"][0]
    for program in (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, b"#!/bin/sh\nrm -rf ~\n"):
        with pytest.raises(ValidationError):
            _attach(crm, ("core.partner", own.id), "report.docx", program)
    assert m.File.select().count() == 0 and m.Blob.select().count() == 0
    picture = _attach(crm, ("core.partner", own.id), "scan.pdf", PNG)
    assert (picture.name, picture.mime) == ("scan.pdf", "image/png")
    with pytest.raises(ValidationError) as exc:
        _attach(crm, ("core.partner", own.id), "", b"")
    assert set(exc.value.errors) == {"name", "content"}


class Endless:
    """A 2 GB stream that makes its bytes as they are read and counts them."""

    def __init__(self, size=2 * 1024 ** 3):
        self.left, self.served = size, 0

    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        self.served += n
        return b"%PDF-" + b"\x00" * (n - 5) if self.served == n and n >= 5 else b"\x00" * n


def test_a_2_gb_file_is_refused_at_the_limit_without_being_read(world, monkeypatch):
    from crmkit_files import models as m
    from crmkit_files.store import CHUNK, attach
    monkeypatch.setenv("CRMKIT_FILES_MAX_BYTES", str(5 * 1024 * 1024))
    stream = Endless()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValidationError) as exc:
        attach(world["crm"], ("core.partner", world["own"].id), "huge.pdf", stream)
    assert "larger than the limit of 5 242 880 bytes" in exc.value.errors["content"][0]
    assert stream.served <= 5 * 1024 * 1024 + CHUNK          # stopped at the limit
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, grown_mb
    assert m.File.select().count() == 0


@pytest.mark.sqlite_only
def test_cli_refuses_a_2_gb_file_on_disk(world, cli, tmp_path):
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:     # sparse: 2 GB that take no disk
        fh.write(b"%PDF-1.4")
        fh.truncate(2 * 1024 ** 3)
    out = cli("files", "attach", f"core.partner:{world['own'].id}", big)
    assert out.exit_code != 0 and "larger than the limit" in out.output
    doc = tmp_path / "offer.pdf"
    doc.write_bytes(PDF)
    out = cli("files", "attach", f"core.partner:{world['own'].code}", doc)
    assert out.exit_code == 0 and "application/pdf" in out.output, out.output
    listed = cli("files", "list", f"core.partner:{world['own'].id}", "--format", "json").output
    assert "offer.pdf" in listed
    got = tmp_path / "got.pdf"
    key = world["crm"].find("files.file")[0].id
    assert cli("files", "get", key, "-o", got).exit_code == 0 and got.read_bytes() == PDF
    assert cli("files", "get", key, "-o", got, user="volkov").exit_code == 0   # volkov sees Протон
    assert cli("files", "remove", key).exit_code == 0
    assert world["crm"].find("files.file") == []


def test_files_are_seen_only_with_their_subject(world):
    from crmkit_files.store import content, listing
    crm, volkov, hidden, own = world["crm"], world["volkov"], world["hidden"], world["own"]
    secret = _attach(crm, ("core.partner", hidden.id), "secret.pdf", PDF)
    call = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2024-01-01",
                                           "partner": hidden.id, "topic": "t"})
    on_call = _attach(crm, ("core.interaction", call.id), "notes.txt", "Протокол звонка".encode())
    assert on_call.partner_id == hidden.id and on_call.mime == "text/plain"
    assert volkov.find("files.file") == [] and volkov.count("files.file") == 0
    for key in (secret.id, on_call.id):
        with pytest.raises(NotFound):
            content(volkov, key)
    with pytest.raises(NotFound):
        listing(volkov, ("core.partner", hidden.id))
    with pytest.raises(ValidationError) as exc:
        _attach(volkov, ("core.partner", hidden.id), "spy.pdf", PDF)
    assert "subject" in exc.value.errors
    mine = _attach(volkov, ("core.partner", own.id), "mine.pdf", PDF)
    with pytest.raises((ValidationError, NotFound, AccessDenied)):   # moving it under a hidden subject
        volkov.update("files.file", mine.id, {"subject": f"core.partner:{hidden.id}"})
    assert [f.name for f in volkov.find("files.file")] == ["mine.pdf"]


def test_no_file_row_without_its_content_and_no_forged_fields(world):
    crm, own = world["crm"], world["own"]
    with pytest.raises(ValidationError) as exc:
        crm.create("files.file", {"subject": f"core.partner:{own.id}", "name": "x.pdf"})
    assert "content" in exc.value.errors
    f = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    with pytest.raises(ValidationError) as exc:
        crm.update("files.file", f.id, {"mime": "application/pdf", "sha256": "0" * 64, "size": 1})
    assert set(exc.value.errors) == {"mime", "sha256", "size"}
    assert crm.update("files.file", f.id, {"name": "b.pdf"}).name == "b.pdf"


def test_the_api_action_attaches_base64_and_removes(world):
    crm, own = world["crm"], world["own"]
    doc = crm.act("files.attach", subject=f"core.partner:{own.id}", name="act.pdf",
                  content=base64.b64encode(PDF).decode())
    assert doc["mime"] == "application/pdf" and doc["size"] == len(PDF)
    with pytest.raises(ValidationError) as exc:
        crm.act("files.attach", subject=f"core.partner:{own.id}", name="x.pdf", content="not base64!")
    assert exc.value.errors["content"] == ["is not base64"]
    assert crm.act("files.remove", doc["id"]) == {"removed": doc["id"]}


def test_erasure_removes_and_the_access_export_holds_the_files(world):
    from crmkit.core.privacy import erase, export
    from crmkit_files import models as m
    crm = world["crm"]
    person = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual"})
    contact = crm.create("core.contact", {"partner": person.id, "name": "Алхимов"})
    talk = crm.create("core.interaction", {"kind": "call", "direction": "incoming", "date": "2024-01-01",
                                           "partner": person.id, "contact": contact.id, "topic": "t"})
    _attach(crm, ("core.partner", person.id), "паспорт.pdf", PDF)
    _attach(crm, ("core.interaction", talk.id), "запись.png", PNG)
    kept = _attach(crm, ("core.partner", world["own"].id), "other.pdf", PDF)   # the same content elsewhere
    out = export(crm, "core.partner", person.id)
    assert sorted(f["name"] for f in out["files"]) == ["запись.png", "паспорт.pdf"]
    assert base64.b64decode(next(f for f in out["files"] if f["name"] == "паспорт.pdf")["content_base64"]) == PDF
    erase(crm, "core.partner", person.id)
    assert [f.id for f in m.File.select()] == [kept.id]
    assert {b.sha256 for b in m.Blob.select()} == {kept.sha256}   # the PNG's content went, the shared PDF stayed
    if world["root"] is not None:                                 # on disk too, once the erasure committed
        assert on_disk(world["root"]) == {kept.sha256}


def test_backup_and_restore_carry_files(world, cli, tmp_path, db_url):
    from crmkit_files import models as m
    from crmkit_files.store import content, remove
    crm, own, root = world["crm"], world["own"], world["root"]
    f = _attach(crm, ("core.partner", own.id), "scan.png", PNG)
    target = tmp_path / "backup.bin"
    assert cli("db", "backup", target).exit_code == 0
    remove(crm, f.id)
    assert on_disk(root) == set()
    later = _attach(crm, ("core.partner", own.id), "later.pdf", PDF)   # not in the backup
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code == 0, out.output
    again = crmkit.open(db_url, plugins=["files"])
    assert content(again, f.id)[1] == PNG
    assert [x.name for x in again.find("files.file")] == ["scan.png"] and later.sha256 != f.sha256
    if root is not None:   # the backup's content is back on disk, the newer one's is gone with its row
        assert on_disk(root) == {f.sha256}
        assert m.Blob.get(m.Blob.sha256 == f.sha256).content is None
    again.close()


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_a_backup_of_files_on_disk_is_refused_where_they_cannot_go(world, cli, tmp_path, monkeypatch):
    """A backup holding contents on disk restores only where a folder is
    configured; a changed content in the backup is refused; either way the
    database is unchanged."""
    import tarfile
    from crmkit_files.store import content
    crm, own = world["crm"], world["own"]
    f = _attach(crm, ("core.partner", own.id), "scan.png", PNG)
    target = tmp_path / "backup.bin"
    assert cli("db", "backup", target).exit_code == 0
    with tarfile.open(target) as tar:
        assert f"files/files/{f.sha256}" in tar.getnames()
    kept = _attach(crm, ("core.partner", own.id), "kept.pdf", PDF)
    monkeypatch.delenv("CRMKIT_FILES_DIR")
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code != 0 and "set CRMKIT_FILES_DIR" in out.output and "unchanged" in out.output, out.output
    monkeypatch.setenv("CRMKIT_FILES_DIR", str(world["root"]))
    forged = tmp_path / "forged.bin"
    with tarfile.open(target) as src, tarfile.open(forged, "w", format=tarfile.PAX_FORMAT) as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("files/"):
                data = EXE[:len(data)].ljust(len(data), b"\x00")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    out = cli("db", "restore", forged, "--yes")
    assert out.exit_code != 0 and "not the one its manifest describes" in out.output, out.output
    assert content(crm, kept.id)[1] == PDF and content(crm, f.id)[1] == PNG   # nothing restored, nothing swept


def test_incoming_email_attachments_become_files_of_the_interaction(world):
    from crmkit_files.store import content, listing
    from crmkit_notify_email.incoming import register_raw
    crm, own = world["crm"], world["own"]
    crm.create("core.contact_info", {"partner": own.id, "kind": "email", "value": "info@proton.example"})
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "info@proton.example", "sales@shop.example", "Счёт"
    msg["Message-ID"] = "<bill-1@proton.example>"
    msg.set_content("Счёт во вложении.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="счёт.pdf")
    msg.add_attachment(EXE, maintype="application", subtype="pdf", filename="акт.pdf")   # a program in disguise
    row = register_raw(crm, msg.as_bytes())
    assert row.state == "registered"
    files = listing(crm, ("core.interaction", row.interaction_id))
    assert [(f.name, f.mime) for f in files] == [("счёт.pdf", "application/pdf")]
    assert content(crm, files[0].id)[1] == PDF
    history = crm.history("core.interaction", row.interaction_id)
    assert any("акт.pdf: is a program" in (c.new or "") for c in history)


def test_a_file_keeps_a_subject(world):
    crm, own = world["crm"], world["own"]
    f = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    with pytest.raises(ValidationError) as exc:
        crm.update("files.file", f.id, {"subject": None})
    assert "subject" in exc.value.errors
    assert crm.get("files.file", f.id).subject_id == own.id


def test_on_disk_a_content_is_a_file_named_by_its_hash(world):
    """Disk: the bytes live in ``<folder>/ab/cd/<sha256>`` (the name a user
    gave never reaches the path), the row holds no bytes; database: the row
    holds them and the folder stays empty."""
    import hashlib
    from crmkit_files import models as m
    crm, own, root = world["crm"], world["own"], world["root"]
    f = _attach(crm, ("core.partner", own.id), "../../../../tmp/evil.pdf", PDF)
    assert f.name == "evil.pdf" and f.sha256 == hashlib.sha256(PDF).hexdigest()
    blob = m.Blob.get(m.Blob.sha256 == f.sha256)
    if root is None:
        assert bytes(blob.content) == PDF
    else:
        assert blob.content is None
        assert (root / f.sha256[:2] / f.sha256[2:4] / f.sha256).read_bytes() == PDF
        assert on_disk(root) == {f.sha256}       # nothing else, no spool left


def test_removal_unlinks_a_content_only_when_no_file_holds_it(world):
    from crmkit_files.store import content, remove
    crm, own, root = world["crm"], world["own"], world["root"]
    a = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    b = _attach(crm, ("core.partner", world["hidden"].id), "b.pdf", PDF)
    remove(crm, a.id)
    assert content(crm, b.id)[1] == PDF
    if root is not None:
        assert on_disk(root) == {b.sha256}
    remove(crm, b.id)
    assert on_disk(root) == set()


def test_what_a_rolled_back_transaction_did_is_undone_on_disk_too(world):
    """An attach rolled back leaves no content on disk; a removal rolled back
    keeps the content its restored row names."""
    from crmkit_files.store import content, remove
    crm, own, root = world["crm"], world["own"], world["root"]
    with pytest.raises(RuntimeError):
        with crm.transaction():
            _attach(crm, ("core.partner", own.id), "a.png", PNG)
            raise RuntimeError("undo")
    assert crm.find("files.file") == [] and on_disk(root) == set()
    kept = _attach(crm, ("core.partner", own.id), "b.pdf", PDF)
    with pytest.raises(RuntimeError):
        with crm.transaction():
            remove(crm, kept.id)
            raise RuntimeError("undo")
    assert content(crm, kept.id)[1] == PDF
    if root is not None:
        assert on_disk(root) == {kept.sha256}


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_contents_stored_before_the_folder_was_set_stay_readable(world, monkeypatch):
    """A base that starts in the database and then sets CRMKIT_FILES_DIR
    reads its old contents from the database; the same bytes attached again
    stay there; new contents go to disk; a content on disk with the folder
    unset is an error saying so."""
    from crmkit_files import models as m
    from crmkit_files.store import content
    crm, own, root = world["crm"], world["own"], world["root"]
    monkeypatch.delenv("CRMKIT_FILES_DIR")
    old = _attach(crm, ("core.partner", own.id), "old.pdf", PDF)
    monkeypatch.setenv("CRMKIT_FILES_DIR", str(root))
    again = _attach(crm, ("core.partner", own.id), "again.pdf", PDF)
    new = _attach(crm, ("core.partner", own.id), "new.png", PNG)
    assert content(crm, old.id)[1] == PDF == content(crm, again.id)[1] and content(crm, new.id)[1] == PNG
    assert bytes(m.Blob.get(m.Blob.sha256 == old.sha256).content) == PDF and on_disk(root) == {new.sha256}
    monkeypatch.delenv("CRMKIT_FILES_DIR")
    with pytest.raises(NotFound, match="stored on disk and CRMKIT_FILES_DIR is not set"):
        content(crm, new.id)


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_on_disk_a_2_gb_stream_is_refused_and_nothing_stays(world, monkeypatch):
    from crmkit_files.store import CHUNK, attach
    monkeypatch.setenv("CRMKIT_FILES_MAX_BYTES", str(3 * 1024 * 1024))
    stream = Endless()
    with pytest.raises(ValidationError, match="larger than the limit"):
        attach(world["crm"], ("core.partner", world["own"].id), "huge.pdf", stream)
    assert stream.served <= 3 * 1024 * 1024 + CHUNK
    assert on_disk(world["root"]) == set() and world["crm"].find("files.file") == []
    with pytest.raises(ValidationError, match="is a program"):   # refused after spooling: the spool goes too
        _attach(world["crm"], ("core.partner", world["own"].id), "invoice.pdf", EXE)
    assert on_disk(world["root"]) == set()


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_a_folder_that_cannot_be_the_store_is_refused_naming_it(world, monkeypatch, tmp_path):
    crm, own = world["crm"], world["own"]
    monkeypatch.setenv("CRMKIT_FILES_DIR", "relative/store")
    with pytest.raises(ValidationError, match="not an absolute path") as exc:
        _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    assert "CRMKIT_FILES_DIR" in exc.value.errors
    plain = tmp_path / "a file"
    plain.write_text("x")
    monkeypatch.setenv("CRMKIT_FILES_DIR", str(plain))
    with pytest.raises(ValidationError, match="is not a folder"):
        _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    assert crm.find("files.file") == []


@pytest.mark.parametrize("pause", ["before its file names the content", "before it holds the content's row"])
def test_an_attach_of_the_same_bytes_racing_the_removal_of_their_last_file_keeps_them(world, monkeypatch, pause):
    """PostgreSQL: an attach finds the content's row, so its insert does
    nothing; a removal of the last other file holding those bytes decides
    meanwhile that nobody names them and deletes the row (and the file on
    disk after its commit). The attach must end naming a content that is
    there: the removal waits for it, or it writes the row again. The
    attach pauses at its last statement (the removal then runs as far as
    it may) or just before it holds the row (the removal commits first)."""
    import threading
    import time

    from crmkit.kernel.db import is_sqlite
    from crmkit_files import models as m, store
    from crmkit_files.store import content, remove
    if is_sqlite():
        pytest.skip("SQLite: one writer at a time, the two cannot interleave")
    crm, own = world["crm"], world["own"]
    first = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    reached, go, out = threading.Event(), threading.Event(), {}

    def wait():
        if threading.current_thread().name == "attach":
            reached.set()
            go.wait(10)
    if pause == "before its file names the content":
        update = m.File.update.__func__

        def paused(cls, *args, **kwargs):
            if kwargs.get("sha256"):
                wait()
            return update(cls, *args, **kwargs)
        monkeypatch.setattr(m.File, "update", classmethod(paused))
    else:
        claim = getattr(store, "_claim", None)

        def paused_claim(*args):
            wait()
            return claim(*args)
        monkeypatch.setattr(store, "_claim", paused_claim)

    def run(name, fn):
        try:
            out[name] = fn()
        except Exception as exc:   # noqa: BLE001
            out[name] = exc

    a = threading.Thread(target=run, name="attach",
                         args=("attach", lambda: _attach(crm, ("core.partner", own.id), "b.pdf", PDF)))
    a.start()
    assert reached.wait(10)
    b = threading.Thread(target=run, name="remove", args=("remove", lambda: remove(crm, first.id)))
    b.start()
    time.sleep(1.0)   # the removal runs as far as it may
    go.set()
    a.join(30)
    b.join(30)
    assert not isinstance(out["attach"], Exception), out["attach"]
    assert not isinstance(out["remove"], Exception), out["remove"]
    second = out["attach"]
    assert m.Blob.get_or_none(m.Blob.sha256 == second.sha256) is not None
    assert content(crm, second.id)[1] == PDF


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_a_removal_while_a_restore_runs_does_not_unlink_a_content_the_backup_brings_back(world, cli, tmp_path,
                                                                                          monkeypatch, db_url):
    """A restore puts the backup's contents in place (one already there is
    kept as it is), then replaces the data. A file removed in the live data
    meanwhile (the web server goes on during a restore) unlinks its content
    after its commit: a content the restored rows name must survive that."""
    import threading

    from crmkit.kernel import backup
    from crmkit_files.store import blob_path, content, remove
    crm, own, root = world["crm"], world["own"], world["root"]
    f = _attach(crm, ("core.partner", own.id), "scan.png", PNG)
    target = tmp_path / "backup.bin"
    assert cli("db", "backup", target).exit_code == 0
    removal = threading.Thread(target=remove, args=(crm, f.id))
    name = "_restore_sqlite" if db_url.startswith("sqlite") else "_restore_postgresql"
    replace = getattr(backup, name)

    def replaced(*args, **kwargs):   # the files are in place, the data not replaced yet
        removal.start()
        removal.join(3)               # its commit, and its sweep if nothing holds it back
        return replace(*args, **kwargs)
    monkeypatch.setattr(backup, name, replaced)
    out = cli("db", "restore", target, "--yes")
    assert out.exit_code == 0, out.output
    removal.join(30)
    assert not removal.is_alive()
    again = crmkit.open(db_url, plugins=["files"])
    assert [x.id for x in again.find("files.file")] == [f.id]
    assert blob_path(root, f.sha256).exists()
    assert content(again, f.id)[1] == PNG
    again.close()


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_spools_left_by_a_crashed_upload_are_cleaned_once_stale(world):
    """A crash between the spool and its rename leaves a file in ``.tmp``:
    one untouched for a day is unlinked by the sweep (after a removal), a
    fresh one (an upload still running) stays, as does what is not a file."""
    import os
    import time
    from crmkit_files.store import remove
    crm, own, root = world["crm"], world["own"], world["root"]
    f = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    tmp = root / ".tmp"
    stale, fresh, folder = tmp / "4242-deadbeefdeadbeef", tmp / "4343-feedfeedfeedfeed", tmp / "not-a-spool"
    stale.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload still running")
    folder.mkdir()
    day_ago = time.time() - 24 * 3600 - 60
    for path in (stale, folder):
        os.utime(path, (day_ago, day_ago))
    remove(crm, f.id)
    assert not stale.exists() and fresh.exists() and folder.is_dir()
    assert on_disk(root) == {"4343-feedfeedfeedfeed", ".tmp/4343-feedfeedfeedfeed"}   # the content went too


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_an_upload_cleans_stale_spools_where_nothing_is_ever_removed(world):
    import os
    import time
    from crmkit_files import store
    crm, own, root = world["crm"], world["own"], world["root"]
    (root / ".tmp").mkdir(parents=True)
    stale = root / ".tmp" / "1-0123456789abcdef"
    stale.write_bytes(b"x")
    os.utime(stale, (time.time() - 2 * 24 * 3600,) * 2)
    store._cleaned.clear()
    f = _attach(crm, ("core.partner", own.id), "a.pdf", PDF)
    assert not stale.exists() and on_disk(root) == {f.sha256}


@pytest.mark.parametrize("storage", ["disk"], indirect=True)
def test_the_clean_ups_never_follow_a_link_out_of_the_store(world, tmp_path):
    """A folder of the store replaced by a link to another folder (whoever can
    write to the store): neither the restore's clean-up nor the sweep lists or
    unlinks anything through it; an unnamed content in a real folder goes."""
    import hashlib
    from crmkit_files import store
    crm, own, root = world["crm"], world["own"], world["root"]
    kept = _attach(crm, ("core.partner", own.id), "kept.pdf", PDF)
    outside = tmp_path / "outside"
    victim_digest = hashlib.sha256(b"someone else's file").hexdigest()
    (outside / victim_digest[2:4]).mkdir(parents=True)
    victim = outside / victim_digest[2:4] / victim_digest
    victim.write_bytes(b"someone else's file")
    if (root / victim_digest[:2]).exists():
        pytest.skip("the two digests share a folder")
    (root / victim_digest[:2]).symlink_to(outside, target_is_directory=True)
    # the second level linked too: ab/cd -> a folder outside
    other = hashlib.sha256(b"another file").hexdigest()
    (root / other[:2]).mkdir(exist_ok=True)
    outside2 = tmp_path / "outside2"
    outside2.mkdir()
    (outside2 / other).write_bytes(b"another file")
    (root / other[:2] / other[2:4]).symlink_to(outside2, target_is_directory=True)
    stray = hashlib.sha256(b"stray").hexdigest()
    (root / stray[:2] / stray[2:4]).mkdir(parents=True, exist_ok=True)
    (root / stray[:2] / stray[2:4] / stray).write_bytes(b"stray")

    assert set(store._contents_on_disk(root)) == {kept.sha256, stray}
    assert store.sweep(root, [victim_digest, other]) == 0          # no row names them: still not unlinked
    execute = lambda sql: crm.db.execute_sql(sql).fetchall()        # noqa: E731
    assert store.restored(execute) == 1                             # the stray content only
    assert victim.read_bytes() == b"someone else's file" and (outside2 / other).read_bytes() == b"another file"
    assert not (root / stray[:2] / stray[2:4] / stray).exists()
    assert (root / kept.sha256[:2] / kept.sha256[2:4] / kept.sha256).read_bytes() == PDF


@pytest.mark.plugins("files", "marketing", "notify_email")
def test_the_demo_jubilee_mailing_shows_its_template_image(crm, storage):
    """The demo's jubilee invitation carries a picture (#Картинка1# in its HTML):
    a test copy is queued with the image as a cid: part of the message."""
    crm.call_in_order("crmkit_load_demo", crm=crm)
    template = crm.find("marketing.template", name="Приглашение на юбилей")[0]
    files = crm.find("files.file", subject_type="marketing.template", subject_id=template.id)
    assert [(f.name, f.mime) for f in files] == [("Юбилей 20 лет.png", "image/png")]
    from crmkit_files.store import content
    data = content(crm, files[0].id)[1]
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in data[-12:]
    mailing = crm.find("marketing.mailing", template=template.id)[0]
    crm.act("marketing.test_send", mailing.id, address="test@example.com")
    import json
    from crmkit.kernel.models import OutboxMessage
    message = OutboxMessage.select().where(OutboxMessage.recipient == "test@example.com").get()
    meta = json.loads(message.meta)
    (image,) = meta["inline"]
    assert image["filename"] == "Юбилей 20 лет.png" and f'src="cid:{image["cid"]}"' in message.body_html
    assert "[Юбилей 20 лет.png]" not in message.body_text
