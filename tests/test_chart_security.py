"""The chart's security defaults (issue 11): metrics off the ingress, proxy-mode groups,
the client address behind an ingress, the revocation record's least privilege."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chartkit import by_kind, env_of, one, render

INGRESS = {"ingress": {"enabled": True, "host": "kmm.example.com"},
           "publicIngress": {"enabled": True, "host": "models.example.com"}}


def backend_ports(objects: list[dict[str, Any]]) -> set[Any]:
    return {path["backend"]["service"]["port"].get("name") or
            path["backend"]["service"]["port"].get("number")
            for ingress in by_kind(objects, "Ingress") for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]}


def test_metrics_have_their_own_port_that_no_ingress_routes_to() -> None:
    objects = render("kmm-system", INGRESS)
    service_ports = {p["name"]: p for p in one(objects, "Service")["spec"]["ports"]}
    assert service_ports["metrics"]["targetPort"] == "metrics"
    assert backend_ports(objects) == {"http"}
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000,
                                                                          "metrics": 9100}
    assert env_of(objects)["KMM_METRICS_PORT"] == "9100"


@pytest.mark.parametrize(("values", "proxies"), [
    ({}, "0"), (INGRESS, "1"), ({"publicIngress": {"enabled": True, "host": "m.example.com"}}, "1"),
    ({**INGRESS, "config": {"numProxies": 2}}, "2"),
])
def test_the_client_address_is_read_behind_the_ingress(values: dict[str, Any],
                                                        proxies: str) -> None:
    assert env_of(render("kmm-system", values))["KMM_NUM_PROXIES"] == proxies
