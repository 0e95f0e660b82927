"""The chart's security defaults (issue 11): metrics off the ingress, proxy-mode groups,
the client address behind an ingress, the revocation record's least privilege."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chartkit import CHART, by_kind, env_of, helm, one, render, values_file

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


def impersonation_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for role in by_kind(objects, "ClusterRole") for rule in role["rules"]
            if "impersonate" in rule["verbs"]]


PROXY = {"auth": {"mode": "proxy", "proxy": {"trustedCIDRs": ["10.0.0.0/8"]}}}


def test_proxy_mode_impersonates_no_group_by_default() -> None:
    objects = render("kmm-system", PROXY)
    rules = impersonation_rules(objects)
    assert [r["resources"] for r in rules] == [["users"]]
    assert env_of(objects)["KMM_PROXY_ALLOWED_GROUPS"] == ""


def test_listed_groups_are_the_only_impersonable_ones() -> None:
    values = {"auth": {"mode": "proxy", "proxy": {"trustedCIDRs": ["10.0.0.0/8"],
                                                  "impersonableGroups": ["team-a", "team-b"]}}}
    objects = render("kmm-system", values)
    groups = [r for r in impersonation_rules(objects) if r["resources"] == ["groups"]]
    assert groups[0]["resourceNames"] == ["team-a", "team-b"]
    assert env_of(objects)["KMM_PROXY_ALLOWED_GROUPS"] == "team-a,team-b"


@pytest.mark.parametrize(("proxy", "complaint"), [
    ({"trustedCIDRs": ["10.0.0.0/8"], "impersonableGroups": ["system:masters"]}, "impersonableGroups"),
    ({"trustedCIDRs": ["0.0.0.0/0"]}, "trusts every address"),
    ({"trustedCIDRs": ["::/0"]}, "trusts every address"),
])
def test_unsafe_proxy_values_are_refused(proxy: dict[str, Any], complaint: str) -> None:
    result = helm("template", "kmm", str(CHART), "-f", values_file({"auth": {"mode": "proxy",
                                                                            "proxy": proxy}}),
                  check=False)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_trusting_every_address_can_be_forced() -> None:
    values = {"auth": {"mode": "proxy", "proxy": {"trustedCIDRs": ["0.0.0.0/0"],
                                                  "trustAnyAddress": True}}}
    assert env_of(render("kmm-system", values))["KMM_PROXY_TRUST_ANY_ADDRESS"] == "true"


def test_token_mode_may_update_only_its_revocation_record() -> None:
    objects = render("kmm-system")
    record = [c for c in by_kind(objects, "ConfigMap") if c["metadata"]["name"].endswith(
        "revoked-sessions")]
    assert len(record) == 1
    name = record[0]["metadata"]["name"]
    roles = [r for r in by_kind(objects, "Role") if r["metadata"]["name"] == name]
    assert roles[0]["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                                  "resourceNames": [name], "verbs": ["get", "update"]}]
    assert env_of(objects)["KMM_REVOCATION_CONFIGMAP"] == name
    proxy = render("kmm-system", PROXY)
    assert not [c for c in by_kind(proxy, "ConfigMap") if "revoked" in c["metadata"]["name"]]
