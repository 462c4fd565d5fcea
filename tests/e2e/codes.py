"""What a code page's QR carries, read as a verifier would."""

from __future__ import annotations

import time

from gantong.codes import keys
from gantong.core import credentials, tokens


def shown_colour(text: str) -> str:
    """Return the colour a code page's QR carries, its signatures checked (in an app context).

    The server draws a screen token; once the phone has its credential (issue 18) it draws its
    own presentation over it, so a screenshot may hold either."""
    if credentials.is_presentation(text):
        presentation = credentials.decode(text)
        assert credentials.device_signature_ok(presentation)
        issuer_key = keys.verification_keys()[presentation.credential.kid]
        return credentials.verify_credential(presentation.credential_bytes, issuer_key).colour
    return tokens.verify(text, keys.verification_keys(), int(time.time())).colour
