"""One URL, whole page or htmx fragment: the Contact.app pattern, written once."""

from __future__ import annotations

from flask import render_template

from gantong.extensions import htmx


def page_or_fragment(whole: str, fragment: str, target: str, **context) -> str:
    """Render the whole page, or only the fragment an htmx request targeting `target` swaps in.

    The security headers add `Vary: HX-Request`, so caches keep the two answers apart.
    """
    if htmx and htmx.target == target:
        return render_template(fragment, **context)
    return render_template(whole, **context)
