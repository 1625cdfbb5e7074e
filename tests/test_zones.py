"""Time zones: a moment typed without an offset is a local time of the
acting user's zone (their ``time_zone``, else CRMKIT_TZ, else the system's)
in the CLI, imports, filters, actions and report parameters; storage is UTC;
every output shows moments in the user's zone; dates stay dates."""
import datetime as dt
import json

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()

UTC = dt.timezone.utc


@pytest.fixture
def moscow(crm):
    """A Moscow manager and a Vladivostok one, a partner both see."""
    crm.create("core.user", {"login": "msk", "name": "Москва", "roles": "manager", "time_zone": "Europe/Moscow"})
    crm.create("core.user", {"login": "vvo", "name": "Владивосток", "roles": "manager",
                             "time_zone": "Asia/Vladivostok"})
    crm.create("core.user", {"login": "plain", "name": "Без зоны", "roles": "manager"})
    crm.create("core.partner", {"name": "Протон", "kind": "company"})
    return crm


def stored(crm, entity, number):
    """The moment in the database, as the column holds it (naive UTC text on SQLite)."""
    model = crm.model(entity)
    return model.select(model.due).where(model.number == number).scalar()


def test_typed_time_is_the_users_local_time(moscow):
    as_msk = moscow.as_user("msk")
    task = as_msk.create("core.task", {"title": "Позвонить", "due": "2015-11-01 10:00"})
    assert task.due == dt.datetime(2015, 11, 1, 7, 0, tzinfo=UTC)          # storage stays UTC
    vvo = moscow.as_user("vvo").create("core.task", {"title": "Позвонить", "due": "01.11.2015 10:00"})
    assert vvo.due == dt.datetime(2015, 11, 1, 0, 0, tzinfo=UTC)
    with_offset = as_msk.create("core.task", {"title": "x", "due": "2015-11-01T10:00:00+00:00"})
    assert with_offset.due == dt.datetime(2015, 11, 1, 10, 0, tzinfo=UTC)   # an offset given is kept
    as_msk.update("core.task", task.id, {"due": dt.datetime(2015, 11, 2, 9, 30)})   # naive Python value too
    assert moscow.get("core.task", task.id).due == dt.datetime(2015, 11, 2, 6, 30, tzinfo=UTC)


def test_without_a_user_zone_crmkit_tz_then_the_system(moscow, monkeypatch):
    monkeypatch.setenv("CRMKIT_TZ", "Asia/Yekaterinburg")
    plain = moscow.as_user("plain")
    assert plain.create("core.task", {"title": "x", "due": "2015-11-01 10:00"}).due == \
        dt.datetime(2015, 11, 1, 5, 0, tzinfo=UTC)
    monkeypatch.delenv("CRMKIT_TZ")
    system = dt.datetime(2015, 11, 1, 10, 0).astimezone().astimezone(UTC)
    assert moscow.as_user("plain").create("core.task", {"title": "x", "due": "2015-11-01 10:00"}).due == system


def test_unknown_zone_of_a_user_is_refused_naming_the_field(moscow):
    with pytest.raises(ValidationError) as exc:
        moscow.update("core.user", "plain", {"time_zone": "Europe/Moskow"})
    assert "time_zone" in exc.value.errors and "Europe/Moscow" in str(exc.value)
    assert moscow.get("core.user", "plain").time_zone == ""


def test_misspelled_crmkit_tz_is_one_line(cli, moscow, monkeypatch):
    monkeypatch.setenv("CRMKIT_TZ", "Europe/Moskow")
    result = cli("list", "core.task")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: CRMKIT_TZ: unknown time zone 'Europe/Moskow'; did you mean Europe/Moscow?"]
    monkeypatch.setenv("CRMKIT_TZ", "../../etc/passwd")
    result = cli("list", "core.task")
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "CRMKIT_TZ: unknown time zone" in result.output


def test_cli_reads_and_shows_in_the_users_zone(cli, moscow):
    out = cli("create", "core.task", "title=Позвонить", "due=2015-11-01 10:00", user="msk")
    assert out.exit_code == 0, out.output
    task = moscow.find("core.task", title="Позвонить")[0]
    assert task.due == dt.datetime(2015, 11, 1, 7, 0, tzinfo=UTC)
    assert "2015-11-01 10:00" in cli("list", "core.task", user="msk").output
    assert "2015-11-01 17:00" in cli("list", "core.task", user="vvo").output
    shown = cli("show", "core.task", task.number, user="msk", lang="ru").output
    assert "01.11.2015 10:00:00" in shown
    rows = json.loads(cli("list", "core.task", "--format", "json", user="vvo").output)
    assert rows[0]["due"] == "2015-11-01T17:00:00+10:00"          # ISO 8601 with the user's offset
    # a filter typed in local time
    assert cli("list", "core.task", "--where", "due__ge=2015-11-01 10:00", user="msk").output.count("Позвонить") == 1
    assert "Позвонить" not in cli("list", "core.task", "--where", "due__gt=2015-11-01 10:00", user="msk").output


def test_import_reads_naive_moments_in_the_users_zone(moscow, tmp_path):
    path = tmp_path / "tasks.csv"
    path.write_text("title,due\nA,2015-11-01 10:00:00\nB,01.11.2015 10:00\nC,2015-11-01T10:00:00+00:00\n"
                    "D,2015-11-01T10:00:00\n", encoding="utf-8")
    moscow.as_user("msk").import_file("core.task", path)
    got = {t.title: t.due for t in moscow.find("core.task")}
    assert got == {"A": dt.datetime(2015, 11, 1, 7, tzinfo=UTC), "B": dt.datetime(2015, 11, 1, 7, tzinfo=UTC),
                   "C": dt.datetime(2015, 11, 1, 10, tzinfo=UTC), "D": dt.datetime(2015, 11, 1, 7, tzinfo=UTC)}


def test_import_of_dates_keeps_the_day_as_typed(moscow, tmp_path):
    path = tmp_path / "partners.csv"
    path.write_text("name,kind,registered_on\nA,company,2015-04-06\nB,company,06.04.2015\n", encoding="utf-8")
    moscow.as_user("vvo").import_file("core.partner", path)
    assert {p.name: p.registered_on for p in moscow.find("core.partner", name__in=["A", "B"])} == \
        {"A": dt.date(2015, 4, 6), "B": dt.date(2015, 4, 6)}


def test_period_of_a_report_is_made_of_local_days(moscow):
    """An interaction at 06.04 00:30 in Moscow (05.04 21:30 UTC) is on 06.04
    for a Moscow user, on 05.04 for one whose zone is UTC."""
    moscow.create("core.interaction", {"kind": "call", "direction": "incoming",
                                       "date": dt.datetime(2015, 4, 5, 21, 30, tzinfo=UTC)})
    day = {"date_from": "2015-04-06", "date_to": "2015-04-06"}
    assert int(moscow.as_user("msk").report("core.interactions", **day)["by kind"]["count"].sum()) == 1
    utc = moscow.as_user("plain")
    utc.zone = "UTC"
    assert int(utc.report("core.interactions", **day)["by kind"]["count"].sum()) == 0
    assert int(utc.report("core.interactions", date_from="2015-04-05", date_to="2015-04-05")
               ["by kind"]["count"].sum()) == 1


def test_report_outputs_show_the_users_zone(moscow):
    moscow.create("core.task", {"title": "Срок", "due": dt.datetime(2015, 10, 22, 20, 59, 59, tzinfo=UTC)})
    result = moscow.as_user("msk").report("core.tasks")
    assert "2015-10-22 23:59" in result.render("table")
    assert "22.10.2015 23:59:59" in result.render("table", lang="ru")
    assert "22.10.2015 23:59:59" in result.render("html", lang="ru")
    doc = json.loads(result.render("json"))
    assert doc["sections"]["main"][0]["due"] == "2015-10-22T23:59:59+03:00"


def test_files_carry_local_moments_with_their_offset(moscow):
    moscow.create("core.task", {"title": "Срок", "due": dt.datetime(2015, 10, 22, 20, 59, 59, tzinfo=UTC)})
    msk = moscow.as_user("msk")
    assert "2015-10-22 23:59:59+03:00" in msk.export("core.task", "csv")
    assert json.loads(msk.export("core.task", "json"))[0]["due"] == "2015-10-22T23:59:59+03:00"
    assert "2015-10-22 23:59:59+03:00" in msk.report("core.tasks").render("csv")
    # and a file written so is read back to the same moment
    assert dt.datetime.fromisoformat("2015-10-22 23:59:59+03:00") == dt.datetime(2015, 10, 22, 20, 59, 59,
                                                                                 tzinfo=UTC)



def test_a_user_template_shows_moments_in_the_users_zone(moscow):
    task = moscow.create("core.task", {"title": "Срок", "due": dt.datetime(2015, 10, 22, 20, 59, 59, tzinfo=UTC)})
    msk = moscow.as_user("msk")
    assert msk.render_template("{{ t.due }}", {"t": task}) == "2015-10-22 23:59:59+03:00"


def test_workbook_cells_are_typed_and_formula_text_neutralised(moscow):
    """Moments are Excel dates in the user's local time (midnight: a date
    format), booleans stay booleans, formula-like text is prefixed."""
    import io

    import openpyxl
    moscow.create("core.task", {"title": "=HYPERLINK(\"http://x\")", "due": dt.datetime(2015, 4, 5, 21, 0, tzinfo=UTC)})
    moscow.create("core.task", {"title": "Позвонить", "due": dt.datetime(2015, 10, 22, 20, 59, 59, tzinfo=UTC)})
    result = moscow.as_user("msk").report("core.tasks")
    columns = list(result.frame.columns)
    for lang, moment, day in (("en", "yyyy-mm-dd hh:mm", "yyyy-mm-dd"), ("ru", "dd.mm.yyyy hh:mm:ss", "dd.mm.yyyy")):
        sheet = openpyxl.load_workbook(io.BytesIO(result.render("xlsx", lang=lang))).active
        rows = list(sheet.iter_rows(min_row=2))
        due = [r[columns.index("due")] for r in rows]
        assert [c.value for c in due] == [dt.datetime(2015, 4, 6), dt.datetime(2015, 10, 22, 23, 59, 59)]
        assert [c.number_format for c in due] == [day, moment]        # 06.04 0:00 is a day, on 06.04
        assert rows[0][columns.index("title")].value == "'=HYPERLINK(\"http://x\")"
        assert rows[0][columns.index("title")].data_type == "s"
        assert rows[0][columns.index("overdue")].value is True
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")


def test_the_system_zone_keeps_its_summer_time(moscow, monkeypatch):
    """Without a user zone or CRMKIT_TZ, the system's zone with its rules
    (not today's offset): 10:00 in Berlin is 08:00 UTC in July, 09:00 in January."""
    monkeypatch.delenv("CRMKIT_TZ", raising=False)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    plain = moscow.as_user("plain")
    assert str(plain.zone) == "Europe/Berlin"
    summer = plain.create("core.task", {"title": "x", "due": "2015-07-01 10:00"}).due
    winter = plain.create("core.task", {"title": "y", "due": "2015-01-15 10:00"}).due
    assert (summer, winter) == (dt.datetime(2015, 7, 1, 8, tzinfo=UTC), dt.datetime(2015, 1, 15, 9, tzinfo=UTC))
