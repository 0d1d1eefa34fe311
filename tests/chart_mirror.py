"""The local chart repository (``../shared/charts``: index.yaml + packages) served over HTTP on 127.0.0.1.

The observe-stage charts are pulled from it through Helm exactly as from the upstream repositories (or an
internal mirror): the roles' ``*_chart_repo_url`` variables point at the URL ``serve()`` returns.
``LLMOPS_CHART_MIRROR`` names another folder; without it the folder beside the clone is used.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("LLMOPS_CHART_MIRROR") or REPO_ROOT.parent / "shared" / "charts")
# Every role variable naming a chart repository (each is a *_chart_repo_url in that role's defaults).
REPO_URL_VARIABLES = ("monitoring_chart_repo_url", "monitoring_dcgm_chart_repo_url",
                      "autoscaling_adapter_chart_repo_url", "autoscaling_keda_chart_repo_url", "grafana_chart_repo_url",
                      "opencost_chart_repo_url")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(directory: Path = MIRROR) -> tuple[str, ThreadingHTTPServer]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a daemon thread; returns (URL, server)."""
    if not (directory / "index.yaml").is_file():
        raise RuntimeError(f"no chart repository at {directory} (index.yaml missing); set LLMOPS_CHART_MIRROR")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@functools.cache
def mirror_url() -> str:
    """The URL of the shared mirror, served once per test session."""
    return serve()[0]


def repo_url_vars() -> dict[str, str]:
    """Extra vars pointing every role's chart repository at the served mirror."""
    url = mirror_url()
    return {name: url for name in REPO_URL_VARIABLES}
