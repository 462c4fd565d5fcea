"""The JSON API for checkpoints and partners (docs/openapi.yaml).

The blueprint `bp` is in views.py; create_app registers it."""
