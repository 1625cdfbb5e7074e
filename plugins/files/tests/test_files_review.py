"""An outside review of the files plugin's names and keys: a name cannot be
made to read as another by bidirectional controls or C1 control characters
(an attach drops them, a rename refuses them, naming ``name``), and a
subject key that only looks like digits ("²") is a clear 404/refusal, never
a server error."""
import io

import pytest

from crmkit import NotFound, ValidationError

pytestmark = pytest.mark.plugins("files")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
RLO = "\u202e"   # RIGHT-TO-LEFT OVERRIDE: "invoice\u202efdp.exe" is shown as "invoiceexe.pdf"
DISGUISES = [f"invoice{RLO}fdp.html", "photo\u2067gnp.svg\u2069", "a\u200fb.pdf", "x\u061cy.pdf",
             "\u202a\u202b\u202c\u202d.pdf"]


@pytest.fixture
def own(crm):
    group = crm.create("core.access_group", {"name": "Розничные"})
    crm.create("core.user", {"login": "volkov", "name": "Волков", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "volkov").id, "access_group": group.id})
    return crm.create("core.partner", {"name": "Протон", "access_group": group.id})


@pytest.mark.parametrize("name", DISGUISES)
def test_an_attached_name_keeps_no_bidirectional_or_c1_control(crm, open_crm, own, name):
    volkov = open_crm(user="volkov")
    done = volkov.act("files.attach", subject=f"core.partner:{own.id}", name=name, content=io.BytesIO(PDF))
    kept = done["name"]
    assert kept and not any(c in kept for c in RLO + "\u2067\u2069\u200f\u061c\x85\x9b\u202a\u202b\u202c\u202d")
    assert kept == "".join(c for c in name if c.isprintable() and c not in "\u061c")


def test_an_attached_name_with_a_c1_control_is_refused_naming_it(crm, open_crm, own):
    from crmkit_files import models as m
    with pytest.raises(ValidationError) as err:
        open_crm(user="volkov").act("files.attach", subject=f"core.partner:{own.id}", name="c1\x85\x9b.pdf",
                                    content=io.BytesIO(PDF))
    assert "name" in err.value.errors and m.File.select().count() == 0 and m.Blob.select().count() == 0


@pytest.mark.parametrize("name", DISGUISES + ["c1\x85\x9b.pdf"])
def test_a_rename_to_a_disguised_name_is_refused_naming_the_field(crm, open_crm, own, name):
    from crmkit_files import models as m
    volkov = open_crm(user="volkov")
    done = volkov.act("files.attach", subject=f"core.partner:{own.id}", name="plain.pdf", content=io.BytesIO(PDF))
    with pytest.raises(ValidationError) as err:
        volkov.update("files.file", done["id"], {"name": name})
    assert "name" in err.value.errors
    assert m.File.get_by_id(done["id"]).name == "plain.pdf"


def test_a_key_of_digits_that_are_not_ascii_is_not_found(crm, own):
    """"²".isdigit() is true and int("²") fails: the kernel's lookup said
    ValueError (a 500 over the API) instead of not found."""
    for key in ("²", "١٢", "①"):
        with pytest.raises(NotFound):
            crm.get("files.file", key)
        with pytest.raises(NotFound):
            crm.get("core.access_group", key)
