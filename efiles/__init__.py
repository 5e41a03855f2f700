"""efiles/: each digitised bundle as an e-file (ई-फ़ाइल) in the workflow database.

    db.py        the database: SQLite by default, PostgreSQL by URL; Alembic migrations
    schema.py    the tables, as SQLAlchemy Core sees them (migrations/ creates them)
    model.py     the records: EFile, Movement, Note, Actor (who asks, and their stations)
    service.py   open, send, receive, park, close, reopen, notes, lists, pendency

A first-floor room: it imports only the ground (abhilekh/). The caller (web/, cli/,
pipelines/) says who is acting and which stations they may see.
"""
