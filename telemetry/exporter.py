"""Serving runtime metrics over HTTP (/metrics) for Prometheus.

The worker's job processes each record their calls' metrics into files under one folder (prometheus-client's
multiprocess mode), and the worker's main process serves their sum; a single process (`simulate --metrics-port`)
serves its own registry. The numbers always come from calls driven through agent_runtime.call.CallController.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server


def serve_metrics(
    port: int,
    addr: str = "127.0.0.1",
    *,
    registry: CollectorRegistry | None = None,
    multiprocess_dir: Path | None = None,
) -> None:
    """Start /metrics on addr:port in a background thread: the sum over `multiprocess_dir` (whose path must be in
    PROMETHEUS_MULTIPROC_DIR of every process that records), else `registry` (default: the process's own)."""
    if multiprocess_dir is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))
    start_http_server(port, addr=addr, registry=registry or REGISTRY)
