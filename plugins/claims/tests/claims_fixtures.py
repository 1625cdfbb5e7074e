"""Small builders shared by the claims tests (a uniquely named module, as
every plugin's tests share one pytest session)."""
import datetime as dt

MSK = dt.timezone(dt.timedelta(hours=3))


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=MSK)


def base(crm):
    """Two partners in two access groups, users, a cause; returns ids."""
    groups = {name: crm.create("core.access_group", {"name": name}).id for name in ("Опт", "Розница")}
    dept = crm.create("core.department", {"name": "Отдел закупок"}).id
    users = {}
    for login, roles in (("volkov", "claims_officer"), ("petrov", "readonly"), ("orlov", "manager")):
        users[login] = crm.create("core.user", {"login": login, "name": login.title(), "roles": roles,
                                                "department": dept}).id
    crm.create("core.user_access", {"user": users["volkov"], "access_group": groups["Опт"]})
    crm.create("core.user_access", {"user": users["volkov"], "access_group": groups["Розница"]})
    crm.create("core.user_access", {"user": users["orlov"], "access_group": groups["Опт"]})
    wholesale = crm.create("core.partner", {"name": "Протон", "access_group": groups["Опт"]}).id
    retail = crm.create("core.partner", {"name": "Алхимов А.А.", "kind": "individual",
                                         "access_group": groups["Розница"]}).id
    contact = crm.create("core.contact", {"partner": wholesale, "name": "Кузнецов"}).id
    cause = crm.create("claims.cause", {"name": "Испорченный товар"}).id
    return {"users": users, "dept": dept, "wholesale": wholesale, "retail": retail, "contact": contact,
            "cause": cause}


def claim(crm, ids, who="wholesale", **extra):
    data = {"name": "Претензия по качеству товара", "client": ids[who], "cause": ids["cause"],
            "responsible": ids["users"]["volkov"], "registered_at": at("2015-05-04T00:00:00"),
            "planned_end": at("2015-05-14T18:00:00"), **extra}
    return crm.create("claims.claim", data)
