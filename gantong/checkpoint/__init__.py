"""Checkpoints: information points, scanning and verifying codes, verification records.

The blueprint `bp` is in views.py; create_app registers it."""
