"""The resident's pages: people, declarations, the code page, applications and claims.

The blueprint `bp` is in views.py; create_app registers it."""
