"""District officers: applications, claims and official records, with their queues.

The blueprint `bp` is in views.py; create_app registers it."""
