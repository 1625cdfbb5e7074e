"""Core duplicate rules: partners by INN (INN+KPP for branches), by the email
domain and the phones of the partner and its contacts, by a similar name;
contact persons by email and phone. The keys feed the kernel's index
(``crmkit.kernel.duplicates``); see ``crmkit duplicates --help``."""
from __future__ import annotations

import re

from crmkit import DuplicateRule, normalize_email, normalize_phone
from crmkit.kernel.db import among

# Mailbox providers: a shared domain there says nothing about the company.
PUBLIC_DOMAINS = frozenset("""
gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com icloud.com me.com aol.com
protonmail.com proton.me gmx.de gmx.net web.de mail.com yandex.ru ya.ru yandex.com mail.ru bk.ru
list.ru inbox.ru internet.ru rambler.ru lenta.ru autorambler.ru qip.ru ukr.net
""".split())

# Legal forms, dropped before names are compared (ООО «Ромашка» = Ромашка LLC).
LEGAL_FORMS = frozenset("""
ооо оао зао пао ао нао ип чп тоо гуп муп фгуп нко ано оо пк тд ltd llc inc corp co gmbh ag sa
plc bv nv oy ab srl sarl spa kg ug lp llp company corporation limited
""".split())

_FOLD = str.maketrans({**{q: " " for q in "«»\"'„“”‚‘’`"}, "ё": "е"})
_PUNCT = re.compile(r"[^\w\s]+")


def normalize_name(name) -> str:
    """A name made comparable: lower case, ё as е, no quotes, punctuation
    or legal forms, single spaces (ООО «Ромашка» and Ромашка LLC agree)."""
    words = _PUNCT.sub(" ", str(name or "").lower().translate(_FOLD)).split()
    return " ".join(w for w in words if w not in LEGAL_FORMS)


def name_tokens(text: str):
    """The block keys of a normalised name: its words of three letters or
    more, and numbers (a pair sharing no such word is never scored)."""
    return [w for w in dict.fromkeys(text.split()) if len(w) >= 3 or w.isdigit()]


def same_numbers(a: str, b: str) -> bool:
    """Names whose numbers differ (Магазин 1, Магазин 2) are different partners."""
    return [w for w in a.split() if w.isdigit()] == [w for w in b.split() if w.isdigit()]


# Key functions return (record id, key) or (record id, key, text) rows; they
# run on every save of a partner, so they stay plain SQL and Python.

def _partners(ids, *fields):
    from . import models as m
    q = m.Partner.select(m.Partner.id, *fields)
    if ids is not None:
        q = q.where(among(m.Partner.id, ids))
    return q.tuples()


def inn_keys(crm, ids):
    from . import models as m
    return [(i, inn) for i, inn, kpp in _partners(ids, m.Partner.inn, m.Partner.kpp) if inn and not kpp]


def inn_kpp_keys(crm, ids):
    from . import models as m
    return [(i, f"{inn}/{kpp}") for i, inn, kpp in _partners(ids, m.Partner.inn, m.Partner.kpp) if inn and kpp]


def _contact_info(ids, kind):
    """(partner id, normalised value) of a kind: the partner's own and its contacts'."""
    from . import models as m
    ci = m.ContactInfo
    own = ci.select(ci.partner, ci.normalized).where((ci.kind == kind) & ci.partner.is_null(False)
                                                     & (ci.normalized != ""))
    of_contacts = (ci.select(m.Contact.partner, ci.normalized).join(m.Contact, on=(ci.contact == m.Contact.id))
                   .where((ci.kind == kind) & (ci.normalized != "")))
    if ids is not None:
        own = own.where(among(ci.partner, ids))
        of_contacts = of_contacts.where(among(m.Contact.partner, ids))
    return list(own.tuples()) + list(of_contacts.tuples())


def domain_keys(crm, ids):
    rows = ((i, value.rpartition("@")[2]) for i, value in _contact_info(ids, "email"))
    return [(i, d) for i, d in rows if d and d not in PUBLIC_DOMAINS]


def phone_keys(crm, ids):
    return _contact_info(ids, "phone")


def name_keys(crm, ids):
    from . import models as m
    out = []
    for i, name in _partners(ids, m.Partner.name):
        text = normalize_name(name)
        out.extend((i, token, text) for token in name_tokens(text))
    return out


def _probe_values(data, field, normalise):
    value = data.get(field)
    out = []
    for one in value if isinstance(value, (list, tuple)) else [value]:
        if one:
            try:
                out.append(normalise(str(one)))
            except ValueError:
                pass
    return out


def inn_probe(crm, data):
    inn = str(data.get("inn") or "").strip()
    return [(inn, "")] if inn and not str(data.get("kpp") or "").strip() else []


def inn_kpp_probe(crm, data):
    inn, kpp = str(data.get("inn") or "").strip(), str(data.get("kpp") or "").strip()
    return [(f"{inn}/{kpp}", "")] if inn and kpp else []


def domain_probe(crm, data):
    return [(e.rpartition("@")[2], "") for e in _probe_values(data, "email", normalize_email)
            if e.rpartition("@")[2] not in PUBLIC_DOMAINS]


def phone_probe(crm, data):
    return [(p, "") for p in _probe_values(data, "phone", normalize_phone)]


def name_probe(crm, data):
    text = normalize_name(data.get("name") or "")
    return [(token, text) for token in name_tokens(text)]


# -- contact persons -----------------------------------------------------

def _contact_keys(ids, kind):
    from . import models as m
    ci = m.ContactInfo
    q = ci.select(ci.contact, ci.normalized).where((ci.kind == kind) & ci.contact.is_null(False)
                                                   & (ci.normalized != ""))
    if ids is not None:
        q = q.where(among(ci.contact, ids))
    return list(q.tuples())


def contact_email_keys(crm, ids):
    return _contact_keys(ids, "email")


def contact_phone_keys(crm, ids):
    return _contact_keys(ids, "phone")


def contact_email_probe(crm, data):
    return [(e, "") for e in _probe_values(data, "email", normalize_email)]


RULES = [
    DuplicateRule("core.partner", "inn", inn_keys, inn_probe, label="same INN"),
    DuplicateRule("core.partner", "inn_kpp", inn_kpp_keys, inn_kpp_probe, label="same INN and KPP"),
    DuplicateRule("core.partner", "email_domain", domain_keys, domain_probe, label="same email domain"),
    DuplicateRule("core.partner", "phone", phone_keys, phone_probe, label="same phone"),
    # words shared by more than 50 partners (строй, торг) are no block of their own
    DuplicateRule("core.partner", "name", name_keys, name_probe, label="similar name", fuzzy=True,
                  threshold=90.0, accept=same_numbers, block_limit=50),
    DuplicateRule("core.contact", "email", contact_email_keys, contact_email_probe, label="same email"),
    DuplicateRule("core.contact", "phone", contact_phone_keys, phone_probe, label="same phone"),
]


# -- keeping the index fresh ---------------------------------------------

# A partner's keys come from its own contact information and from that of
# its contact persons; a contact's from its own. So a write that moves a
# contact to another partner, or a piece of contact information to another
# partner or contact, changes the keys of the owners it left as well as of
# those it joined: every path below names both (the old owners from the
# write's changes, or from the record as it was), or the old owner keeps
# stale keys and is still paired by them.

def _partners_of_contacts(ids):
    from . import models as m
    ids = sorted({int(i) for i in ids if i})
    if not ids:
        return []
    C = m.Contact
    return [p for (p,) in C.select(C.partner).distinct().where(among(C.id, ids)).tuples()]


def _owners(entity, partners, contacts):
    """The (entity, ids) to reindex for owners ``partners`` and ``contacts``
    (a contact's partner among them)."""
    partners = {int(p) for p in partners if p}
    contacts = {int(c) for c in contacts if c}
    partners.update(_partners_of_contacts(contacts))
    out = [("core.partner", sorted(partners))]
    if contacts:
        out.append(("core.contact", sorted(contacts)))
    return out


def _old(changes, field):
    """The old value of ``field`` in a saved record's changes, if it changed."""
    old = (changes or {}).get(field)
    return [old[0]] if old else []


def partners_touched(entity, record, changes=None):
    """(entity, ids) whose keys a saved record of ``entity`` changes: the
    owners it has, and those ``changes`` (``{field: (old, new)}``) say it
    left."""
    if entity == "core.partner":
        return [("core.partner", [record.id])]
    if entity == "core.contact":
        return [("core.partner", sorted({record.partner_id, *_old(changes, "partner")} - {None})),
                ("core.contact", [record.id])]
    if entity == "core.contact_info":
        return _owners(entity, [record.partner_id, *_old(changes, "partner")],
                       [record.contact_id, *_old(changes, "contact")])
    return []


def deleted_touched(entity, record):
    """(entity, ids) whose keys a record deleted for good took with it (a
    contact's information goes with the contact)."""
    if entity == "core.partner":
        return [("core.partner", [record.id])]
    if entity == "core.contact":
        return [("core.partner", [record.partner_id]), ("core.contact", [record.id])]
    if entity == "core.contact_info":
        return _owners(entity, [record.partner_id], [record.contact_id])
    return []


def merged_touched(entity, survivor, merged):
    """(entity, ids) whose keys a merge changes beyond the two records (the
    kernel reindexes those): a merged contact's information moves to the
    survivor, so the partners of both contacts (the survivor's as it was
    and as it is: a merge may take the merged one's partner)."""
    if entity != "core.contact":
        return []
    return [("core.partner", sorted({survivor.partner_id, merged.partner_id,
                                     *_partners_of_contacts([survivor.id])} - {None}))]


def imported_touched(entity, ids, changes=None):
    """(entity, ids) whose keys an import of ``ids`` (first, last) changes;
    ``changes`` (``{field: [(id, old, new)]}`` of the stored rows an update
    changed) name the owners the updated rows left."""
    from . import models as m
    changes = changes or {}
    if ids is None:
        return [(e, None) for e in ("core.partner", "core.contact")]
    first, last = ids

    def rows(query):   # as the driver gives them: an import's span is up to millions of rows
        return m.Partner._meta.database.execute(query).fetchall()

    def left(field):   # the owners the updated rows had before
        return {old for _, old, _ in changes.get(field, ()) if old is not None}

    span = lambda model: model.select(model.id).where(model.id.between(first, last))  # noqa: E731
    if entity == "core.partner":
        return [("core.partner", [r for (r,) in rows(span(m.Partner))])]
    if entity == "core.contact":
        C = m.Contact
        contacts = [c for (c,) in rows(span(C))]
        partners = [p for (p,) in rows(C.select(C.partner).distinct().where(C.id.between(first, last)))]
        return [("core.contact", contacts), ("core.partner", sorted({*partners, *left("partner")}))]
    if entity == "core.contact_info":
        ci = m.ContactInfo
        rows = list(ci.select(ci.partner, ci.contact).where(ci.id.between(first, last)).tuples())
        return _owners(entity, [p for p, _ in rows] + list(left("partner")),
                       [c for _, c in rows] + list(left("contact")))
    return []


def merge_core(crm, entity, survivor, merged):
    """Segment members are plain ids: move the merged partner's memberships,
    closing the ones the survivor already has."""
    if entity != "core.partner":
        return
    from crmkit import utcnow
    from . import models as m
    sm = m.SegmentMember
    partner_segments = m.Segment.select(m.Segment.id).where(m.Segment.kind == "partner")
    both = sm.select(sm.segment).where((sm.member_id == survivor.id) & sm.removed_at.is_null()
                                       & sm.segment.in_(partner_segments))
    sm.update(removed_at=utcnow()).where((sm.member_id == merged.id) & sm.removed_at.is_null()
                                         & sm.segment.in_(both)).execute()
    sm.update(member_id=survivor.id).where((sm.member_id == merged.id)
                                           & sm.segment.in_(partner_segments)).execute()
