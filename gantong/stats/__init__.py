"""Statistics for officers (their district) and administrators (the province).

The blueprint `bp` is in views.py; create_app registers it."""
