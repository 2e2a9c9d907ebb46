"""``egoexo-sql serve``: the web browser over the catalog."""

from __future__ import annotations

import ipaddress

import typer

from .app import CATALOG_HELP, app, catalog_dir, command_errors


@app.command()
def serve(
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP, show_default=False),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on. Anything but a loopback "
        "address makes the catalog readable from other machines (a warning says so).",
    ),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a web browser."),
    sql_timeout: float = typer.Option(
        5.0, "--sql-timeout", metavar="SECONDS", help="Stop a query of the SQL page after this long."
    ),
    release: str | None = typer.Option(
        None,
        "--release",
        help="The release folder whose videos the take pages play (default: the one the catalog was "
        "built from). Only video and subtitle files inside it are served.",
        show_default=False,
    ),
) -> None:
    """Browse the catalog in a web browser: facets over the takes, a page per take with its
    annotations on one time axis and its videos in sync with them (pose drawn over the picture,
    subtitles), every view, SQL and text search. Read-only, offline."""
    with command_errors():
        from ..serve import create_app

        application = create_app(catalog_dir(catalog), sql_timeout=sql_timeout, release=release)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        typer.echo(
            f"warning: listening on {host}: anyone who can reach this machine can read the catalog", err=True
        )
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/takes"
    typer.echo(f"serving {catalog_dir(catalog)} at {url} (Ctrl-C stops)", err=True)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    import uvicorn

    uvicorn.run(application, host=host, port=port, log_level="warning")
