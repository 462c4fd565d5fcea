"""Administrators: districts, points, accounts, risk areas, issuers, exports, the audit trail, retention.

The blueprint `bp` is in views/blueprint.py, its routes in views/, one module an area; create_app registers it."""
