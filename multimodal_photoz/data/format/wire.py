"""Zero-copy access to the image bytes of a serialized tf.train.Example.

Parsing a record with protobuf copies the image payload twice; at about
150 kB per 64x64x9 cutout those copies dominate reading. This walks the
protobuf wire format (Example.features.feature map entries) just far enough
to find where the ``image`` bytes and the ``id`` sit in the record, so that
the pixels are read with one copy straight into the batch array.
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


def image_and_id(record: bytes) -> tuple[int, int, int] | None:
    """Locates the image payload and reads the id of one serialized Example.

    Returns:
      (image byte offset, image byte length, id), or None if the record does
      not have the expected shape (then parse it with protobuf instead).
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
        int_list = _only_len_field(record, *found[b"id"], 3)          # Feature.int64_list
        for field, wire, lo, hi in _fields(record, *int_list):
            if field == 1:
                value = _varint(record, lo)[0] if wire == _LEN else lo  # packed or not
                value = value - (1 << 64) if value >= 1 << 63 else value
                return image[0], image[1] - image[0], value
        return None
    except (ValueError, IndexError, KeyError):
        return None
