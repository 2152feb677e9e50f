#!/usr/bin/env python3
"""The compose profile `monitoring` is wired as it says, without Docker.

    python3 deploy/checks/monitoring_check.py COMPOSE_CONFIG

COMPOSE_CONFIG is the output of `docker-compose --profile monitoring config`
(volumes resolved to host paths). Checks: both services are in the profile
with pinned images; every file a container is told to read (Prometheus's
--config.file and rule files, Grafana's provisioning and home dashboard) is
mounted from the repository and exists there; Prometheus scrapes the worker's
compose service on its ADMIN_ADDR port; Grafana's data source is the
Prometheus service; the dashboard provider loads the mounted dashboards and
every panel uses the provisioned data source. Needs PyYAML.
"""
import json
import os
import sys

import yaml


def mounts(svc):
    """container path -> host path of a service's bind mounts."""
    out = {}
    for v in svc.get("volumes", []):
        if isinstance(v, dict):
            out[v["target"]] = v["source"]
        else:
            parts = v.split(":")
            out[parts[1]] = parts[0]
    return out


def host_path(svc, path):
    """The repository file behind a path inside the container, or None."""
    best = None
    for target, source in mounts(svc).items():
        if path == target or path.startswith(target.rstrip("/") + "/"):
            if best is None or len(target) > len(best[0]):
                best = (target, source)
    if best is None:
        return None
    return best[1] + path[len(best[0]):]


class Report:
    """Prints each check; failures collects the failed ones."""

    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        print(f"  {'ok  ' if cond else 'FAIL'} {what}")
        if not cond:
            self.failures.append(what)
        return cond


def check(cfg):
    ok = Report()
    failures = ok.failures

    services = cfg["services"]
    for name in ("prometheus", "grafana"):
        if not ok(name in services, f"service {name} exists"):
            return failures
        svc = services[name]
        ok(svc.get("profiles") == ["monitoring"], f"{name} is in profile monitoring only")
        image = svc.get("image", "")
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        ok(tag not in ("", "latest") and any(c.isdigit() for c in tag), f"{name} image {image} is pinned to a version")
        ok(all(p.startswith("127.0.0.1:") for p in svc.get("ports", [])), f"{name} publishes on 127.0.0.1 only")

    # ---------------------------------------------------------- Prometheus
    prom = services["prometheus"]
    conf = next((a.split("=", 1)[1] for a in prom.get("command", []) if a.startswith("--config.file=")), None)
    if not ok(conf is not None, "prometheus is given --config.file"):
        return failures
    conf_host = host_path(prom, conf)
    if not ok(conf_host is not None and os.path.isfile(conf_host), f"{conf} is mounted from the repository ({conf_host})"):
        return failures
    with open(conf_host) as f:
        pconf = yaml.safe_load(f)
    for rule in pconf.get("rule_files", []):
        path = rule if os.path.isabs(rule) else os.path.join(os.path.dirname(conf), rule)
        ok(host_path(prom, path) is not None and os.path.isfile(host_path(prom, path)), f"rule file {path} is mounted")
    worker = services["worker"]
    admin = worker["environment"]["ADMIN_ADDR"]
    port = admin.rsplit(":", 1)[1]
    targets = [t for sc in pconf.get("scrape_configs", []) for st in sc.get("static_configs", []) for t in st.get("targets", [])]
    ok(f"worker:{port}" in targets, f"prometheus scrapes worker:{port} (the worker's ADMIN_ADDR {admin}); targets {targets}")
    ok(all(t.split(":")[0] in services for t in targets), "every scrape target is a compose service")
    ok(any(d == "worker" for d in (prom.get("depends_on") or {})), "prometheus starts after the worker")

    # ------------------------------------------------------------- Grafana
    graf = services["grafana"]
    prov = host_path(graf, "/etc/grafana/provisioning")
    if not ok(prov is not None and os.path.isdir(prov), "Grafana's provisioning directory is mounted from the repository"):
        return failures
    ds_uids = []
    for fn in sorted(os.listdir(os.path.join(prov, "datasources"))):
        with open(os.path.join(prov, "datasources", fn)) as f:
            for ds in yaml.safe_load(f).get("datasources", []):
                ds_uids.append(ds["uid"])
                url = ds["url"]
                host, _, p = url.split("//", 1)[1].partition(":")
                ok(host == "prometheus" and p.rstrip("/") == "9090", f"data source {ds['name']} is the prometheus service ({url})")
    dash_files = []
    for fn in sorted(os.listdir(os.path.join(prov, "dashboards"))):
        with open(os.path.join(prov, "dashboards", fn)) as f:
            for p in yaml.safe_load(f).get("providers", []):
                path = p["options"]["path"]
                hp = host_path(graf, path)
                if ok(hp is not None and os.path.isdir(hp), f"dashboard provider path {path} is mounted"):
                    dash_files += [os.path.join(hp, n) for n in sorted(os.listdir(hp)) if n.endswith(".json")]
    ok(len(dash_files) > 0, f"the provider finds dashboards ({[os.path.basename(d) for d in dash_files]})")
    home = graf.get("environment", {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        ok(host_path(graf, home) in dash_files, f"the home dashboard {home} is a provisioned one")
    for path in dash_files:
        with open(path) as f:
            d = json.load(f)

        def panels(ps):
            for p in ps:
                yield p
                yield from panels(p.get("panels", []))

        uids = {t.get("datasource", p.get("datasource", {})).get("uid") for p in panels(d["panels"]) for t in p.get("targets", [])}
        uids |= {p["datasource"]["uid"] for p in panels(d["panels"]) if "datasource" in p}
        ok(uids <= set(ds_uids), f"{os.path.basename(path)}: every panel uses a provisioned data source ({sorted(uids)})")
        ids = [p["id"] for p in panels(d["panels"])]
        ok(len(ids) == len(set(ids)), f"{os.path.basename(path)}: panel ids are unique")
    ok(graf.get("depends_on", {}).get("prometheus", {}).get("condition") == "service_healthy", "grafana waits for a healthy prometheus")
    return failures


def main():
    with open(sys.argv[1]) as f:
        cfg = yaml.safe_load(f)
    failures = check(cfg)
    if failures:
        print(f"{len(failures)} monitoring check(s) failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
