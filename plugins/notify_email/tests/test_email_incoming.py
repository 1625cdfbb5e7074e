"""Incoming mail from Maildir/.eml fixtures registered as interactions."""
import shutil
from pathlib import Path

import pytest

import crmkit

pytestmark = pytest.mark.plugins("notify_email")

MAIL = Path(__file__).with_name("mail")


@pytest.fixture
def base(crm):
    """Two partners in two access groups, contacts with addresses, one
    outgoing offer whose Message-ID is known, and a manager seeing one group."""
    wholesale = crm.create("core.access_group", {"name": "Wholesale"}).id
    far_east = crm.create("core.access_group", {"name": "Far East"}).id
    orlov = crm.create("core.user", {"login": "orlov", "name": "Orlov", "roles": "manager"}).id
    crm.create("core.user", {"login": "fedorov", "name": "Fedorov", "roles": "manager"})
    crm.create("core.user_access", {"user": crm.get("core.user", "fedorov").id, "access_group": wholesale})
    dal = crm.create("core.partner", {"name": "Дальстрой", "kind": "company", "manager": orlov,
                                      "access_group": far_east})
    alt = crm.create("core.partner", {"name": "Альтаир", "kind": "company", "access_group": wholesale})
    smirnov = crm.create("core.contact", {"partner": dal.id, "name": "Смирнов Олег Иванович"})
    sidorov = crm.create("core.contact", {"partner": alt.id, "name": "Сидоров Иван Петрович"})
    crm.create("core.contact_info", {"partner": dal.id, "kind": "email", "value": "info@dalstroy.example"})
    crm.create("core.contact_info", {"contact": smirnov.id, "kind": "email", "value": "Smirnov@Dalstroy.example"})
    crm.create("core.contact_info", {"contact": sidorov.id, "kind": "email", "value": "sidorov@altair.example"})
    task = crm.create("core.task", {"title": "Offer for November", "partner": alt.id})
    offer = crm.create("core.interaction", {
        "kind": "email", "direction": "outgoing", "date": crmkit.utcnow(), "partner": alt.id,
        "contact": sidorov.id, "topic": "Offer for November", "responsible": orlov,
        "external_id": "<offer-2015-11@shop.example>", "subject": f"core.task:{task.id}"})
    return {"dal": dal, "alt": alt, "smirnov": smirnov, "sidorov": sidorov, "offer": offer, "task": task,
            "orlov": orlov}


def _fetch_all(crm, folder=MAIL):
    from crmkit_notify_email.mailreader import fetch_folder
    return fetch_folder(crm, folder)


def _by_mid(crm, mid):
    found = crm.find("core.interaction", external_id=mid)
    assert len(found) == 1, mid
    return found[0]


def test_fixture_folder_registers_threads_unknowns_and_malformed(crm, base):
    assert _fetch_all(crm) == {"registered": 5, "unknown": 1, "malformed": 1}
    first = _by_mid(crm, "<m1.smirnov@dalstroy.example>")
    assert (first.kind, first.direction) == ("email", "incoming")
    assert first.partner_id == base["dal"].id and first.contact_id == base["smirnov"].id
    assert first.topic == "Участие в форуме" and "бизнес-форуме" in first.text
    assert first.responsible_id == base["orlov"]          # the partner's manager
    assert first.how == "smirnov@dalstroy.example"
    reply = _by_mid(crm, "<r1.sidorov@altair.example>")
    assert reply.reply_to_id == base["offer"].id
    assert (reply.subject_type, reply.subject_id) == ("core.task", base["task"].id)
    assert reply.contact_id == base["sidorov"].id and reply.text == "We accept the offer."
    colleague = _by_mid(crm, "<m2.petrova@dalstroy.example>")   # unknown address, known thread
    assert colleague.reply_to_id == first.id and colleague.partner_id == base["dal"].id
    assert colleague.contact_id is None and colleague.text == "I will come with Oleg."
    cp1251 = _by_mid(crm, "<c1@dalstroy.example>")
    assert cp1251.topic == "Счёт на кондиционеры"
    assert cp1251.text == "Просим выставить счёт на 10 кондиционеров."
    assert cp1251.partner_id == base["dal"].id and cp1251.contact_id is None
    koi8 = _by_mid(crm, "<k1@dalstroy.example>")
    assert koi8.topic == "Доставка во Владивосток" and koi8.text == "Когда будет доставка?"
    from crmkit_notify_email.incoming import visible_inbound
    [unknown] = visible_inbound(crm, "unknown")
    assert unknown.sender == "stranger@nowhere.example" and unknown.subject == "Do you sell fans?"
    [bad] = visible_inbound(crm, "malformed")
    assert "From" in bad.error and bad.source == "05-malformed.eml"


def test_reading_twice_registers_nothing_twice(crm, base):
    _fetch_all(crm)
    count = crm.count("core.interaction")
    assert _fetch_all(crm) == {"registered": 5, "unknown": 1, "malformed": 1}   # the same rows, found again
    assert crm.count("core.interaction") == count


def test_maildir_new_messages_move_to_cur(crm, base, tmp_path):
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    shutil.copy(MAIL / "01-smirnov.eml", box / "new" / "1445400000.1.host")
    shutil.copy(MAIL / "04-unknown-sender.eml", box / "cur" / "1445400001.2.host:2,S")
    assert _fetch_all(crm, box) == {"registered": 1, "unknown": 1}
    assert sorted(p.name for p in (box / "cur").iterdir()) == ["1445400000.1.host:2,S", "1445400001.2.host:2,S"]
    assert list((box / "new").iterdir()) == []


def test_assign_unknown_sender(crm, base, open_crm):
    _fetch_all(crm)
    from crmkit_notify_email.incoming import assign, visible_inbound
    [unknown] = visible_inbound(crm, "unknown")
    fedorov = open_crm(user="fedorov")
    with pytest.raises(crmkit.ValidationError) as info:       # a partner fedorov cannot see
        assign(fedorov, unknown.id, base["dal"].code)
    assert "partner" in info.value.errors
    with pytest.raises(crmkit.ValidationError) as info:       # a contact of another partner
        assign(fedorov, unknown.id, base["alt"].code, contact=base["smirnov"].id)
    assert "contact" in info.value.errors
    assert visible_inbound(crm, "unknown")[0].id == unknown.id  # nothing written
    record = assign(fedorov, unknown.id, base["alt"].code, remember=True)
    assert record.partner_id == base["alt"].id and record.external_id == "<s1@nowhere.example>"
    assert record.responsible_id == crm.get("core.user", "fedorov").id
    assert visible_inbound(crm, "unknown") == []
    with pytest.raises(crmkit.ValidationError):
        assign(fedorov, unknown.id, base["alt"].code)           # not twice
    from crmkit_notify_email.incoming import match_address
    assert match_address(crm, "stranger@nowhere.example") == (base["alt"].id, None)


def test_user_without_access_sees_nothing_of_the_partner(crm, base, open_crm):
    _fetch_all(crm)
    from crmkit_notify_email.incoming import visible_inbound
    fedorov = open_crm(user="fedorov")   # sees Альтаир, not Дальстрой
    seen = {r.sender for r in visible_inbound(fedorov, None)}
    assert "sidorov@altair.example" in seen and "stranger@nowhere.example" in seen
    assert not any(s.endswith("@dalstroy.example") for s in seen)
    assert all(i.partner_id != base["dal"].id for i in fedorov.find("core.interaction"))


def test_fetch_is_for_administrators(crm, base, open_crm):
    from crmkit_notify_email.incoming import require_admin
    with pytest.raises(crmkit.AccessDenied):
        require_admin(open_crm(user="fedorov"))


def test_bad_folder_and_state_are_named(crm, tmp_path):
    from crmkit_notify_email.incoming import visible_inbound
    from crmkit_notify_email.mailreader import fetch_folder
    with pytest.raises(crmkit.ValidationError) as info:
        fetch_folder(crm, tmp_path / "missing")
    assert "folder" in info.value.errors
    with pytest.raises(crmkit.ValidationError) as info:
        visible_inbound(crm, "bogus")
    assert "state" in info.value.errors


def _mail(sender, subject, body, mid, date="Mon, 16 Nov 2015 10:00:00 +1000", extra=b""):
    return (f"From: {sender}\r\nTo: crm@shop.example\r\nSubject: ".encode() + subject +
            f"\r\nMessage-ID: {mid}\r\nDate: {date}\r\nMIME-Version: 1.0\r\n".encode() + extra +
            b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + b"\r\n")


def _deep(depth=3000):
    """MIME nested so deep that the email package's walk ends in RecursionError."""
    body = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    body += b"Content-Type: text/plain\r\n\r\nhello\r\n" + b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return b"From: smirnov@dalstroy.example\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n" + body


HOSTILE = {
    "01-nul-body": _mail("smirnov@dalstroy.example", b"Body", b"a\x00b", "<nul-body@x>"),
    "02-nul-subject": _mail("smirnov@dalstroy.example", b"Sub\x00ject", b"text", "<nul-subject@x>"),
    "03-year-9999": _mail("smirnov@dalstroy.example", b"Far future", b"text", "<y9999@x>",
                          date="Fri, 31 Dec 9999 23:59:59 -0500"),
    "04-unknown-nul": _mail("stranger@nowhere.example", b"Hi\x00", b"unknown \x00 sender", "<unknown-nul@x>"),
    "05-escape": _mail("smirnov@dalstroy.example", b"\x1b]0;owned\x07Title", b"\x1b[2Jtext", "<esc@x>"),
    "06-date-garbage": _mail("smirnov@dalstroy.example", b"Bad date", b"text", "<baddate@x>",
                             date="Mon, 32 Foo 99999 99:99:99 +9999"),
    "07-deep-mime": _deep(),
    "08-binary": bytes(range(256)) * 4,
    "09-empty": b"",
}


def test_a_mailbox_of_hostile_messages_never_blocks(crm, base, tmp_path):
    """Each hostile message is registered cleaned, or moved aside with its
    reason; the good message after them is registered; ``new/`` is empty; a
    second read registers nothing again."""
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    for name, raw in HOSTILE.items():
        (box / "new" / name).write_bytes(raw)
    (box / "new" / "99-good").write_bytes(_mail("smirnov@dalstroy.example", b"Good", b"fine", "<good@x>"))
    counts = _fetch_all(crm, box)
    assert counts == {"registered": 6, "unknown": 1, "malformed": 2, "failed": 1}, counts
    assert list((box / "new").iterdir()) == []
    assert sorted(p.name for p in (box / "failed").iterdir()) == ["07-deep-mime", "07-deep-mime.reason"]
    assert "RecursionError" in (box / "failed" / "07-deep-mime.reason").read_text()
    from crmkit_notify_email.incoming import visible_inbound
    [failed] = visible_inbound(crm, "failed")
    assert failed.source == "07-deep-mime" and "RecursionError" in failed.error
    assert _by_mid(crm, "<good@x>").text == "fine"
    assert _by_mid(crm, "<nul-body@x>").text == "ab"
    assert _by_mid(crm, "<nul-subject@x>").topic == "Subject"
    far = _by_mid(crm, "<y9999@x>")
    assert far.date.year < 9999                      # an implausible Date is not believed
    assert _by_mid(crm, "<esc@x>").topic == "]0;ownedTitle" and "\x1b" not in _by_mid(crm, "<esc@x>").text
    [unknown] = visible_inbound(crm, "unknown")
    assert unknown.sender == "stranger@nowhere.example" and unknown.text == "unknown  sender"
    assert _fetch_all(crm, box) == {"registered": 6, "unknown": 1, "malformed": 2}   # cur/ again: nothing new
    assert len(crm.find("core.interaction", direction="incoming")) == 6


def test_an_imap_mailbox_with_a_hostile_message_is_read_on(crm, base):
    """Over IMAP: the message that cannot be registered is remembered as
    ``failed``, flagged and marked seen; the messages after it are read."""
    from crmkit_notify_email.mailreader import fetch_imap
    from crmkit_notify_email.settings import ImapSettings
    from fakeimap import FakeImap
    good = _mail("smirnov@dalstroy.example", b"Good", b"fine", "<imap-good@x>")
    after = _mail("smirnov@dalstroy.example", b"After", b"also fine", "<imap-after@x>")
    with FakeImap([good, _deep(), HOSTILE["01-nul-body"], after]) as imap:
        settings = ImapSettings(host="127.0.0.1", port=imap.port, security="plain", user="crm",
                                password="secret", timeout=5)
        assert fetch_imap(crm, settings) == {"registered": 3, "failed": 1}
        assert imap.flags == {1: {"\\Seen"}, 2: {"\\Flagged", "\\Seen"}, 3: {"\\Seen"}, 4: {"\\Seen"}}
        assert fetch_imap(crm, settings) == {}                 # all seen: nothing read twice
    from crmkit_notify_email.incoming import visible_inbound
    [failed] = visible_inbound(crm, "failed")
    assert failed.source == "imap:INBOX:2" and "RecursionError" in failed.error
    assert _by_mid(crm, "<imap-after@x>").text == "also fine"
