"""Venue codes (场所码): venues post a printed code, residents check themselves in with their own
phone, officers trace who was where and file them as contacts."""
