"""Mask encodings used by the relations annotations.

``encodedMask`` in the real files is a COCO RLE ``counts`` string compressed with
LZString's ``compressToEncodedURIComponent`` (decoder: Ego4D's
``ego4d/research/util/masks.py``). Both encoders are small, so the synthetic masks
are real, decodable masks rather than random strings.
"""

from __future__ import annotations

_URI_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-$"


def rle_counts_string(counts: list[int]) -> str:
    """COCO's compressed RLE string (maskApi.c ``rleToString``)."""
    out = []
    for i, x in enumerate(counts):
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def lz_compress_uri(text: str) -> str:
    """LZString.compressToEncodedURIComponent (6 bits per output character)."""
    if not text:
        return ""
    bits_per_char = 6
    dictionary: dict[str, int] = {}
    to_create: set[str] = set()
    w = ""
    enlarge_in = 2
    dict_size = 3
    num_bits = 2
    out: list[str] = []
    val = 0
    pos = 0

    def write_bits(value: int, n: int) -> None:
        nonlocal val, pos
        for _ in range(n):
            val = (val << 1) | (value & 1)
            if pos == bits_per_char - 1:
                pos = 0
                out.append(_URI_SAFE[val])
                val = 0
            else:
                pos += 1
            value >>= 1

    def emit(word: str) -> None:
        nonlocal enlarge_in, num_bits
        if word in to_create:
            code = ord(word[0])
            if code < 256:
                write_bits(0, num_bits)
                write_bits(code, 8)
            else:
                write_bits(1, num_bits)
                write_bits(code, 16)
            enlarge_in -= 1
            if enlarge_in == 0:
                enlarge_in = 2**num_bits
                num_bits += 1
            to_create.discard(word)
        else:
            write_bits(dictionary[word], num_bits)
        enlarge_in -= 1
        if enlarge_in == 0:
            enlarge_in = 2**num_bits
            num_bits += 1

    for c in text:
        if c not in dictionary:
            dictionary[c] = dict_size
            dict_size += 1
            to_create.add(c)
        wc = w + c
        if wc in dictionary:
            w = wc
        else:
            emit(w)
            dictionary[wc] = dict_size
            dict_size += 1
            w = c
    if w:
        emit(w)
    write_bits(2, num_bits)  # end of stream
    while True:
        val <<= 1
        if pos == bits_per_char - 1:
            out.append(_URI_SAFE[val])
            break
        pos += 1
    return "".join(out)


def lz_decompress_uri(data: str) -> str:
    """Inverse of :func:`lz_compress_uri` (used by tests and by users decoding masks)."""
    if not data:
        return ""
    values = [_URI_SAFE.index(ch) for ch in data]
    reset_value = 32
    idx = 0
    cur = values[0]
    position = reset_value
    index = 1

    def read(n: int) -> int:
        nonlocal cur, position, index
        bits = 0
        power = 1
        for _ in range(n):
            resb = cur & position
            position >>= 1
            if position == 0:
                position = reset_value
                cur = values[index] if index < len(values) else 0
                index += 1
            if resb:
                bits |= power
            power <<= 1
        return bits

    del idx
    dictionary: dict[int, str] = {0: "0", 1: "1", 2: "2"}
    enlarge_in = 4
    dict_size = 4
    num_bits = 3
    kind = read(2)
    if kind == 0:
        c = chr(read(8))
    elif kind == 1:
        c = chr(read(16))
    else:
        return ""
    dictionary[3] = c
    w = c
    result = [c]
    while True:
        code = read(num_bits)
        if code == 0:
            dictionary[dict_size] = chr(read(8))
            dict_size += 1
            code = dict_size - 1
            enlarge_in -= 1
        elif code == 1:
            dictionary[dict_size] = chr(read(16))
            dict_size += 1
            code = dict_size - 1
            enlarge_in -= 1
        elif code == 2:
            return "".join(result)
        if enlarge_in == 0:
            enlarge_in = 2**num_bits
            num_bits += 1
        if code in dictionary:
            entry = dictionary[code]
        elif code == dict_size:
            entry = w + w[0]
        else:
            raise ValueError("corrupt LZString data")
        result.append(entry)
        dictionary[dict_size] = w + entry[0]
        dict_size += 1
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 2**num_bits
            num_bits += 1
