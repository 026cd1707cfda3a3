"""Zero-copy access to the image bytes of a serialized tf.train.Example.

Parsing a record with protobuf copies the image payload twice; at about
150 kB per 64x64x9 cutout those copies dominate reading. This walks the
protobuf wire format (Example.features.feature map entries) just far enough
to find where the ``image`` bytes and the ``id`` (int64, or the UTF-8 bytes of
a string id) sit in the record, so that the pixels are read with one copy
straight into the batch array.
Anything unexpected returns None and the caller falls back to protobuf.
"""

from __future__ import annotations

_LEN = 2       # wire type of length-delimited fields
_VARINT = 0


def _varint(buf, pos: int) -> tuple[int, int]:
    """Decodes the base-128 varint at ``pos``; returns (value, next position)."""
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf, start: int, end: int):
    """Yields (field number, wire type, value start, value end or varint value)."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        wire = tag & 7
        if wire == _LEN:
            length, pos = _varint(buf, pos)
            yield tag >> 3, wire, pos, pos + length
            pos += length
        elif wire == _VARINT:
            value, pos = _varint(buf, pos)
            yield tag >> 3, wire, value, value
        else:
            raise ValueError("unexpected wire type")


def _only_len_field(buf, start: int, end: int, number: int) -> tuple[int, int]:
    """(start, end) of the single length-delimited field ``number`` in [start, end)."""
    for field, wire, lo, hi in _fields(buf, start, end):
        if field == number and wire == _LEN:
            return lo, hi
    raise ValueError(f"field {number} not found")


def _id_value(buf, start: int, end: int) -> int | bytes:
    """The id in a Feature at [start, end): from its int64_list (field 3) or, for
    string ids, its bytes_list (field 1: the UTF-8 bytes)."""
    for field, wire, lo, hi in _fields(buf, start, end):
        if field == 3 and wire == _LEN:                               # Int64List
            for number, kind, lo2, hi2 in _fields(buf, lo, hi):
                if number == 1:
                    value = _varint(buf, lo2)[0] if kind == _LEN else lo2  # packed or not
                    return value - (1 << 64) if value >= 1 << 63 else value
        elif field == 1 and wire == _LEN:                             # BytesList
            value = _only_len_field(buf, lo, hi, 1)
            return bytes(buf[value[0]:value[1]])
    raise ValueError("no id value")


def image_and_id(record: bytes) -> tuple[int, int, int | bytes] | None:
    """Locates the image payload and reads the id of one serialized Example.

    Returns:
      (image byte offset, image byte length, id: int, or the UTF-8 bytes of a
      string id), or None if the record does not have the expected shape (then
      parse it with protobuf instead).
    """
    try:
        features = _only_len_field(record, 0, len(record), 1)       # Example.features
        found: dict[bytes, tuple[int, int]] = {}
        for field, wire, lo, hi in _fields(record, *features):        # map entries
            if field != 1 or wire != _LEN:
                continue
            key = _only_len_field(record, lo, hi, 1)
            name = record[key[0]:key[1]]
            if name in (b"image", b"id"):
                found[name] = _only_len_field(record, lo, hi, 2)      # entry.value: Feature
        image_list = _only_len_field(record, *found[b"image"], 1)     # Feature.bytes_list
        image = _only_len_field(record, *image_list, 1)               # BytesList.value[0]
        return image[0], image[1] - image[0], _id_value(record, *found[b"id"])
    except (ValueError, IndexError, KeyError):
        return None
