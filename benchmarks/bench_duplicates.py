"""Duplicate candidates over 100,000 partners with 300,000 contact persons.

The base (inserted bare, untimed) has partners with INNs, phones and
mailboxes, three contact persons each with their own email, and planted
duplicates: partners sharing an INN, and names spelt another way
(``ООО «X»``, ``X LLC``, upper case). The duplicate key index is built once
(timed for information), then:

- candidate groups of every rule (``crm.duplicate_groups``, the
  administrator), against the floor of the exact keys grouped by hand in
  SQL (INN, phone, email domain ``GROUP BY ... HAVING COUNT(*) > 1``);
  target 20 s and 1 GB here;
- matching one new partner (``crm.duplicates``, what every create asks),
  median of 300 calls, target 20 ms, against one indexed look-up of an INN.
"""
from __future__ import annotations

import statistics
import time

from common import Figure, insert_rows, open_crm, rng, seed_core

TITLE = "Duplicate candidates and matching"
REQUIRES = ()

WORDS = ("Альфа Бета Север Восток Гранит Лидер Прогресс Вектор Сигма Орион Меридиан Радуга Феникс Титан "
         "Атлант Заря Кедр Ладога Байкал Алтай Нева Волга Урал Енисей Амур Печора Онега Кама Дон Nord "
         "Atlas Vega Polar Delta Omega Zenith Apex Nova Terra Строй Торг Снаб Пром Логистик Трейд Сервис "
         "Маркет Инвест Техно Агро Энерго Металл Пласт Хим Мебель Текстиль Фарм Медиа Софт Плюс Групп "
         "Холдинг Центр Регион Проект Сибирь Юг Запад Инжиниринг Дистрибуция Поставка Комплект").split()
PUBLIC = ("mail.ru", "gmail.com", "yandex.ru")


def _inn(r):
    digits = list(r.integers(0, 10, 9))
    check = sum(w * int(d) for w, d in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), digits)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def setup(ctx):
    n = ctx.n(100_000, 10_000)
    planted = n // 100
    seed_core(ctx, "main", 0)
    r = rng(71)
    syllables = ["".join(r.choice(list("бвгдклмнпрстфхцчш"), 1)) + "".join(r.choice(list("аеиоуя"), 1))
                 for _ in range(400)]
    # a name: two words, a made-up stem and sometimes a number, mostly unique, as in a real base
    w1, w2, s1, s2 = (r.integers(0, len(WORDS), n), r.integers(0, len(WORDS), n),
                      r.integers(0, len(syllables), n), r.integers(0, len(syllables), n))
    names = [f"{WORDS[a]} {syllables[b]}{syllables[c]}{WORDS[d].lower()}" for a, d, b, c in zip(w1, w2, s1, s2)]
    inns = [_inn(r) if r.random() < 0.6 else "" for _ in range(n)]
    for k in range(planted):            # planted: a variant of an earlier name, the same INN
        names[n - 1 - k] = ("ООО «{}»", "{} LLC", "{}")[k % 3].format(names[k] if k % 3 != 2 else names[k].upper())
        inns[n - 1 - 2 * planted - k] = inns[k] or _inn(r)
        inns[k] = inns[n - 1 - 2 * planted - k]
    now = "2024-06-01 12:00:00"
    partners = [(f"DP{i + 1:07d}", "company", names[i], names[i], inns[i], "", True, False, False, False, False,
                 now, now, "") for i in range(n)]
    con = ctx.connect_bare("main")
    insert_rows(con, "core_partner", ("code", "kind", "name", "public_name", "inn", "kpp", "is_client",
                                      "is_supplier", "is_competitor", "is_other", "deletion_mark", "created_at",
                                      "changed_at", "comment"), partners, ctx.param)
    cur = con.cursor()
    cur.execute("SELECT MIN(id) FROM core_partner")
    first = cur.fetchone()[0]
    contacts = [(first + i // 3, f"Контакт {i}", "", "", "", False, now, now) for i in range(3 * n)]
    insert_rows(con, "core_contact", ("partner_id", "name", "position", "role", "comment", "deletion_mark",
                                      "created_at", "changed_at"), contacts, ctx.param)
    cur.execute("SELECT MIN(id) FROM core_contact")
    first_contact = cur.fetchone()[0]
    info = []
    for i in range(n):
        phone = f"+79{int(r.integers(10**8, 10**9)):09d}"
        info.append((first + i, None, "phone", phone, phone))
        domain = f"company{i}.ru" if r.random() < 0.7 else PUBLIC[i % 3]
        info.append((first + i, None, "email", f"info{i}@{domain}", f"info{i}@{domain}"))
    for j in range(3 * n):
        email = f"person{j}@company{j // 3}.ru"
        info.append((None, first_contact + j, "email", email, email))
    insert_rows(con, "core_contact_info", ("partner_id", "contact_id", "kind", "value", "normalized", "label",
                                           "comment", "deletion_mark", "created_at", "changed_at"),
                [(*row, "", "", False, now, now) for row in info], ctx.param)
    con.close()
    crm = open_crm(ctx, "main")
    started = time.perf_counter()
    with crm.transaction():
        keys = crm.reindex_duplicates("core.partner") + crm.reindex_duplicates("core.contact")
    index_s = time.perf_counter() - started
    crm.close()
    probes = [names[int(i)] for i in r.integers(0, n, 300)]
    return {"partners": n, "contacts": 3 * n, "keys": keys, "index_s": round(index_s, 2), "probes": probes,
            "probe_inns": [x for x in inns if x][:300]}


def groups(ctx):
    crm = open_crm(ctx, "main")
    started = time.perf_counter()
    frame = crm.duplicate_groups("core.partner")
    seconds = time.perf_counter() - started
    return {"crmkit": seconds, "info": {"records in groups": len(frame),
                                        "groups": int(frame["group"].max()) if len(frame) else 0,
                                        "index build s": ctx.extra["index_s"], "keys": ctx.extra["keys"]}}


def groups_floor(ctx):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    domain = ("substr(normalized, instr(normalized, '@') + 1)" if ctx.backend == "sqlite"
              else "split_part(normalized, '@', 2)")
    started = time.perf_counter()
    for sql in ("SELECT inn, COUNT(*) FROM core_partner WHERE inn <> '' GROUP BY inn HAVING COUNT(*) > 1",
                "SELECT normalized, COUNT(*) FROM core_contact_info WHERE kind = 'phone' "
                "GROUP BY normalized HAVING COUNT(*) > 1",
                f"SELECT {domain}, COUNT(DISTINCT partner_id) FROM core_contact_info WHERE kind = 'email' "
                f"AND partner_id IS NOT NULL GROUP BY {domain} HAVING COUNT(DISTINCT partner_id) > 1"):
        cur.execute(sql)
        cur.fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return {"floor": seconds}


def under_20_s(ctx):
    crm = open_crm(ctx, "main")
    started = time.perf_counter()
    crm.duplicate_groups("core.partner")
    seconds = time.perf_counter() - started
    return {"crmkit": seconds, "ok": seconds <= 20, "info": {"seconds": round(seconds, 2)}}


def match_one(ctx):
    crm = open_crm(ctx, "main")
    times = []
    for name, inn in zip(ctx.extra["probes"], ctx.extra["probe_inns"]):
        started = time.perf_counter()
        crm.duplicates("core.partner", {"name": f"ООО {name}", "inn": inn, "phone": "+7 916 000 00 00",
                                        "email": "x@company1.ru"})
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    con = ctx.connect_bare("main")
    cur = con.cursor()
    bare = []
    for inn in ctx.extra["probe_inns"]:
        started = time.perf_counter()
        cur.execute(f"SELECT id FROM core_partner WHERE inn = {ctx.param}", (inn,))
        cur.fetchall()
        bare.append(time.perf_counter() - started)
    con.close()
    return {"crmkit": median, "floor": statistics.median(bare), "ok": median <= 0.020,
            "info": {"median ms": round(median * 1000, 2)}}


FIGURES = [
    Figure("groups", "Candidate groups, {partners} partners, {contacts} contacts", "time", None,
           "exact keys grouped in SQL", ("groups", "groups_floor")),
    Figure("groups_20s", "Candidate groups within 20 s", "check", None, "", ("under_20_s",)),
    Figure("groups_memory", "Candidate groups peak memory", "memory", 1024, "", (), memory_of="groups"),
    Figure("match", "Match one new partner (median)", "time", None, "one indexed INN look-up", ("match_one",)),
    Figure("match_20ms", "Match one new partner within 20 ms", "check", None, "", ("match_one",)),
]
