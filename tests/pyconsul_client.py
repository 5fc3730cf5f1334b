"""A third-party Consul client (py-consul) against `ctmpl agent`: register, catalog, health, KV,
a blocking read. Usage: python pyconsul_client.py HOST:PORT. Exits non-zero on any mismatch."""
import sys
import threading
import time

import consul

host, port = sys.argv[1].rsplit(":", 1)
c = consul.Consul(host=host, port=int(port))

c.agent.service.register(
    "web", service_id="web-1", port=8080, tags=["v1"], check=consul.Check.ttl("30s")
)
assert "web-1" in c.agent.services(), c.agent.services()
c.agent.check.ttl_pass("service:web-1", notes="ok")

index, nodes = c.catalog.service("web")
assert int(index) > 0 and nodes[0]["ServicePort"] == 8080 and nodes[0]["ServiceTags"] == ["v1"], nodes
index, entries = c.health.service("web", passing=True)
assert len(entries) == 1 and entries[0]["Service"]["ID"] == "web-1", entries
statuses = sorted(ch["Status"] for ch in entries[0]["Checks"])
assert statuses == ["passing", "passing"], statuses

assert c.kv.put("app/config", "hello")
index, data = c.kv.get("app/config")
assert data["Value"] == b"hello", data
assert c.kv.put("app/other", "x")
index, keys = c.kv.get("app/", keys=True)
assert keys == ["app/config", "app/other"], keys

# A blocking read, woken by a write from another thread.
result = {}
def wait_for_change():
    result["index"], result["data"] = c.kv.get("app/config", index=index, wait="30s")
waiter = threading.Thread(target=wait_for_change)
started = time.time()
waiter.start()
time.sleep(0.3)
assert c.kv.put("app/config", "changed")
waiter.join()
assert result["data"]["Value"] == b"changed" and int(result["index"]) > int(index), result
assert time.time() - started < 20

c.agent.service.deregister("web-1")
index, nodes = c.catalog.service("web")
assert nodes == [], nodes
print("py-consul: all checks passed")
