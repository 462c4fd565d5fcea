"""Every message id in the code and templates has a zh translation."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

# Pure: no app, no database; run once, on the SQLite pass.
pytestmark = pytest.mark.nodb

ROOT = Path(__file__).resolve().parents[3]


def test_every_message_id_has_a_zh_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "N_",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(pot, "rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with open(ROOT / "gantong/translations/zh/LC_MESSAGES/messages.po", "rb") as handle:
        catalogue = read_po(handle)
    translated = {
        message.id for message in catalogue if message.id and message.string and not message.fuzzy
    }
    missing = sorted(str(m) for m in wanted - translated)
    assert len(wanted) > 100
    assert not missing, f"{len(missing)} message ids lack a zh translation: {missing[:10]}"
