"""access/: who may see what — users and their stations, log-in, sessions, CSRF, audit.

Used by web/ (every request) and by cli/ (`abhilekh users`, `abhilekh audit`); it
knows nothing of either, nor of the index or the store: only the ground's records.
"""
