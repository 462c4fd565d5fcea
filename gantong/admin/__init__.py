"""Administrators: districts, points, accounts, risk areas, issuers, exports, the audit trail, retention.

The blueprint `bp` is in views/__init__.py, its routes in one module an area; create_app registers it."""
