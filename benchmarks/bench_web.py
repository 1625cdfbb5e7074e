"""Server time of the web pages (the application answering one request,
measured in-process through Flask's test client, so the network is not in
the figure) against the same data read by bare SQL, and each page's size:

- the deal list: 50 of 200,000 deals, filtered (in work) and sorted by
  potential, with its references shown by name;
- a partner card's interactions tab with 1,000 interactions (the tab shows
  the newest 50 and a link to the rest); its floor is every statement the
  page runs for one request (the session, the user and their access
  groups, the partner, the holding, the timeline and its count, the
  references shown, the attribute definitions, the header's reminder
  count), captured from the page and run bare with the same parameters
  through the same driver;
- the pipeline board of a kind with 5,000 open deals (per-column counts and
  sums, the largest deals of each column).

The data is ``bench_deals``'s 200,000 deals; setup adds the 1,000
interactions and trims the manual kind to 5,000 open deals. The pages run as
an administrator, so the bare SQL (which applies no access filter) reads
the same rows.
"""
from __future__ import annotations

import statistics

from common import Figure, Stopwatch, open_crm

import bench_deals

TITLE = "Web pages: deal list, partner card, pipeline board"
REQUIRES = ("deals", "web")
PLUGINS = ("deals", "web")
REPEAT = 15
PASSWORD = "benchmark password"
MAX_HTML = 200 * 1024


def setup(ctx):
    sizes = bench_deals.setup(ctx)
    import datetime as dt
    from crmkit.core.passwords import set_password
    crm = open_crm(ctx, "main", plugins=PLUGINS)
    crm.create("core.user", {"login": "benchadmin", "name": "Bench", "roles": "administrator"})
    set_password(crm, "benchadmin", PASSWORD)
    crm.close()
    con = ctx.connect_bare("main")
    cur = con.cursor()
    p = ctx.param
    cur.execute("SELECT id FROM core_partner ORDER BY id LIMIT 1")
    partner = cur.fetchone()[0]
    cur.execute("SELECT id FROM core_user WHERE login = 'manager1'")
    user = cur.fetchone()[0]
    start = dt.datetime(2023, 1, 1, 9, 0)
    rows = [(f"I-{i:08d}", "call", "outgoing", start + dt.timedelta(hours=7 * i), f"Звонок {i}", user, partner,
             True, False, start, start) for i in range(1000)]
    cur.executemany("INSERT INTO core_interaction (number, kind, direction, date, topic, responsible_id, partner_id, "
                    "done, deletion_mark, created_at, changed_at, duration, text, how) "
                    f"VALUES ({', '.join([p] * 11)}, 0, '', '')", rows)
    cur.execute("SELECT id FROM deals_kind WHERE name = 'Произвольная продажа'")
    kind = cur.fetchone()[0]
    cur.execute(f"SELECT id FROM deals_deal WHERE kind_id = {p} AND status = 'in_work' ORDER BY id", (kind,))
    extra = [r[0] for r in cur.fetchall()][5000:]
    for i in range(0, len(extra), 5000):
        chunk = extra[i:i + 5000]
        cur.execute(f"UPDATE deals_deal SET status = 'lost' WHERE id IN ({', '.join(map(str, chunk))})")
    cur.execute("ANALYZE")
    if ctx.db:
        con.commit()
    con.close()
    return {**sizes, "partner": partner, "kind": kind, "interactions": 1000, "open_on_board": 5000}


def _app(ctx):
    import re
    from crmkit_web.app import create_app
    app = create_app(ctx.url("main"), plugins=list(PLUGINS), migrate=False)
    client = app.test_client()
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]*)"', page.text).group(1)
    r = client.post("/signin", data={"csrf_token": token, "login": "benchadmin", "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    return client


def _page(ctx, path, client=None):
    """``(median seconds, HTML bytes, median CPU seconds)`` of ``REPEAT``
    requests of ``path`` after a warm-up."""
    import time
    import pandas  # noqa: F401  -- loaded in any running server; not part of the figure
    client = client or _app(ctx)
    client.get(path)                      # warm: templates compiled, statements prepared
    times, cpu, body = [], [], b""
    for _ in range(REPEAT):
        c0 = time.process_time()
        with Stopwatch() as sw:
            r = client.get(path)
        cpu.append(time.process_time() - c0)
        assert r.status_code == 200, (path, r.status_code)
        times.append(sw.seconds)
        body = r.data
    return statistics.median(times), len(body), statistics.median(cpu)


def _floor(ctx, statements):
    """The median time of running ``statements`` (SQL texts, or ``(sql,
    parameters)``) bare, each fetched to the end."""
    con = ctx.connect_bare("main")
    cur = con.cursor()
    statements = [s if isinstance(s, tuple) else (s, ()) for s in statements]
    for sql, params in statements:        # warm
        cur.execute(sql, params)
        if cur.description:
            cur.fetchall()
    times = []
    for _ in range(REPEAT):
        with Stopwatch() as sw:
            for sql, params in statements:
                cur.execute(sql, params)
                if cur.description:
                    cur.fetchall()
        times.append(sw.seconds)
    if ctx.db:
        con.rollback()
    con.close()
    return statistics.median(times)


def captured(ctx, path):
    """Every statement one request of ``path`` runs, with its parameters as
    peewee hands them to the driver (after a warm-up request)."""
    client = _app(ctx)
    client.get(path)
    from crmkit.kernel import db as kdb
    database = kdb.database.obj
    seen = []
    run = database.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        seen.append((sql, tuple(params or ())))
        return run(sql, params, *args, **kwargs)
    database.execute_sql = spy
    try:
        assert client.get(path).status_code == 200
    finally:
        del database.execute_sql
    return seen


def _false(ctx):
    return "0" if ctx.backend == "sqlite" else "false"


LIST_PATH = "/e/deals.deal/?status=in_work&sort=-potential"
def list_sql(ctx):
    return [f"SELECT d.*, p.name, u.name, k.name, s.name, l.name, a.name FROM deals_deal d "
            "JOIN core_partner p ON p.id = d.client_id LEFT JOIN core_user u ON u.id = d.responsible_id "
            "LEFT JOIN deals_kind k ON k.id = d.kind_id LEFT JOIN deals_stage s ON s.id = d.stage_id "
            "LEFT JOIN deals_loss_reason l ON l.id = d.loss_reason_id LEFT JOIN deals_agreement a "
            "ON a.id = d.agreement_id "
            f"WHERE d.status = 'in_work' AND d.deletion_mark = {_false(ctx)} "
            "ORDER BY d.potential DESC, d.id LIMIT 51"]


def card_path(ctx):
    return f"/e/core.partner/{ctx.extra['partner']}?tab=interactions"


def card_sql(ctx):
    pid = ctx.extra["partner"]
    return [f"SELECT * FROM core_partner WHERE id = {pid}",
            "SELECT i.*, c.name, u.name FROM core_interaction i LEFT JOIN core_contact c ON c.id = i.contact_id "
            f"LEFT JOIN core_user u ON u.id = i.responsible_id WHERE i.partner_id = {pid} "
            f"AND i.deletion_mark = {_false(ctx)} ORDER BY i.date DESC, i.id DESC LIMIT 50",
            f"SELECT COUNT(*) FROM core_interaction WHERE partner_id = {pid} AND deletion_mark = {_false(ctx)}"]


def board_path(ctx):
    return f"/deals/board?kind={ctx.extra['kind']}"


def board_sql(ctx):
    kind, f = ctx.extra["kind"], _false(ctx)
    out = [f"SELECT stage_id, COUNT(id), SUM(potential) FROM deals_deal WHERE kind_id = {kind} "
           f"AND status = 'in_work' AND deletion_mark = {f} GROUP BY stage_id",
           f"SELECT status, COUNT(id), SUM(potential) FROM deals_deal WHERE kind_id = {kind} "
           f"AND status <> 'in_work' AND deletion_mark = {f} GROUP BY status"]
    for stage in ctx.extra.get("stages", []):
        out.append(f"SELECT * FROM deals_deal WHERE kind_id = {kind} AND status = 'in_work' AND stage_id = {stage} "
                   f"AND deletion_mark = {f} ORDER BY potential DESC, id LIMIT 40")
    for status in ("won", "lost"):
        out.append(f"SELECT * FROM deals_deal WHERE kind_id = {kind} AND status = '{status}' "
                   f"AND deletion_mark = {f} ORDER BY closed_at DESC, id DESC LIMIT 40")
    return out


def _stages(ctx):
    con = ctx.connect_bare("main")
    cur = con.cursor()
    cur.execute(f"SELECT stage_id FROM deals_kind_stage WHERE kind_id = {ctx.extra['kind']} ORDER BY sequence")
    ctx.extra["stages"] = [r[0] for r in cur.fetchall()]
    con.close()


def floor_list(ctx):
    return {"floor": _floor(ctx, list_sql(ctx))}


def crmkit_list(ctx):
    seconds, size, _ = _page(ctx, LIST_PATH)
    return {"crmkit": seconds, "info": {"html_kb": round(size / 1024, 1)}}


def floor_card(ctx):
    statements = captured(ctx, card_path(ctx))
    return {"floor": _floor(ctx, statements),
            "info": {"statements": len(statements),
                     "floor_three_statements_s": _floor(ctx, card_sql(ctx))}}


def crmkit_card(ctx):
    seconds, size, cpu = _page(ctx, card_path(ctx))
    return {"crmkit": seconds, "info": {"html_kb": round(size / 1024, 1), "cpu_ms": round(cpu * 1e3, 2)}}


FLASK_ROW = ('<li><span class="when">{{ r.date }}</span> <strong>{{ r.kind }}</strong>'
             '{% if r.direction %} · {{ r.direction }}{% endif %}\n'
             ' — <a href="/e/core.interaction/{{ r.id }}">{{ r.topic or "(no topic)" }}</a>\n'
             ' <span class="muted"><a href="/e/core.partner/{{ r.partner_id }}">{{ partner }}</a>'
             '{% if r.responsible_id %} · <a href="/e/core.user/{{ r.responsible_id }}">{{ user }}</a>'
             '{% endif %}</span></li>\n')


def floor_card_flask(ctx):
    """The floor of any Flask + Jinja page of the card's size: a bare Flask
    application whose one view runs the card's statements bare (captured
    from the page, through the same driver) and renders, with Jinja and
    autoescape, the card's own layout (its HTML around the timeline, as
    text) and the timeline's 50 rows from the fetched tuples: a loop, an
    escape per value, a link per reference. No session, access, i18n or
    URL building of its own; measured through Flask's test client as the
    page is."""
    import jinja2
    from flask import Flask, render_template_string
    from markupsafe import Markup
    statements = captured(ctx, card_path(ctx))
    html = _app(ctx).get(card_path(ctx)).text
    start, end = html.index('<ol class="timeline">'), html.index("</ol>")
    head, tail = Markup(html[:start] + '<ol class="timeline">\n'), Markup(html[end:])
    page = "{{ head }}{% for r in rows %}" + FLASK_ROW + "{% endfor %}{{ tail }}"
    con = ctx.connect_bare("main")
    cur = con.cursor()
    app = Flask("bare_card")
    app.jinja_env.undefined = jinja2.StrictUndefined
    timeline = next(i for i, (sql, _) in enumerate(statements)
                    if "core_interaction" in sql and "COUNT" not in sql and "LIMIT" in sql)

    @app.get("/card")
    def card():
        rows = []
        for i, (sql, params) in enumerate(statements):
            cur.execute(sql, params)
            fetched = cur.fetchall() if cur.description else []
            if i == timeline:
                names = [d[0] for d in cur.description]
                rows = [dict(zip(names, r)) for r in fetched]
        for r in rows:
            r["date"] = str(r["date"])[:16]
        return render_template_string(page, head=head, tail=tail, rows=rows, partner="Partner", user="User")
    seconds, size, cpu = _page(ctx, "/card", app.test_client())
    if ctx.db:
        con.rollback()
    con.close()
    return {"floor": seconds, "info": {"html_kb": round(size / 1024, 1), "cpu_ms": round(cpu * 1e3, 2),
                                       "statements": len(statements)}}


def floor_board(ctx):
    _stages(ctx)
    return {"floor": _floor(ctx, board_sql(ctx))}


def crmkit_board(ctx):
    seconds, size, _ = _page(ctx, board_path(ctx))
    return {"crmkit": seconds, "info": {"html_kb": round(size / 1024, 1)}}


def html_sizes(ctx):
    client = _app(ctx)
    sizes = {path: len(client.get(path).data) for path in (LIST_PATH, card_path(ctx), board_path(ctx))}
    return {"ok": all(s < MAX_HTML for s in sizes.values()),
            "info": {"html_kb": {p: round(s / 1024, 1) for p, s in sizes.items()}}}


FIGURES = [
    Figure("web_deal_list", "Deal list page: 50 of {deals} deals, in work, by potential", "time", 2,
           "the same SELECT with its joins, bare", ("floor_list", "crmkit_list")),
    Figure("web_partner_card", "Partner card, interactions tab: {interactions} interactions", "time", 2,
           "every statement the page runs, bare", ("floor_card", "crmkit_card")),
    Figure("web_partner_card_flask", "Partner card against a bare Flask + Jinja page of its size", "time", None,
           "its statements bare + its HTML by Jinja", ("floor_card_flask",), crmkit_from="web_partner_card"),
    Figure("web_board", "Pipeline board: {open_on_board} open deals of one kind", "time", 2,
           "per-column GROUP BY and top 40, bare", ("floor_board", "crmkit_board")),
    Figure("web_html_size", "Each of those pages' HTML under 200 KB", "check", None, "", ("html_sizes",)),
]
