"""compose.yaml must validate with the Compose client available here."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_validates():
    command = compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("no docker compose client; .ci/run installs docker-compose")
        pytest.skip("no docker compose client installed")
    result = subprocess.run([*command, "-f", str(ROOT / "compose.yaml"), "config", "-q"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_compose_has_every_part_with_health_checks():
    import yaml

    config = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = config["services"]
    assert {"postgres", "redis", "meilisearch", "web", "worker"} <= set(services)
    for name in ("postgres", "redis", "meilisearch", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["build"] == "." and services["worker"]["build"] == "."
    assert {"postgres-data", "redis-data", "meili-data"} <= set(config["volumes"])


def test_compose_scales_web_behind_a_proxy_and_is_watched_by_prometheus_and_grafana():
    import yaml

    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert "ports" not in services["web"] and services["web"]["deploy"]["replicas"]  # replicas: one port, the proxy's
    assert "web" in (ROOT / "deploy" / "Caddyfile").read_text()
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics" and scrape["dns_sd_configs"][0]["names"] == ["web"]
    assert "PAYDECK_METRICS_TOKEN" in services["prometheus"]["environment"]
    assert any("grafana/dashboards" in v for v in services["grafana"]["volumes"])
    replica = services["postgres-replica"]
    assert "pg_basebackup" in " ".join(replica["command"]) and "healthcheck" in replica
    assert "postgres-replica" in services["web"]["environment"]["PAYDECK_READ_REPLICA_URLS"]


def test_the_grafana_dashboard_charts_metrics_paydeck_exports():
    import json
    import re

    from prometheus_client import REGISTRY

    import server.metrics  # noqa: F401 - registers the metrics

    exported = set()
    for family in REGISTRY.collect():
        suffixes = ("_bucket", "_count", "_sum") if family.type == "histogram" else ("",)
        exported |= {family.name + suffix for suffix in suffixes}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "paydeck.json").read_text())
    charted = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bpaydeck_[a-z_]+", target["expr"])}
    assert len(dashboard["panels"]) >= 10
    assert charted and charted <= exported, charted - exported
