"""QR rendering with segno: inline SVG, never a Micro QR."""
import segno


def svg(text: str) -> str:
    """Return the QR of `text` as an inline, scalable SVG element (error level M)."""
    # make_qr, not make: make() picks a Micro QR for short data, which browser scanners can't read.
    code = segno.make_qr(text, error="m", boost_error=False)
    return code.svg_inline(
        scale=1, border=4, dark="#000", light=None, svgclass="qr-svg", lineclass=None,
        omitsize=True,
    )
