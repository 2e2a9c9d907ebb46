"""``egoexo-sql serve``: a web browser over the catalog (Starlette, Jinja2, htmx, uvicorn).

    from egoexo_sql.serve import create_app
    app = create_app("egoexo_catalog")      # an ASGI app; `egoexo-sql serve` runs it with uvicorn

Routes (catalog-contract.md): ``/`` (release and views), ``/takes`` (facets, the matching
takes, plots, exports), ``/takes.csv|json|uids|egoexo|plan`` (the ``takes`` command's
output, byte for byte), ``/facets.json``, ``/take/<take_uid or take_name>`` (one take and
its annotations on one time axis), ``/table/<view>[.csv|.json]``, ``/sql[.csv|.json]?q=``
and ``/search?q=``. Templates and assets (htmx, CSS) ship in this package.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
