"""Issue 20's "errors a user meets first" and "access errors name the role":
each as the operator sees it, one line on standard error, nothing created
or written."""
import socket

import pytest

import crmkit
from crmkit.testing import run_cli


def _one_line_error(code, out, err):
    assert code == 1, (code, out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_a_missing_sqlite_file_is_an_error_and_nothing_is_created(tmp_path):
    target = tmp_path / "typo" / "crmkit-dmeo.db"
    line = _one_line_error(*run_cli(["--db", f"sqlite:///{target}", "list", "core.partner"]))
    assert str(target) in line and "crmkit init" in line and "--create" in line
    assert not target.exists() and not target.parent.exists()   # no empty database, no folder


def test_serve_refuses_a_missing_sqlite_file_as_every_command_does(tmp_path):
    """``crmkit serve`` against a mistyped path: the same one-line error as
    ``list``, and no file, no folder, no server started."""
    target = tmp_path / "typo" / "crmkit-dmeo.db"
    served = _one_line_error(*run_cli(["--db", f"sqlite:///{target}", "serve", "--port", "0"]))
    listed = _one_line_error(*run_cli(["--db", f"sqlite:///{target}", "list", "core.partner"]))
    assert served == listed and "--create" in served
    assert not target.exists() and not target.parent.exists()


def test_init_and_create_make_the_database(tmp_path):
    code, out, err = run_cli(["--db", f"sqlite:///{tmp_path / 'new' / 'a.db'}", "init"])
    assert code == 0 and "database ready" in out, err
    code, out, err = run_cli(["--db", f"sqlite:///{tmp_path / 'b.db'}", "--create", "list", "core.partner"])
    assert code == 0 and "(nothing)" in out, err
    assert (tmp_path / "new" / "a.db").exists() and (tmp_path / "b.db").exists()


def test_the_python_api_creates_unless_told_not_to(tmp_path):
    with pytest.raises(crmkit.DatabaseUnavailable, match="no database at"):
        crmkit.open(f"sqlite:///{tmp_path / 'x.db'}", plugins=[], create=False)
    assert not (tmp_path / "x.db").exists()


def test_a_url_without_a_scheme_says_what_to_write(tmp_path):
    line = _one_line_error(*run_cli(["--db", "crmkit-demo.db", "list", "core.partner"], ))
    assert "did you mean sqlite:///crmkit-demo.db?" in line


def test_an_unreachable_postgresql_is_one_line():
    with socket.socket() as s:          # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line = _one_line_error(*run_cli(["--db", f"postgresql://crm:secret@127.0.0.1:{port}/crm", "list",
                                     "core.partner"]))
    assert f"127.0.0.1:{port}" in line and "secret" not in line   # the password stays out of the message


def test_an_unknown_entity_gets_a_did_you_mean(cli):
    out = cli("list", "core.partnr")
    assert out.exit_code == 1
    assert "did you mean core.partner?" in out.output and "core.segment" not in out.output
    out = cli("list", "nothing.like.it")
    assert "`crmkit entities` lists the" in out.output


def test_an_unknown_report_or_parameter_lists_the_valid_ones(cli):
    out = cli("report", "run", "core.interactions", "-p", "date_fro=2015-01-01")
    assert out.exit_code == 1
    assert "date_fro: unknown field; the parameters are: " in out.output and "date_from" in out.output
    out = cli("report", "run", "core.interaction")
    assert "did you mean core.interactions?" in out.output


def test_a_bad_choice_lists_the_allowed_values(cli):
    out = cli("create", "core.partner", "name=Протон", "kind=compny", "nmae=x")
    assert out.exit_code == 1
    assert "kind: unallowed value compny (allowed: company, individual)" in out.output
    assert "nmae: unknown field; did you mean name?" in out.output


@pytest.mark.plugins("deals", "claims")
def test_access_errors_name_the_roles_that_would_do(crm, open_crm, cli):
    crm.create("core.user", {"login": "orlov", "name": "Орлов", "roles": "manager"})
    orlov = open_crm(user="orlov")
    with pytest.raises(crmkit.AccessDenied, match="may not create claims.claim: it needs the role "
                                                  "claims_officer or administrator"):
        orlov.create("claims.claim", {"name": "x"})
    with pytest.raises(crmkit.AccessDenied, match="core.user: it needs the role administrator"):
        orlov.create("core.user", {"login": "x", "name": "x"})
    with pytest.raises(crmkit.AccessDenied, match="merge core.partner: it needs the role administrator"):
        orlov.merge("core.partner", 1, 2)
    denied = [a for a in crm.registry.actions.values() if a.entity and not orlov.may_act(a) and not a.admin_only]
    assert denied
    for action in denied:   # every action the manager may not run says who may
        with pytest.raises(crmkit.AccessDenied, match="it needs the role "):
            orlov.act(action.name, 1)
    out = cli("claims", "register", "name=x", user="orlov")
    assert out.exit_code == 1 and "claims_officer" in out.output
