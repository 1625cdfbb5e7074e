"""The type of a file from its first bytes (magic numbers), never from its
name. Programs are refused whatever their name says: a CRM stores
documents, and an executable named ``invoice.pdf`` is an attack on whoever
opens it. Any other mismatch (a PNG named ``.pdf``) is stored as what the
content is: the name is kept, the type is the content's."""
from __future__ import annotations

HEAD = 4096   # bytes read to decide

# (prefix, MIME type); the first that matches wins
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),   # .doc, .xls of old
    (b"PK\x03\x04", "application/zip"),                                  # also .docx, .xlsx, .odt
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"{\\rtf", "application/rtf"),
)
EXECUTABLES = (
    (b"MZ", "application/x-msdownload"),            # Windows PE (.exe, .dll, .scr)
    (b"\x7fELF", "application/x-executable"),      # Linux, BSD
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"), (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"), (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary"),
    (b"#!", "text/x-script"),                       # a script with an interpreter line
)
# what a container holds, told by the name only once the content says "zip" / "ole"
BY_EXTENSION = {
    "application/zip": {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                        "odt": "application/vnd.oasis.opendocument.text",
                        "ods": "application/vnd.oasis.opendocument.spreadsheet"},
    "application/x-ole-storage": {"doc": "application/msword", "xls": "application/vnd.ms-excel",
                                  "ppt": "application/vnd.ms-powerpoint"},
    "text/plain": {"csv": "text/csv", "xml": "application/xml", "json": "application/json"},
}


class Executable(ValueError):
    """The content is a program."""

    def __init__(self, mime):
        super().__init__(mime)
        self.mime = mime


def sniff(head: bytes, name: str = "") -> str:
    """The MIME type of content starting with ``head``; ``Executable`` for a program."""
    for prefix, mime in EXECUTABLES:
        if head.startswith(prefix):
            raise Executable(mime)
    kind = next((mime for prefix, mime in SIGNATURES if head.startswith(prefix)), None)
    if head[8:12] == b"WEBP" and head.startswith(b"RIFF"):
        kind = "image/webp"
    if kind is None:
        kind = "text/plain" if _is_text(head) else "application/octet-stream"
        if kind == "text/plain" and head.lstrip()[:15].lower() in (b"<!doctype html>",) or \
                head.lstrip()[:5].lower() == b"<html":
            kind = "text/html"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return BY_EXTENSION.get(kind, {}).get(extension, kind)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:   # a character cut at the end of the head is still text
            try:
                head.decode("cp1251")
            except UnicodeDecodeError:
                return False
            return not any(b < 9 or 13 < b < 32 for b in head)
    return True
