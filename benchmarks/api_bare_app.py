"""The floor of the API list benchmark: a bare Flask app under gunicorn
running the very SQL crmkit runs for the page (captured in the setup), one
database connection per request as crmkit opens, rows as JSON. No token,
no access filter of its own (the captured SQL carries it), no schema."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import os

from flask import Flask, Response, request

SQL = json.loads(os.environ["BARE_SQL"])          # {status: [sql, params]}
DB = os.environ["BARE_DB"]                        # sqlite file path or postgresql URL

app = Flask(__name__)


def connect():
    if DB.startswith("postgresql"):
        import psycopg2
        return psycopg2.connect(DB)
    import sqlite3
    con = sqlite3.connect(DB)
    con.execute("PRAGMA journal_mode=wal")
    return con


def plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


@app.get("/deals")
def deals():
    sql, params = SQL[request.args.get("status", "in_work")]
    con = connect()
    try:
        cur = con.cursor()
        cur.execute(sql, params)
        names = [d[0] for d in cur.description]
        rows = [{n: plain(v) for n, v in zip(names, row)} for row in cur.fetchall()]
    finally:
        con.close()
    return Response(json.dumps({"data": rows[:50], "next": None}, ensure_ascii=False), mimetype="application/json")
