"""Bad files: a clear error naming the problem, nothing written, memory
bounded. (tests/test_import_export.py covers the basic empty, binary,
unknown-column, missing-required and invalid-JSON cases.)
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from crmkit import ValidationError

pytestmark = pytest.mark.plugins()


def write(tmp_path, data, name="bad.csv"):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def refused(crm, path, *fragments, **options):
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, **options)
    text = (str(exc.value) + " " + str(exc.value.rows)).lower()
    assert any(f.lower() in text for f in fragments), text
    assert crm.count("core.partner", include_marked=True) == 0
    return exc.value


@pytest.mark.parametrize("data, fragments", [
    (b"   \n\n  \n", ("empty",)),
    (b"name,kind\n", ("no rows",)),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, ("binary",)),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, ("binary",)),          # an .xlsx given as CSV
    (bytes(range(1, 256)) * 64, ("encoding", "utf-8", "cp1251")),        # noise without NUL bytes
    ("name\n\"unterminated\n", ("ends inside a quoted cell",)),
    ("Протон,company\nСатурн,company\n", ("unknown field",)),              # header missing
    ("name;kind\nПротон;company\n", ("unknown field",)),                   # delimiter forced wrong below
    ("name,name\nA,B\n", ("unknown field", "duplicate")),
])
def test_bad_file_refused_clearly(crm, tmp_path, data, fragments):
    options = {"delimiter": ","} if isinstance(data, str) and data.startswith("name;") else {}
    refused(crm, write(tmp_path, data), *fragments, **options)


def test_utf16_file_refused_or_read(crm, tmp_path):
    path = write(tmp_path, "name\nМюллер\n".encode("utf-16"))
    try:
        crm.import_file("core.partner", path)
    except ValidationError as exc:
        assert "binary" in str(exc) or "encoding" in str(exc)
        assert crm.count("core.partner") == 0
    else:
        assert [p.name for p in crm.find("core.partner")] == ["Мюллер"]


def test_cp1251_detected_and_given(crm, tmp_path, cli):
    path = write(tmp_path, "name;kind;comment\nТорговый дом «Сигма»;company;ёЁ№\n".encode("cp1251"))
    crm.import_file("core.partner", path)
    assert crm.find("core.partner")[0].comment == "ёЁ№"
    late = write(tmp_path, ("name\n" + "Latin\n" * 20000 + "Сатурн\n").encode("cp1251"), "late.csv")
    with pytest.raises(ValidationError) as exc:   # Cyrillic only after the sniffed head
        crm.import_file("core.partner", late)
    assert "utf-8" in str(exc.value).lower() or "encoding" in str(exc.value).lower()
    out = cli("import", "core.partner", late, "--encoding", "cp1251")
    assert out.exit_code == 0, out.output
    assert crm.count("core.partner", name="Сатурн") == 1


def test_latin1_is_not_taken_for_cp1251(crm, tmp_path):
    path = write(tmp_path, "name\nMüller Gärtner\nJosé Peña\n".encode("latin-1"))
    try:
        crm.import_file("core.partner", path)
    except ValidationError as exc:
        assert "encoding" in str(exc)
        return
    assert sorted(p.name for p in crm.find("core.partner")) == ["José Peña", "Müller Gärtner"]


def test_ragged_rows_refused(crm, tmp_path):
    refused(crm, write(tmp_path, "name,comment\nA,B,C\n"), "row", "field", "column")


def test_wrong_delimiter_detected(crm, tmp_path):
    crm.import_file("core.partner", write(tmp_path, "name\tkind\nПротон\tcompany\n", "tab.csv"))
    crm.import_file("core.partner", write(tmp_path, "name|kind\nСатурн|company\n", "pipe.csv"))
    assert sorted(p.name for p in crm.find("core.partner")) == ["Протон", "Сатурн"]


def test_huge_name_refused(crm, tmp_path):
    refused(crm, write(tmp_path, "name\n" + "я" * 2_000_000 + "\n"), "max length", "too long", "field")


def test_huge_text_field_refused(crm, tmp_path):
    refused(crm, write(tmp_path, "name,comment\nA," + "x" * 5_000_000 + "\n"), "too long", "max", "field")


# -- a million rows of garbage, in a subprocess whose peak memory we measure --

GARBAGE_SCRIPT = r"""
import sys
n = int(sys.argv[2])
with open(sys.argv[1], "w") as fh:
    fh.write("name,kind,registered_on,is_client\n")
    for i in range(n):
        fh.write(f"x{i},alien{i % 7},notadate{i},maybe\n")
"""


def _peak_rss_mb(cmd, env):
    """Run ``cmd``; return (exit code, output, peak resident memory in MB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, output.decode("utf-8", "replace"), usage.ru_maxrss / 1024


def _garbage_run(db_url, tmp_path, rows):
    path = tmp_path / f"garbage{rows}.csv"
    subprocess.run([sys.executable, "-c", GARBAGE_SCRIPT, str(path), str(rows)], check=True)
    from importlib.metadata import entry_points
    every_plugin = sorted({ep.name for ep in entry_points(group="crmkit")} - {"core"})
    env = {**os.environ, "CRMKIT_DISABLE_PLUGINS": ",".join(every_plugin)}
    cmd = [sys.executable, "-c", "from crmkit.cli import main; main()", "--db", db_url,
           "import", "core.partner", str(path)]
    return _peak_rss_mb(cmd, env)


@pytest.mark.sqlite_only
def test_a_million_garbage_rows(crm, db_url, tmp_path):
    """1,000,000 well-formed rows of bad values (the worst case: every row is
    parsed and validated): a clear error, nothing written, and a peak memory
    that does not grow with the file (compared with a ten-row file)."""
    crm.close()
    code_small, _, rss_small = _garbage_run(db_url, tmp_path, 10)
    code, out, rss = _garbage_run(db_url, tmp_path, 1_000_000)
    assert code == 1 and code_small == 1
    assert re.search(r"rows: (at least )?\d+ of (the first )?\d+ rows are invalid; nothing was imported", out), out[:2000]
    assert "row 1: kind: unallowed value" in out
    import crmkit
    with crmkit.open(db_url, plugins=[]) as again:
        assert again.count("core.partner", include_marked=True) == 0
    assert rss < 1024, f"peak memory {rss:.0f} MB for a million bad rows"
    assert rss - rss_small < 400, f"memory grows with the file: {rss_small:.0f} MB for 10 rows, {rss:.0f} MB for 1M"
