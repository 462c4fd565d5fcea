"""The QR's fast mask choice is segno's own, module for module, and its SVG is segno's."""

import random
import string

import pytest
import segno

from gantong.core import qr

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

ALPHABET = string.ascii_uppercase + string.digits + " $%*+-./:"


def segno_svg(code) -> str:
    return code.svg_inline(
        scale=1, border=4, dark="#000", light=None, svgclass="qr-svg", lineclass=None, omitsize=True
    )


def texts(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        length = rng.choice([1, 5, 20, 47, 90, 120, 121, 160, 230, 400, 700])
        alphabet = ALPHABET if rng.random() < 0.7 else string.printable
        yield "".join(rng.choice(alphabet) for _ in range(length))


def test_the_mask_and_the_drawing_are_segnos_on_many_inputs():
    seen_masks, seen_versions = set(), set()
    for text in texts(300, seed=14):
        reference = segno.make_qr(text, error="m", boost_error=False)
        mask, _rows = qr.layout(text)
        assert mask == reference.mask, text
        assert qr.svg(text) == segno_svg(reference), text
        seen_masks.add(mask)
        seen_versions.add(reference.version)
    # The inputs cover every mask and small to large symbols (version information from 7 up).
    assert seen_masks == set(range(8))
    assert min(seen_versions) <= 2 and max(seen_versions) >= 10


@pytest.mark.parametrize("drawn_with", range(8))
def test_the_choice_does_not_depend_on_the_mask_the_probe_was_drawn_with(drawn_with):
    for text in texts(20, seed=drawn_with):
        probe = segno.make_qr(text, error="m", boost_error=False, mask=drawn_with)
        assert (
            qr.best_mask(probe.matrix, drawn_with)
            == segno.make_qr(text, error="m", boost_error=False).mask
        )


def test_the_svg_is_one_path():
    drawn = qr.svg("GANTONG TEST")
    assert drawn.count("<path") == 1 and drawn.startswith('<svg viewBox="0 0 29 29"')


def test_the_penalty_is_segnos_on_random_symbols():
    """N1 to N4 on whole lines, N3 by bit masks where no two finder-like patterns of a line are
    closer than 7 modules and one by one where they are: segno's score either way."""
    from segno import encoder

    rng = random.Random(19)
    close, apart = 0, 0
    for _ in range(300):
        size = rng.choice([21, 25, 33, 41, 57])
        density = rng.choice([0.3, 0.5, 0.7])
        matrix = [
            bytearray(1 if rng.random() < density else 0 for _ in range(size)) for _ in range(size)
        ]
        if rng.random() < 0.5:  # a finder-like pattern at a line's start or end, edge-light
            row = rng.randrange(size)
            start = rng.choice([0, size - 7])
            matrix[row][start : start + 7] = bytearray([1, 0, 1, 1, 1, 0, 1])
        rows = [qr._bits(row) for row in matrix]
        packed_rows = qr._pack(rows, size)
        packed_columns = qr._pack(qr._transpose(rows, size), size)
        assert qr._penalty(packed_rows, packed_columns, size) == encoder.evaluate_mask(
            matrix, size, size
        )
        full, windows = qr._edges(size)
        dark, light = packed_rows, ~packed_rows & full
        found = dark & (light >> 1) & (dark >> 2) & (dark >> 3) & (dark >> 4) & (light >> 5)
        found &= (dark >> 6) & windows[7]
        close += any(found & (found >> gap) for gap in range(1, 7))
        apart += not any(found & (found >> gap) for gap in range(1, 7))
    assert close and apart
