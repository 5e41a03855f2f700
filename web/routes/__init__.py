"""One router per concern; web/app.py includes them all.

    login.py    GET/POST /login, POST /logout
    search.py   GET /                                    (session)
    bundles.py  /bundles/...: bundle, page viewer, thumbnail, PDF   (session)
    efiles.py   /efiles...: e-file lists, file page, movements, notes, pendency   (session)
    efiles_api.py  /api/efiles...: the same as JSON                                 (session)
    admin.py    /admin/users, /admin/audit               (admin)
    api.py      /api/login, /api/logout, /api/search, /healthz
"""
