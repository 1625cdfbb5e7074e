"""SMS length: GSM-7 or UCS-2, and how many segments a text takes.

A text of GSM-7 characters only goes as 7-bit septets: 160 in one SMS, 153
per part when concatenated (the user-data header takes the rest); the
extension characters (``€ [ ] { } ^ ~ | \\`` and form feed) take two. Any
other character -- all of Cyrillic -- switches the whole text to UCS-2: 70
UTF-16 units in one SMS, 67 per part. A character is never split across
parts, which is why segment counts are computed by filling parts, not by
dividing.
"""
from __future__ import annotations

import attrs

GSM7_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                 "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = set("^{}\\[~]|€\f")


@attrs.frozen
class SmsLength:
    encoding: str        # "GSM-7" or "UCS-2"
    units: int           # septets or UTF-16 code units
    segments: int
    per_segment: int     # capacity of each part as sent


def _fill(sizes, single, multi):
    total = sum(sizes)
    if total <= single:
        return 1 if total else 0, single
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments, used = segments + 1, 0
        used += size
    return segments, multi


def measure(text: str) -> SmsLength:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        segments, per = _fill(sizes, 160, 153)
        return SmsLength("GSM-7", sum(sizes), segments, per)
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]   # surrogate pairs stay together
    segments, per = _fill(sizes, 70, 67)
    return SmsLength("UCS-2", sum(sizes), segments, per)
