"""Pre-entry registration, arrivals, and people without a phone (paper codes).

The blueprint `bp` is in views.py; create_app registers it."""
