"""Reading an import file in chunks bounded by bytes, whatever the file holds.

Memory never depends on the file: records (a CSV row, quoted line breaks and
all; a JSON object) are cut from the byte stream before anything parses them,
and refused past ``MAX_ROW_BYTES``; pandas parses ``CHUNK_BYTES`` of them at
a time; gzip input is refused once it expands more than ``MAX_RATIO`` times;
JSON is read object by object (a JSON array, or JSON Lines). Encoding
problems name the row and suggest ``--encoding``; UTF-16 with a byte-order
mark is read, without one it is recognised and named.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import re
from pathlib import Path

from .errors import ValidationError

MAX_ROW_BYTES = 4 << 20      # one record: 4 MiB (a cell may hold 100,000 characters)
CHUNK_BYTES = 8 << 20        # parsed at a time
CHUNK_ROWS = 100_000
JSON_CHUNK_ROWS = 50_000     # a row parsed from JSON is a dict: twice the memory of a CSV row
MAX_RATIO = 100              # decompressed : compressed
RATIO_FLOOR = 4 << 20        # ... checked once this much has come out
MAX_FIELD = 100_000          # characters in one cell
BLOCK = 1 << 20


def _error(message, row=None):
    return ValidationError({"file": f"row {row}: {message}" if row else message})


class _Counted(io.RawIOBase):
    """A raw file that counts the bytes read from it."""

    def __init__(self, fh):
        self.fh, self.count = fh, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = self.fh.readinto(buffer)
        self.count += n or 0
        return n

    def close(self):
        self.fh.close()
        super().close()


class _Source:
    """The file's bytes (decompressed, refused when they expand too much)."""

    def __init__(self, path: Path):
        raw = open(path, "rb")
        self.compressed = None
        if path.suffix == ".gz":
            self.compressed = _Counted(raw)
            self.fh = gzip.GzipFile(fileobj=self.compressed, mode="rb")
        else:
            self.fh = raw
        self.out = 0

    def read(self, n=BLOCK) -> bytes:
        try:
            data = self.fh.read(n)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise _error(f"cannot be decompressed: {exc}") from None
        self.out += len(data)
        if self.compressed is not None and self.out > RATIO_FLOOR \
                and self.out > MAX_RATIO * max(1, self.compressed.count):
            raise _error(f"the gzip file expands more than {MAX_RATIO} times "
                         f"({self.compressed.count} bytes gave {self.out} so far): refused as a decompression bomb")
        return data

    def close(self):
        self.fh.close()


class _Transcoded:
    """Bytes of another encoding (UTF-16) handed on as UTF-8."""

    def __init__(self, source, encoding):
        self.source = source
        self.decoder = codecs.getincrementaldecoder(encoding)()
        self.encoding = encoding

    def read(self, n=BLOCK) -> bytes:
        data = self.source.read(n)
        try:
            return self.decoder.decode(data, final=not data).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(f"not {self.encoding} text ({exc.reason}): give --encoding") from None

    def close(self):
        self.source.close()


BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without a byte-order mark: text whose every other byte is NUL."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(head: bytes, encoding=None) -> str:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValidationError({"encoding": f"unknown encoding {encoding!r}"}) from None
        return encoding
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    if b"\x00" in head:
        guess = _looks_utf16(head)
        if guess:
            raise _error(f"looks like {guess.upper()} text without a byte-order mark: give --encoding {guess}")
        raise _error("looks binary (NUL bytes); expected a CSV or JSON text file")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:   # a character cut at the end of the sample
            return "utf-8"
    try:
        text = head.decode("cp1251")
    except UnicodeDecodeError:
        raise _error("not UTF-8 and not cp1251: give --encoding") from None
    if _cyrillic(text):
        return "cp1251"
    raise _error("not UTF-8 (and not clearly cp1251): give --encoding")


def _cyrillic(text) -> bool:
    """cp1251 when the non-ASCII letters are mostly Cyrillic and none sits
    inside a Latin word (Latin-1 "Müller" decodes to "Mьller")."""
    letters = [ch for ch in text if ord(ch) > 127 and ch.isalpha()]
    cyrillic = [ch for ch in letters if "а" <= ch.lower() <= "я" or ch.lower() == "ё"]
    return bool(cyrillic) and len(cyrillic) >= 0.9 * len(letters) \
        and not re.search(r"[A-Za-z][а-яёА-ЯЁ]|[а-яёА-ЯЁ][A-Za-z]", text)


def open_source(path, encoding):
    """(byte stream, encoding its bytes are in: ASCII-compatible)."""
    path = Path(path)
    if not path.exists():
        raise ValidationError({"file": f"{path} does not exist"})
    probe = _Source(path)
    try:
        head = probe.read(65536)
    finally:
        probe.close()
    if not head.strip():
        raise _error("is empty")
    enc = detect_encoding(head, encoding)
    source = _Source(path)
    if codecs.lookup(enc).name.startswith(("utf-16", "utf-32")):
        return _Transcoded(source, enc), "utf-8"
    return source, enc


def decode(data: bytes, enc, first_row) -> str:
    """``data`` as text, or an error naming the row of the first bad byte."""
    try:
        return data.decode(enc)
    except UnicodeDecodeError as exc:
        row = first_row + data.count(b"\n", 0, exc.start)
        start = data.rfind(b"\n", 0, exc.start) + 1
        end = data.find(b"\n", exc.start)
        line = data[start:end if end >= 0 else len(data)]
        hint = "give --encoding"
        if enc.startswith("utf-8"):
            try:
                if _cyrillic(line.decode("cp1251")):
                    hint = "the file looks like cp1251 (1C's usual export): give --encoding cp1251"
            except UnicodeDecodeError:
                pass
        raise _error(f"byte 0x{data[exc.start]:02x} is not {enc} text; {hint}", row) from None


# -- CSV --------------------------------------------------------------------

def _record_ends(buf: bytes, delim: int):
    """Positions of the line breaks that end a record (outside quotes), and
    whether ``buf`` ends inside a quoted cell. As pandas reads CSV: a quote
    opens a quoted cell only at the start of a cell, ``""`` inside one is a
    quote, any other quote is a plain character. Only the quotes are visited
    in Python; the line breaks are matched to them with numpy."""
    import numpy as np
    arr = np.frombuffer(buf, dtype=np.uint8)
    toggles, inside, skip = [], False, -1
    for p in np.flatnonzero(arr == 34).tolist():
        if p == skip:
            continue
        if not inside:
            if p == 0 or buf[p - 1] in (delim, 10, 13):
                inside = True
                toggles.append(p)
        elif p + 1 < len(buf) and buf[p + 1] == 34:
            skip = p + 1
        else:
            inside = False
            toggles.append(p)
    breaks = np.flatnonzero(arr == 10)
    delims = np.flatnonzero(arr == delim)
    if toggles:
        marks = np.array(toggles)
        breaks = breaks[np.searchsorted(marks, breaks) % 2 == 0]
        delims = delims[np.searchsorted(marks, delims) % 2 == 0]
    return breaks, inside, delims


def _cells(ends, delims):
    """Cells of each record: its delimiters outside quotes, plus one."""
    import numpy as np
    return np.bincount(np.searchsorted(ends, delims), minlength=len(ends) + 1)[:len(ends)] + 1


def csv_records(source, delim: str, first: bytes = b"", rows=CHUNK_ROWS):
    """Yield ``(bytes, first_row, rows)``: whole CSV records, about
    ``CHUNK_BYTES`` at a time; the header is the first yield, alone. No
    record is held past MAX_ROW_BYTES: a longer one is an error naming it."""
    import numpy as np
    sep = ord(delim) if len(delim) == 1 and ord(delim) < 128 else 44
    carry, pending, pending_size, pending_rows, row, header_done, width = b"", [], 0, 0, 0, False, None
    block = first or source.read(BLOCK)
    while True:
        buf = carry + block
        if not block:
            if not buf:
                break
            if _record_ends(buf, sep)[1]:
                raise _error("the file ends inside a quoted cell (is it cut short?)", row + pending_rows + 1)
            buf += b"\n"
        ends, _, delims = _record_ends(buf, sep)
        too_long = f"too long: more than {MAX_ROW_BYTES} bytes, the limit of one row"
        if len(ends) == 0:
            carry = buf
            if len(carry) > MAX_ROW_BYTES:
                raise _error(too_long, row + pending_rows + 1)
            block = source.read(BLOCK)
            continue
        lengths = np.diff(np.concatenate(([-1], ends)))
        if int(lengths.max()) > MAX_ROW_BYTES:
            raise _error(too_long, row + pending_rows + int(np.argmax(lengths > MAX_ROW_BYTES)) + int(header_done))
        cut = int(ends[-1]) + 1
        complete, carry = buf[:cut], buf[cut:]
        if len(carry) > MAX_ROW_BYTES:
            raise _error(too_long, row + pending_rows + len(ends) + int(header_done))
        n = len(ends)
        cells = _cells(ends, delims)
        if width is None:
            width = int(cells[0])
        blank = lengths <= 2            # "\n" or "\r\n": pandas skips it
        blank[0] = blank[0] and header_done
        wrong = np.flatnonzero((cells != width) & ~blank)
        if len(wrong) and (header_done or int(wrong[0]) > 0):
            k = int(wrong[0])
            got = int(cells[k])
            raise _error(f"has {got} cells, {'more' if got > width else 'fewer'} than the header's {width}"
                         + (" (is the file cut short?)" if got < width else ""), row + pending_rows + k + int(header_done))
        rel = ends + 1                   # where each record ends, in ``complete``
        if not header_done:
            head = int(rel[0])
            yield complete[:head], 0, 0
            complete, header_done, n, rel = complete[head:], True, n - 1, rel[1:] - head
        done = 0
        while done < n:                  # at most ``rows`` records, about CHUNK_BYTES, per chunk
            take = min(rows - pending_rows, n - done)
            start = int(rel[done - 1]) if done else 0
            part = complete[start:int(rel[done + take - 1])]
            pending.append(part)
            pending_size += len(part)
            pending_rows += take
            done += take
            if pending_size >= CHUNK_BYTES or pending_rows >= rows:
                yield b"".join(pending), row + 1, pending_rows
                row += pending_rows
                pending, pending_size, pending_rows = [], 0, 0
        if not block:
            break
        block = source.read(BLOCK)
    if pending:
        yield b"".join(pending), row + 1, pending_rows


def _row_shape_error(text, delim, width, first_row):
    """The first row whose cell count is not the header's, named."""
    import csv
    for k, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delim)):
        if cells and len(cells) != width:
            more = "more" if len(cells) > width else "fewer"
            return _error(f"has {len(cells)} cells, {more} than the header's {width}"
                          + (" (is the file cut short?)" if more == "fewer" else ""), first_row + k)
    return _error("a row does not have the header's cells", first_row)


def read_csv_chunks(source, enc, delimiter=None, mapping=None, rows=CHUNK_ROWS):
    import warnings

    import pandas as pd
    first = source.read(BLOCK)
    line = first.split(b"\n", 1)[0].decode(enc, errors="ignore")
    delim = delimiter or detect_delimiter(line)
    header_text = None
    for data, first_row, _ in csv_records(source, delim, first, rows):
        text = decode(data, enc, max(first_row, 1))
        if header_text is None:
            header_text = text
            continue
        if not text.strip():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(io.StringIO(header_text + text), dtype=str, keep_default_na=False,
                                    sep=delim, engine="c", index_col=False)
        except pd.errors.ParserWarning:
            raise _row_shape_error(text, delim, len(_header_cells(header_text, delim)), first_row) from None
        except (pd.errors.ParserError, ValueError) as exc:
            message = str(exc).splitlines()[0]
            if "Expected" in message and "fields" in message:
                raise _row_shape_error(text, delim, len(_header_cells(header_text, delim)), first_row) from None
            raise _error(f"cannot be read as CSV: {message}") from None
        frame.columns = [str(c).strip() for c in frame.columns]
        if len(frame) and frame.isna().to_numpy().any():
            raise _row_shape_error(text, delim, len(frame.columns), first_row)
        for c in frame.columns:
            lengths = frame[c].str.len()
            if len(frame) and lengths.max() > MAX_FIELD:
                row = first_row + int(lengths.to_numpy().argmax())
                raise ValidationError({c: f"row {row}: a cell is too long: more than {MAX_FIELD} characters"})
        yield frame.rename(columns=mapping or {})


def _header_cells(header_text, delim):
    import csv
    return next(csv.reader(io.StringIO(header_text), delimiter=delim), [])


def detect_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# -- JSON -------------------------------------------------------------------

def _frame(rows, mapping):
    import pandas as pd
    frame = pd.DataFrame(rows)
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.rename(columns=mapping or {})


def _text_blocks(source, enc):
    decoder = codecs.getincrementaldecoder(enc)()
    offset = 0
    while True:
        data = source.read(BLOCK)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise _error(f"byte at offset {offset + exc.start} is not {enc} text: give --encoding") from None
        offset += len(data)
        if text:
            yield text
        if not data:
            return


def read_json_chunks(source, enc, mapping=None, lines=False, rows=CHUNK_ROWS):
    """Objects of a JSON array (or of JSON Lines), CHUNK_ROWS or CHUNK_BYTES at a time."""
    batch, size, row, limit = [], 0, 0, min(rows, JSON_CHUNK_ROWS)
    objects = _json_lines(source, enc) if lines else _json_array(source, enc)
    for obj, nbytes in objects:
        row += 1
        if not isinstance(obj, dict):
            raise _error("is not an object: JSON must be a list of objects", row)
        batch.append(obj)
        size += nbytes
        if len(batch) >= limit or size >= CHUNK_BYTES:
            yield _frame(batch, mapping)
            batch, size = [], 0
    if batch:
        yield _frame(batch, mapping)


def _json_lines(source, enc):
    dec = json.JSONDecoder()
    buf, row = "", 0
    for text in _text_blocks(source, enc):
        buf += text
        *lines, buf = buf.split("\n")
        if len(buf) > MAX_ROW_BYTES:
            raise _error(f"too long: more than {MAX_ROW_BYTES} bytes, the limit of one row", row + len(lines) + 1)
        for line in lines:
            if line.strip():
                row += 1
                yield _json_value(dec, line.strip(), row), len(line)
    if buf.strip():
        yield _json_value(dec, buf.strip(), row + 1), len(buf)


def _json_value(dec, text, row):
    try:
        value, end = dec.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise _error(f"invalid JSON: {exc.msg} (column {exc.colno})", row) from None
    if text[end:].strip():
        raise _error("invalid JSON: more than one value on the line", row)
    return value


def _json_array(source, enc):
    """The elements of a top-level JSON array, parsed one at a time."""
    dec = json.JSONDecoder()
    blocks = _text_blocks(source, enc)
    buf, pos, ended, row = "", 0, False, 0

    def more():
        nonlocal buf, pos, ended
        text = next(blocks, None)
        if text is None:
            ended = True
            return False
        buf = buf[pos:] + text
        pos = 0
        return True

    def skip_ws():
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not more():
                return

    more()
    if buf.startswith("\ufeff"):
        pos = 1
    skip_ws()
    if pos >= len(buf) or buf[pos] != "[":
        raise _error("invalid JSON: JSON must be a list of objects")
    pos += 1
    first = True
    while True:
        skip_ws()
        if pos >= len(buf):
            raise _error("invalid JSON: the file ends inside the list (is it cut short?)", row + 1)
        if buf[pos] == "]":
            pos += 1
            skip_ws()
            if pos < len(buf):
                raise _error("invalid JSON: text after the end of the list")
            return
        if not first:
            if buf[pos] != ",":
                raise _error(f"invalid JSON: expected ',' or ']' after the object, found {buf[pos]!r}", row)
            pos += 1
            skip_ws()
            if pos >= len(buf):
                raise _error("invalid JSON: the file ends inside the list (is it cut short?)", row + 1)
        first = False
        row += 1
        while True:
            try:
                value, end = dec.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if len(buf) - pos > MAX_ROW_BYTES:
                    raise _error(f"too long: more than {MAX_ROW_BYTES} bytes, the limit of one row", row) from None
                if ended or not more():
                    raise _error(f"invalid JSON: {exc.msg}", row) from None
        yield value, end - pos
        pos = end
