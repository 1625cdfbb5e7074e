"""A generated base of partners with planted duplicates of every kind, and
the pairs that were planted (the truth the candidates are scored against).
Used by the tests and by ``benchmarks/bench_duplicates.py``."""
from __future__ import annotations

import random

FIRST = ("Альфа", "Бета", "Север", "Восток", "Гранит", "Лидер", "Прогресс", "Вектор", "Сигма", "Орион",
         "Меридиан", "Радуга", "Феникс", "Титан", "Атлант", "Заря", "Кедр", "Ладога", "Байкал", "Алтай",
         "Нева", "Волга", "Урал", "Енисей", "Амур", "Печора", "Онега", "Кама", "Ока", "Дон",
         "Nord", "Atlas", "Vega", "Polar", "Delta", "Omega", "Zenith", "Apex", "Nova", "Terra")
SECOND = ("Строй", "Торг", "Снаб", "Пром", "Логистик", "Трейд", "Сервис", "Маркет", "Инвест", "Техно",
          "Агро", "Энерго", "Металл", "Пласт", "Хим", "Мебель", "Текстиль", "Фарм", "Медиа", "Софт",
          "Steel", "Foods", "Systems", "Motors", "Cargo", "Labs", "Works", "Tools", "Parts", "Trade")
THIRD = ("", "Плюс", "Групп", "Холдинг", "Центр", "Регион", "Проект", "Сибирь", "Юг", "Запад",
         "Инжиниринг", "Дистрибуция", "Поставка", "Комплект", "Развитие")


def inn10(rng) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    check = sum(w * d for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), digits)) % 11 % 10
    return "".join(map(str, digits + [check]))


def _names(rng, n):
    seen, out = set(), []
    while len(out) < n:
        name = " ".join(p for p in (rng.choice(FIRST) + rng.choice(SECOND).lower(), rng.choice(THIRD),
                                    str(rng.randrange(1, 999)) if rng.random() < 0.3 else "") if p)
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _variant(rng, name):
    """The same company spelt another way: legal form, quotes, case, ё."""
    forms = (lambda s: f"ООО «{s}»", lambda s: f"{s} LLC", lambda s: s.upper(), lambda s: f'АО "{s}"',
             lambda s: f"{s}, ООО", lambda s: s.replace("е", "ё", 1) if "е" in s else f"ИП {s}",
             lambda s: f"  {s.lower()}  ")
    return rng.choice(forms)(name)


def plant(n_partners=1500, n_each=40, seed=7):
    """``(partners, contacts, truth)``: partner dicts (with ``email``/``phone``
    lists of the partner's own contact information), contact dicts with
    ``partner`` as a list index, and ``{rule: {(i, j)}}`` planted pairs of
    list indices."""
    rng = random.Random(seed)
    names = _names(rng, n_partners + 9 * n_each)
    partners, contacts = [], []
    truth = {"name": set(), "inn": set(), "inn_kpp": set(), "phone": set(), "email_domain": set()}

    def add(name, **extra):
        partners.append({"name": name, "inn": "", "kpp": "", "emails": [], "phones": [], **extra})
        return len(partners) - 1

    base = [add(names.pop()) for _ in range(n_partners)]
    used_inns = set()
    for i in base:                    # most partners have an INN of their own, a phone and a mailbox
        if rng.random() < 0.6:
            inn = inn10(rng)
            while inn in used_inns:
                inn = inn10(rng)
            used_inns.add(inn)
            partners[i]["inn"] = inn
        partners[i]["phones"].append(f"+7 9{rng.randrange(10**8, 10**9):09d}")
        partners[i]["emails"].append(f"info@company{i}.ru")
    for k in range(n_each):
        a = base[k]
        b = add(_variant(rng, partners[a]["name"]))
        truth["name"].add((a, b))
        # same INN, different names
        inn = inn10(rng)
        while inn in used_inns:
            inn = inn10(rng)
        used_inns.add(inn)
        x, y = add(names.pop(), inn=inn), add(names.pop(), inn=inn)
        truth["inn"].add((x, y))
        # a branch registered twice: the same INN and KPP
        inn2 = inn10(rng)
        while inn2 in used_inns:
            inn2 = inn10(rng)
        used_inns.add(inn2)
        kpp = f"{rng.randrange(1000, 9999)}01{rng.randrange(100, 999)}"
        x2, y2 = add(names.pop(), inn=inn2, kpp=kpp), add(names.pop(), inn=inn2, kpp=kpp)
        truth["inn_kpp"].add((x2, y2))
        # the same phone, written two ways
        digits = f"9{rng.randrange(10**8, 10**9):09d}"
        x3 = add(names.pop(), phones=[f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"])
        y3 = add(names.pop(), phones=[f"+7 {digits}"])
        truth["phone"].add((x3, y3))
        # two contact persons with mailboxes on one company domain
        x4, y4 = add(names.pop()), add(names.pop())
        domain = f"firm{k}-planted.ru"
        contacts.append({"partner": x4, "name": "Иван Петров", "email": f"ivan@{domain}"})
        contacts.append({"partner": y4, "name": "Анна Сидорова", "email": f"anna@{domain}"})
        truth["email_domain"].add((x4, y4))
    return partners, contacts, truth


def load(crm, partners, contacts, group_of=None):
    """Create the base through the write path; returns partner ids by index."""
    ids = []
    with crm.transaction():
        for i, p in enumerate(partners):
            data = {"name": p["name"], "inn": p["inn"], "kpp": p["kpp"]}
            if group_of is not None:
                data["access_group"] = group_of(i)
            rec = crm.create("core.partner", data)
            ids.append(rec.id)
            for phone in p["phones"]:
                crm.create("core.contact_info", {"partner": rec.id, "kind": "phone", "value": phone})
            for email in p["emails"]:
                crm.create("core.contact_info", {"partner": rec.id, "kind": "email", "value": email})
        for c in contacts:
            contact = crm.create("core.contact", {"partner": ids[c["partner"]], "name": c["name"]})
            crm.create("core.contact_info", {"contact": contact.id, "kind": "email", "value": c["email"]})
    return ids
