"""The public pages: the landing page and the published keys.

The blueprint `bp` is in views.py; create_app registers it."""
