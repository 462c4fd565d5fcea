"""The pure core: colour rules, the token format, identity documents and phone numbers,
divisions, charts and QR drawing. Nothing here imports Flask, SQLAlchemy or the rest of gantong
(checked by import-linter, see pyproject.toml)."""
