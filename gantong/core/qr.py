"""QR rendering with segno: inline SVG, never a Micro QR.

segno picks the data mask as ISO/IEC 18004 says (7.8.3: the lowest penalty of the eight), but
scores each mask module by module in Python: 80 % of the time of a QR. Here the same penalties
(N1 runs, N2 blocks, N3 finder-like patterns, N4 dark share, with segno's exact counting) are
computed on rows and columns held as integers, one bit a module, so a whole row is one operation;
segno then lays out the QR with the chosen mask, and the SVG is one path of horizontal strokes.
tests/unit/core/test_qr.py checks that the mask chosen is segno's own choice on many inputs.
"""

from __future__ import annotations

from functools import lru_cache

from segno import consts, encoder

_N3_BEFORE = 4  # light modules before or after a 1:1:3:1:1 pattern


def _bits(row) -> int:
    value = 0
    for j, module in enumerate(row):
        if module == 1:
            value |= 1 << j
    return value


def _transpose(rows: list[int], size: int) -> list[int]:
    columns = [0] * size
    for i, row in enumerate(rows):
        bit = 1 << i
        while row:
            low = row & -row
            columns[low.bit_length() - 1] |= bit
            row ^= low
    return columns


def _pack(lines: list[int], size: int) -> int:
    """All rows (or columns) of a symbol as one integer, line i at bits i*size .. i*size+size-1."""
    value = 0
    for i, line in enumerate(lines):
        value |= line << (i * size)
    return value


@lru_cache(maxsize=8)
def _layout(size: int):
    """The symbol's fixed parts as segno sees them while it scores masks, and the 8 masks.

    Returns (function rows, region rows, [(mask rows, packed mask rows, packed mask columns)] * 8):
    function rows hold the dark modules of the finder, timing and alignment patterns (format and
    version areas are light then), region rows the modules a mask applies to.
    """
    version = (size - 17) // 4
    template = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(template, size, size)
    encoder.add_alignment_patterns(template, size, size)
    function = [_bits(row) for row in template]
    region_matrix = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(region_matrix, size, size)
    encoder.add_alignment_patterns(region_matrix, size, size)
    region_matrix[-8][8] = 0x1  # the dark module, as in segno's find_and_apply_best_mask
    region = [sum(1 << j for j, v in enumerate(row) if v > 0x1) for row in region_matrix]
    masks = []
    for pattern in encoder.get_data_mask_functions(False):
        rows = [sum(1 << j for j in range(size) if pattern(i, j)) & region[i] for i in range(size)]
        masks.append((rows, _pack(rows, size), _pack(_transpose(rows, size), size)))
    assert version >= 1
    return function, region, masks


@lru_cache(maxsize=8)
def _edges(size: int):
    """Bit masks of the packed symbol: every module, and the positions where a window of 2, 5, 7
    or 11 modules starting there stays within its line (so no run crosses into the next line)."""
    full = (1 << (size * size)) - 1
    windows = {}
    for width in (2, 5, 7):
        line = (1 << (size - width + 1)) - 1
        windows[width] = _pack([line] * size, size)
    return full, windows


def _lines_penalty(packed: int, size: int) -> int:
    """N1 and N3 of every line at once (segno's mask_scores, all rows or all columns packed)."""
    full, windows = _edges(size)
    inverse = ~packed & full
    # N1: a run of L >= 5 modules of one colour scores L - 2.
    same = ~(packed ^ (packed >> 1)) & windows[2]
    five = same & (same >> 1) & (same >> 2) & (same >> 3)
    score = five.bit_count() + 2 * (five & ~(five << 1)).bit_count()
    # N3: dark light dark dark dark light dark, with 4 light modules (or the edge) on one side.
    found = (
        packed
        & (inverse >> 1)
        & (packed >> 2)
        & (packed >> 3)
        & (packed >> 4)
        & (inverse >> 5)
        & (packed >> 6)
    ) & windows[7]
    if not any(found & (found >> gap) for gap in range(1, 7)):
        # No two patterns in a line closer than 7 modules (nearly always): segno's search
        # counts each one with 4 light modules (or the edge) before or after it, all at once.
        before, after = _n3_sides(packed, inverse, size)
        return score + 40 * (found & (before | after)).bit_count()
    return score + _n3_one_by_one(packed, found, size)


def _n3_sides(packed: int, inverse: int, size: int) -> tuple[int, int]:
    """The positions with _N3_BEFORE light modules (or the line's edge) before them, and those
    with as many after a 7-module pattern starting there."""
    line_start, line_end = _line_edges(size)
    before = after = -1
    for k in range(1, _N3_BEFORE + 1):
        before &= (inverse << k) | line_start[k]
        after &= (inverse >> (6 + k)) | line_end[6 + k]
    return before, after


@lru_cache(maxsize=8)
def _line_edges(size: int) -> tuple[dict[int, int], dict[int, int]]:
    """For k modules: the packed positions fewer than k from their line's start, and those
    whose k-th module onwards is past their line's end."""
    start, end = {}, {}
    for k in range(1, 7 + _N3_BEFORE + 1):
        start[k] = _pack([(1 << min(k, size)) - 1] * size, size)
        end[k] = _pack([((1 << size) - 1) & ~((1 << max(size - k, 0)) - 1)] * size, size)
    return start, end


def _n3_one_by_one(packed: int, found: int, size: int) -> int:
    """N3 of patterns close together, in segno's order: on after a counted pattern, or 4
    modules on after another."""
    score = 0
    line_of, resume = -1, 0
    while found:
        low = found & -found
        found ^= low
        i, p = divmod(low.bit_length() - 1, size)
        if i != line_of:
            line_of, resume = i, 0
            line = (packed >> (i * size)) & ((1 << size) - 1)
        if p < resume:
            continue
        start = max(p - _N3_BEFORE, 0)
        before_light = (line >> start) & ((1 << (p - start)) - 1) == 0
        end = min(p + 7 + _N3_BEFORE, size)
        after_light = (line >> (p + 7)) & ((1 << (end - p - 7)) - 1) == 0
        if before_light or after_light:
            score += 40
            resume = p + 7
        else:
            resume = p + 4
    return score


def _penalty(rows: int, columns: int, size: int) -> int:
    """The mask's penalty (ISO/IEC 18004 7.8.3.1) from the packed rows and packed columns."""
    score = _lines_penalty(rows, size) + _lines_penalty(columns, size)
    # N2: every 2x2 block of one colour scores 3 (row i against row i + 1, column j against j + 1).
    _full, windows = _edges(size)
    last_row = (1 << (size * (size - 1))) - 1
    vertical = ~(rows ^ (rows >> size)) & last_row
    horizontal = ~(rows ^ (rows >> 1))
    score += 3 * (vertical & (vertical >> 1) & horizontal & windows[2]).bit_count()
    # N4: the dark share's distance from 50 %, in steps of 5 %.
    percent = float(rows.bit_count()) / (size**2)
    return score + 10 * int(abs(percent * 100 - 50) / 5)


def _best_of(base: list[int], size: int) -> int:
    """The mask ISO/IEC 18004 7.8.3 picks for the unmasked rows `base` (format areas light)."""
    return _best_of_packed(_pack(base, size), _pack(_transpose(base, size), size), size)


def _best_of_packed(base_rows: int, base_columns: int, size: int) -> int:
    """_best_of, from the unmasked symbol packed by rows and packed by columns."""
    _function, _region, masks = _layout(size)
    best, best_score = 0, None
    for number, (_rows, mask_rows, mask_columns) in enumerate(masks):
        score = _penalty(base_rows ^ mask_rows, base_columns ^ mask_columns, size)
        if best_score is None or score < best_score:
            best, best_score = number, score
    return best


def _choose(matrix, mask: int) -> tuple[int, list[int]]:
    """Return the mask ISO/IEC 18004 7.8.3 picks (segno's choice) for a QR laid out with `mask`,
    and the QR's rows laid out with it, format information excepted."""
    size = len(matrix)
    function, region, masks = _layout(size)
    drawn = [_bits(row) for row in matrix]
    drawn_mask = masks[mask][0]
    # The matrix before masking, with the format and version areas light, as segno scores it.
    base = [function[i] & ~region[i] | (drawn[i] ^ drawn_mask[i]) & region[i] for i in range(size)]
    best = _best_of(base, size)
    best_rows = masks[best][0]
    return best, [d ^ m ^ b for d, m, b in zip(drawn, drawn_mask, best_rows, strict=True)]


def best_mask(matrix, mask: int) -> int:
    """Return the mask segno would choose for the QR whose `matrix` is laid out with `mask`."""
    return _choose(matrix, mask)[0]


_BIT_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


@lru_cache(maxsize=64)
def _error_table(count: int) -> tuple[int, ...]:
    """For each byte c, segno's generator polynomial of `count` error codewords times c, its
    coefficients after the leading one packed big-endian in one integer (one row of the long
    division at once)."""
    log, exp, generator = consts.GALIOS_LOG, consts.GALIOS_EXP, consts.GEN_POLY[count]
    table = [0]
    for coefficient in range(1, 256):
        table.append(int.from_bytes(bytes(exp[log[coefficient] + g] for g in generator), "big"))
    return tuple(table)


def _error_words(block: bytes, count: int) -> bytes:
    """The block's `count` Reed-Solomon error correction codewords (segno's make_blocks)."""
    table = _error_table(count)
    shift, keep = 8 * (count - 1), (1 << (8 * count)) - 1
    remainder = 0
    for codeword in block:  # a division step a codeword: one XOR of the whole remainder
        remainder = ((remainder << 8) & keep) ^ table[codeword ^ (remainder >> shift)]
    return remainder.to_bytes(count, "big")


def _final_message(text: str) -> tuple[int, bytes]:
    """The version and the final codewords of `text` at level M, as segno's encode() makes them
    (data and error correction codewords interleaved), before any placement; the remainder bits
    after them are light."""
    segments = encoder.prepare_data(text, None, None)
    version = encoder.find_version(segments, consts.ERROR_LEVEL_M, eci=False, micro=False)
    error = consts.ERROR_LEVEL_M
    buffer = encoder.Buffer()
    for segment in segments:
        encoder.write_segment(buffer, segment, None, encoder.version_range(version), False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    encoder.write_terminator(buffer, capacity, None, len(buffer))
    encoder.write_padding_bits(buffer, version, len(buffer))
    encoder.write_pad_codewords(buffer, version, capacity, len(buffer))
    # segno's buffer holds one bit a byte: read as a binary number, it is the data codewords.
    bits = buffer.getbits()
    data = int(bits.translate(_BIT_DIGITS), 2).to_bytes(len(bits) // 8, "big")
    data_blocks, error_blocks, start = [], [], 0
    for info in consts.ECC[version][error]:
        for _ in range(info.num_blocks):
            block = data[start : start + info.num_data]
            start += info.num_data
            data_blocks.append(block)
            error_blocks.append(_error_words(block, info.num_total - info.num_data))
    # Interleaved as ISO/IEC 18004 7.6 says: the first codeword of every block, the second...
    longest = max(len(block) for block in data_blocks)
    data_words = bytes(block[i] for i in range(longest) for block in data_blocks if i < len(block))
    error_words = bytes(b for words in zip(*error_blocks, strict=True) for b in words)
    return version, data_words + error_words


@lru_cache(maxsize=8)
def _placement(version: int) -> tuple[int, ...]:
    """Where each bit of the final message goes, as bit numbers of the packed symbol: segno's
    add_codewords run once on a symbol whose i-th free module receives i."""
    size = version * 4 + 17
    template = encoder.make_matrix(size, size)
    encoder.add_finder_patterns(template, size, size)
    encoder.add_alignment_patterns(template, size, size)
    order = [[None] * size for _ in range(size)]
    free = sum(row.count(0x2) for row in template)
    numbers = iter(range(free))
    matrix = [[0x2 if value == 0x2 else None for value in row] for row in template]
    for right in range(size - 1, 0, -2):  # the walk of segno's add_codewords, for QR (not Micro)
        if right <= 6:
            right -= 1
        for vertical in range(size):
            for z in range(2):
                j = right - z
                upwards = ((right & 2) == 0) ^ (j < 6)
                i = (size - 1 - vertical) if upwards else vertical
                if matrix[i][j] == 0x2 and order[i][j] is None:
                    order[i][j] = next(numbers)
    positions = [0] * free
    for i, row in enumerate(order):
        for j, number in enumerate(row):
            if number is not None:
                positions[number] = i * size + j
    return tuple(positions)


@lru_cache(maxsize=64)
def _format_rows(version: int, mask: int) -> tuple[int, ...]:
    """The format information (with the dark module) and the version information, as rows."""
    size = version * 4 + 17
    matrix = encoder.make_matrix(size, size, reserve_regions=False, add_timing=False)
    for row in matrix:
        row[:] = bytes(size)
    encoder.add_format_info(matrix, version, consts.ERROR_LEVEL_M, mask)
    encoder.add_version_info(matrix, version)
    return tuple(_bits(row) for row in matrix)


@lru_cache(maxsize=8)
def _nibble_modules(version: int) -> tuple[tuple[tuple[int, int], ...], ...]:
    """For each half codeword of the final message (high half first), the 16 values it can
    take as the dark modules they put in the symbol packed by rows and packed by columns
    (placement by table, not bit by bit; no transposing afterwards)."""
    size = version * 4 + 17
    positions = _placement(version)
    tables = []
    for first in range(0, len(positions) - len(positions) % 4, 4):
        bits = positions[first : first + 4]  # the nibble's bits, most significant first
        across = [(bit % size) * size + bit // size for bit in bits]  # the same, by columns
        tables.append(
            tuple(
                (
                    sum(1 << bits[k] for k in range(4) if value >> (3 - k) & 1),
                    sum(1 << across[k] for k in range(4) if value >> (3 - k) & 1),
                )
                for value in range(16)
            )
        )
    return tuple(tables)


@lru_cache(maxsize=8)
def _fixed_parts(size: int) -> tuple[int, int, int, int]:
    """The function patterns' dark modules and the masked region, packed by rows and by columns."""
    function, region, _masks = _layout(size)
    return (
        _pack(function, size),
        _pack(region, size),
        _pack(_transpose(function, size), size),
        _pack(_transpose(region, size), size),
    )


def layout(text: str) -> tuple[int, list[int]]:
    """Return the QR of `text` (error level M) as segno makes it: its mask and its rows as bits."""
    # segno makes the data codewords (make_qr's own steps, never a Micro QR: browser scanners
    # can't read those); the error correction, placing them, choosing the standard's mask and
    # drawing are done here on whole rows.
    version, codewords = _final_message(text)
    size = version * 4 + 17
    tables = _nibble_modules(version)
    rows = columns = 0
    for index, codeword in enumerate(codewords):
        high, low = tables[2 * index][codeword >> 4], tables[2 * index + 1][codeword & 15]
        rows |= high[0] | low[0]
        columns |= high[1] | low[1]
    function_rows, region_rows, function_columns, region_columns = _fixed_parts(size)
    base_rows = function_rows | rows & region_rows
    best = _best_of_packed(base_rows, function_columns | columns & region_columns, size)
    final = base_rows ^ _layout(size)[2][best][1]
    line = (1 << size) - 1
    information = _format_rows(version, best)
    return best, [(final >> (i * size)) & line | information[i] for i in range(size)]


def svg(text: str) -> str:
    """Return the QR of `text` as an inline, scalable SVG element (error level M)."""
    return path_svg(layout(text)[1])


def path_svg(rows: list[int], border: int = 4) -> str:
    """Draw a QR's rows (bit j = column j, dark) as one SVG path of horizontal strokes."""
    size = len(rows) + 2 * border
    parts = []
    x = y = 0  # the pen, in stroke coordinates (a stroke runs along y + 0.5)
    first = True
    for i, row in enumerate(rows):
        while row:
            start = (row & -row).bit_length() - 1
            run = (~(row >> start) & ((row >> start) + 1)).bit_length() - 1
            row &= ~(((1 << run) - 1) << start)
            sx, sy = start + border, i + border
            if first:
                parts.append(f"M{sx} {sy}.5h{run}")
                first = False
            else:
                parts.append(f"m{sx - x} {sy - y}h{run}")
            x, y = sx + run, sy
    return (
        f'<svg viewBox="0 0 {size} {size}" class="qr-svg">'
        f'<path stroke="#000" d="{"".join(parts)}"/></svg>'
    )
