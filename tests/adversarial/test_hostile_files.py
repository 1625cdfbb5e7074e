"""Hostile import files (issue 16 items 12 and 13): memory bounded by bytes,
not by rows; rows that are cut short or have too few cells named; encodings
named with an ``--encoding`` hint.

The memory tests run ``crmkit import`` in a subprocess and measure its peak
resident memory against a ten-row file's: the bound is in docs/promises.md
(section 7).
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from crmkit import ValidationError

from .test_bad_files import _peak_rss_mb

pytestmark = pytest.mark.plugins()

OVER_BASELINE_MB = 200   # docs/promises.md §7
MB = 1 << 20


def _gzip_line(path, size, unit=b"a" * MB, head=b"name\n"):
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head)
        for _ in range(size // len(unit)):
            fh.write(unit)
    return path


def _plain(path, head, body, times):
    with open(path, "wb") as fh:
        fh.write(head)
        for _ in range(times):
            fh.write(body)
    return path


def _json_rows(path, rows, lines):
    with open(path, "w", encoding="utf-8") as fh:
        if not lines:
            fh.write("[")
        for i in range(rows):
            row = json.dumps({"name": f"Клиент {i}", "kind": f"alien{i % 7}", "registered_on": "soon"},
                             ensure_ascii=False)
            fh.write(row + ("\n" if lines else ("," if i < rows - 1 else "]")))
    return path


HOSTILE = {
    "a 1 GiB line in a 1 MB gzip": lambda p: _gzip_line(p / "line.csv.gz", 1024 * MB),
    "a gzip bomb of short rows": lambda p: _gzip_line(p / "bomb.csv.gz", 1024 * MB, unit=b"x,company\n" * (MB // 10),
                                                      head=b"name,kind\n"),
    "a 300 MB one-line file": lambda p: _plain(p / "oneline.csv", b"name\n", b"b" * MB, 300),
    "500 MB of 99,000-character rows": lambda p: _plain(p / "wide.csv", b"name,comment\n",
                                                        b"c" * 98_997 + b",x\n", 5000),
    "a JSON array of 200,000 bad rows": lambda p: _json_rows(p / "rows.json", 200_000, lines=False),
    "JSON Lines of 200,000 bad rows": lambda p: _json_rows(p / "rows.jsonl", 200_000, lines=True),
}


def _import(db_url, path):
    from importlib.metadata import entry_points   # the core alone: every installed plugin disabled
    every_plugin = sorted({ep.name for ep in entry_points(group="crmkit")} - {"core"})
    env = {**os.environ, "CRMKIT_DISABLE_PLUGINS": ",".join(every_plugin)}
    return _peak_rss_mb([sys.executable, "-c", "from crmkit.cli import main; main()", "--db", db_url,
                         "import", "core.partner", str(path)], env)


@pytest.mark.sqlite_only
def test_hostile_files_are_refused_within_a_memory_bound(crm, db_url, tmp_path):
    crm.close()
    small = _plain(tmp_path / "small.csv", b"name,kind\n", b"x,alien\n", 10)
    code, out, baseline = _import(db_url, small)
    assert code == 1 and "unallowed value" in out
    peaks = {}
    for label, make in HOSTILE.items():
        path = make(tmp_path)
        code, out, peak = _import(db_url, path)
        path.unlink()
        peaks[label] = round(peak)
        assert code == 1, f"{label}: {out[-500:]}"
        assert "Traceback" not in out and out.strip(), f"{label}: {out[-2000:]}"
        assert peak < baseline + OVER_BASELINE_MB, \
            f"{label}: peak {peak:.0f} MB, a ten-row file {baseline:.0f} MB: {out[:300]}"
    import crmkit
    with crmkit.open(db_url, plugins=[]) as again:
        assert again.count("core.partner", include_marked=True) == 0
    print(f"peak MB: ten rows {baseline:.0f}; " + "; ".join(f"{k} {v}" for k, v in peaks.items()))


def refused(crm, tmp_path, data, name="bad.csv", **options):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValidationError) as exc:
        crm.import_file("core.partner", path, **options)
    assert crm.count("core.partner", include_marked=True) == 0
    return str(exc.value)


def test_rows_cut_short_or_with_too_few_cells_are_named(crm, tmp_path):
    assert "row 3: has 1 cells, fewer than the header's 2" in refused(
        crm, tmp_path, "name,kind\nА,company\nБ,company\nВ\n".encode())
    assert "row 2: has 1 cells" in refused(crm, tmp_path, "name,kind\nА,company\nБ\nВ,company\n".encode())
    # a file cut inside a quoted cell, and one cut after a delimiter
    assert "row 2: the file ends inside a quoted cell" in refused(
        crm, tmp_path, 'name,comment\nА,"полный"\nБ,"обрез'.encode())
    assert "row 2: has 3 cells, more than the header's 2" in refused(
        crm, tmp_path, "name,kind\nА,company\nБ,company,лишнее\n".encode())


def test_cp1251_after_64_kb_of_ascii_names_the_row_and_the_encoding(crm, tmp_path, cli):
    ascii_rows = "".join(f"Client {i},company\n" for i in range(5000))    # ~100 KB of ASCII first
    data = ("name,kind\n" + ascii_rows + "Сатурн,company\n").encode("cp1251")
    message = refused(crm, tmp_path, data)
    assert "row 5001" in message and "--encoding cp1251" in message, message
    path = tmp_path / "bad.csv"
    out = cli("import", "core.partner", str(path), "--encoding", "cp1251")
    assert out.exit_code == 0, out.output
    assert crm.count("core.partner", name="Сатурн") == 1


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_read_with_a_bom_and_named_without_one(crm, tmp_path, codec):
    text = "name,kind\nМюллер,company\nПротон,company\n"
    path = tmp_path / "u16.csv"
    path.write_bytes(text.encode(codec))
    if codec == "utf-16":          # Python writes the byte-order mark
        crm.import_file("core.partner", path)
        assert sorted(p.name for p in crm.find("core.partner")) == ["Мюллер", "Протон"]
        return
    with pytest.raises(ValidationError, match=f"give --encoding {codec}"):
        crm.import_file("core.partner", path)
    crm.import_file("core.partner", path, encoding=codec)
    assert crm.count("core.partner") == 2


def test_json_errors_name_the_row(crm, tmp_path):
    assert "row 2: invalid JSON" in refused(crm, tmp_path, b'[{"name": "A"}, {"name": "B",]', name="x.json")
    assert "row 2: is not an object" in refused(crm, tmp_path, b'[{"name": "A"}, 5]', name="x.json")
    assert "row 2: invalid JSON" in refused(crm, tmp_path, b'{"name": "A"}\n{"name": \n', name="x.jsonl")
    assert "ends inside the list" in refused(crm, tmp_path, b'[{"name": "A"}, ', name="x.json")
    (tmp_path / "ok.jsonl").write_text('{"name": "А"}\n\n{"name": "Б"}\n', encoding="utf-8")
    assert crm.import_file("core.partner", tmp_path / "ok.jsonl")["written"] == 2
