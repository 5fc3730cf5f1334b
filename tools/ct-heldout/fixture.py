"""The held-out fixture: a small Consul catalog and KV store, written as consul-template's
dependencies hold it (tools/ct-typed-oracle/README.md, "Fixture format").

Built from one model of nodes, service instances and checks so every answer agrees with the
others: an instance's Status is the aggregate of its checks, `service Q` keeps the instances
whose status Q's filter accepts (`passing` by default) and whose tags include Q's tag, lists
are sorted as consul-template sorts them, `ls P` holds every pair under P with Key relative to
P. The generator only asks for calls this fixture answers (the CALLS table).
"""

import base64

NODES = [
    {"ID": "11111111-2222-3333-4444-555555555555", "Node": "alpha", "Address": "10.0.0.1",
     "Datacenter": "dc1", "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.51.100.1"},
     "Meta": {"env": "prod", "rack": "r1"}},
    {"ID": "", "Node": "beta", "Address": "10.0.0.2", "Datacenter": "dc1",
     "TaggedAddresses": {}, "Meta": {}},
    {"ID": "", "Node": "gamma", "Address": "10.0.0.3", "Datacenter": "dc1",
     "TaggedAddresses": {"lan": "10.0.0.3"}, "Meta": {"env": "dev"}},
    {"ID": "44444444-0000-0000-0000-000000000004", "Node": "delta", "Address": "10.0.0.4",
     "Datacenter": "dc1", "TaggedAddresses": {"lan": "10.0.0.4", "wan": "203.0.113.4"},
     "Meta": {"env": "prod", "zone": "b"}},
]

# (id, name, node, port, service address, tags, meta, weights, tagged addresses, checks)
# checks: (check id suffix, type, status, output, definition)
INSTANCES = [
    ("web-1", "web", "alpha", 80, "", ["v1", "http"], {"team": "edge", "version": "1.0"},
     (10, 1), {"lan": {"Address": "10.0.0.1", "Port": 80}},
     [("http", "http", "passing", "HTTP GET: 200 OK",
       {"HTTP": "http://10.0.0.1:80/health", "Method": "GET", "Interval": "10s", "Timeout": "2s"})]),
    ("web-2", "web", "beta", 443, "10.0.1.2", ["v2"], {}, (1, 1), None,
     []),
    ("web-3", "web", "gamma", 1000, "", [], {"version": "2.0"}, (1, 1), None,
     [("tcp", "tcp", "passing", "ok", {"TCP": "10.0.0.3:1000", "Interval": "5s", "Timeout": "1s"})]),
    ("web-4", "web", "delta", 8080, "", ["v3"], {"team": "core"}, (1, 1), None,
     [("ttl", "ttl", "critical", "TTL expired", {})]),
    ("web-5", "web", "beta", 8081, "", ["v1"], {"version": "1.1"}, (3, 2), None,
     [("http", "http", "warning", "HTTP GET: 429 Too Many Requests",
       {"HTTP": "http://10.0.0.2:8081/", "Interval": "15s", "Timeout": "5s",
        "DeregisterCriticalServiceAfter": "1m30s"})]),
    ("db-1", "db", "alpha", 5432, "", ["primary"], {"engine": "postgres", "shard": "7"}, (1, 1),
     {"lan": {"Address": "10.0.0.1", "Port": 5432}, "wan": {"Address": "198.51.100.1", "Port": 15432}},
     [("tcp", "tcp", "passing", "TCP connect 10.0.0.1:5432: Success", {"TCP": "10.0.0.1:5432", "Interval": "10s"})]),
    ("db-2", "db", "gamma", 5432, "", ["replica"], {"engine": "postgres", "shard": "12"}, (1, 1), None,
     [("tcp", "tcp", "warning", "slow", {"TCP": "10.0.0.3:5432", "Interval": "10s"}),
      ("lag", "script", "passing", "lag 2s", {})]),
    ("cache-1", "cache", "delta", 6379, "10.0.4.1", ["redis", "v1"], {}, (1, 1), None,
     [("ping", "tcp", "critical", "connection refused", {"TCP": "10.0.4.1:6379", "Interval": "30s"})]),
    ("consul", "consul", "alpha", 8300, "", [], {"raft_version": "3"}, (1, 1), None, []),
]

SERF = {"alpha": "passing", "beta": "passing", "gamma": "passing", "delta": "passing"}

KV = [
    ("app/name", "shop"),
    ("app/num", "42"),
    ("app/float", "3.25"),
    ("app/bool", "true"),
    ("app/flags", "a,b,c"),
    ("app/kv", "k1=v1,k2=v2,k3"),
    ("app/json", '{"a":1,"b":[true,null,"x"],"c":{"d":2.5,"e":"<f>"}}'),
    ("app/list", '["x","y","z"]'),
    ("app/yaml", "a: 1\nb:\n  - x\n  - y\nc:\n  d: e\n"),
    ("app/b64", "aGVsbG8gd29ybGQ="),
    ("app/empty", ""),
    ("app/spaces", "  padded value \n"),
    ("app/config/", ""),
    ("app/config/host", "db.internal"),
    ("app/config/port", "5432"),
    ("app/config/tls/enabled", "false"),
    ("app/dir/x", "1"),
    ("app/dir/sub/y", "2"),
    ("team/alice", "admin"),
    ("team/bob", "dev"),
]

LIST_PREFIXES = ["app", "app/", "app/config", "app/config/", "app/dir", "team", "team/", "empty", "nosuch/"]
SERVICE_QUERIES = ["web", "web|any", "web|passing,warning", "web|critical", "web|warning",
                   "v1.web", "http.web", "web@dc1", "v1.web|any", "db", "db|any", "db|passing,warning",
                   "primary.db", "cache", "cache|any", "consul", "nosuch"]
NODE_QUERIES = ["", "alpha", "beta", "delta", "nosuch", "alpha@dc1"]


def check_status(checks):
    """api.HealthChecks.AggregatedStatus: maintenance > critical > warning > passing."""
    states = [c["Status"] for c in checks]
    for s in ("maintenance", "critical", "warning"):
        if s in states:
            return s
    return "passing"


def node_by_name(name):
    return next(n for n in NODES if n["Node"] == name)


def health_entry(inst):
    sid, name, node, port, addr, tags, meta, (wp, ww), tagged, checks = inst
    n = node_by_name(node)
    all_checks = [{"Node": node, "CheckID": "serfHealth", "Name": "Serf Health Status",
                   "Status": SERF[node], "Notes": "", "Output": "Agent alive and reachable",
                   "ServiceID": "", "ServiceName": "", "ServiceTags": [], "Type": "",
                   "Definition": {}, "CreateIndex": 5, "ModifyIndex": 5}]
    for i, (cid, ctype, status, output, definition) in enumerate(checks):
        all_checks.append({
            "Node": node, "CheckID": f"service:{sid}:{cid}", "Name": f"{name} {cid}",
            "Status": status, "Notes": "", "Output": output, "ServiceID": sid,
            "ServiceName": name, "ServiceTags": sorted(tags), "Type": ctype,
            "Definition": definition, "CreateIndex": 10 + i, "ModifyIndex": 20 + i})
    return {
        "Node": node, "NodeID": n["ID"], "NodeAddress": n["Address"],
        "NodeTaggedAddresses": n["TaggedAddresses"], "NodeMeta": n["Meta"],
        "ServiceMeta": meta, "Address": addr or n["Address"],
        "ServiceTaggedAddresses": tagged, "ID": sid, "Name": name, "Tags": tags,
        "Checks": all_checks, "Status": check_status(all_checks), "Port": port,
        "Weights": {"Passing": wp, "Warning": ww},
    }


def service_answer(query):
    q, _, filt = query.partition("|")
    q = q.split("@")[0]
    tag, _, name = q.rpartition(".")
    states = (filt or "passing").split(",")
    out = []
    for inst in INSTANCES:
        e = health_entry(inst)
        if e["Name"] != name or (tag and tag not in e["Tags"]):
            continue
        if "any" not in states and e["Status"] not in states:
            continue
        out.append(e)
    return sorted(out, key=lambda e: (e["Node"], e["ID"]))


def catalog_services():
    tags = {}
    for inst in INSTANCES:
        tags.setdefault(inst[1], set()).update(inst[5])
    return [{"Name": n, "Tags": sorted(t)} for n, t in sorted(tags.items())]


def catalog_node(name):
    name = name.split("@")[0] or "alpha"  # the agent's own node is alpha
    if not any(n["Node"] == name for n in NODES):
        return {}
    services = [{"ID": i[0], "Service": i[1], "Tags": i[5], "Meta": i[6], "Port": i[3],
                 "Address": i[4], "EnableTagOverride": i[0] == "web-1"}
                for i in INSTANCES if i[2] == name]
    return {"Node": node_by_name(name), "Services": sorted(services, key=lambda s: (s["Service"], s["ID"]))}


def kv_list(prefix):
    out = []
    for i, (path, value) in enumerate(KV):
        if not path.startswith(prefix):
            continue
        out.append({"Path": path, "Key": path[len(prefix):].lstrip("/"), "Value": value,
                    "CreateIndex": 100 + i, "ModifyIndex": 200 + i, "LockIndex": 0,
                    "Flags": 7 if path.endswith("json") else 0, "Session": ""})
    return out


def build():
    fx = {}
    for q in SERVICE_QUERIES:
        fx[f"service {q}"] = service_answer(q)
    fx["services"] = catalog_services()
    fx["services @dc1"] = catalog_services()
    for q in NODE_QUERIES:
        fx[("node " + q).strip()] = catalog_node(q)
    fx["nodes"] = sorted(NODES, key=lambda n: (n["Node"], n["Address"]))
    fx["nodes @dc1"] = fx["nodes"]
    values = dict(KV)
    for path in list(values) + ["app/missing", "nosuch"]:
        fx[f"key {path}"] = values.get(path)
    for p in LIST_PREFIXES:
        fx[f"ls {p}"] = kv_list(p)
    fx["datacenters"] = ["dc1", "dc2"]
    fx["datacenters true"] = ["dc1", "dc2"]
    return fx


def b64(s):
    return base64.b64encode(s.encode()).decode()
