"""Accounts: log in, register, log out, the account's own password.

The blueprint `bp` is in views.py; create_app registers it."""
