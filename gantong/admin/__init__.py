"""Administrators: districts, points, accounts, risk areas, issuers, exports, the audit trail, retention.

The blueprint `bp` is in views.py; create_app registers it."""
