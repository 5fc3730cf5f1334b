#!/usr/bin/env python3
"""Catalog-scale benchmark (issue 14): ctmpl against a real `ctmpl agent -dev` holding N services
x 3 instances, with the seed's nginx template (`range services` -> `service .Name`).

For each mode and N it prints one row: TCP connections between ctmpl and the agent, the first
complete render (min/median/max over --runs long-running starts), `-once` time, change -> file
p50/p99, CPU per change and RSS, all of the ctmpl process (not the agent). Modes (--modes):
`h2` (ctmpl talks to its agent directly, which speaks h2c: one connection), `h1` (through a
relay that answers HTTP/2's preface with a 400 as a stock Consul does, so ctmpl falls back to
HTTP/1.1 and its connection budget, --max-conns), and `h1-limit` (as `h1`, against an agent
with `limits { http_max_conns_per_client = 200 }`, Consul's default; --agent-limit sets
another number, or a limit for every mode).

    python3 benches/scale.py --bin target/release/ctmpl --sizes 1000,3000,10000,30000,50000
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

TPL = """{{range services}} {{$name := .Name}} {{$service := service .Name}}
upstream {{$name}} {
  zone upstream-{{$name}} 64k;
  {{range $service}}server {{.Address}}:{{.Port}} max_fails=3 fail_timeout=60 weight=1;
  {{else}}server 127.0.0.1:65535; # force a 502{{end}}
} {{end}}
"""


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def put(addr, path, body):
    r = urllib.request.Request(f"http://{addr}{path}", data=json.dumps(body).encode(), method="PUT")
    urllib.request.urlopen(r, timeout=30).read()


def connections(pid, port):
    """ESTABLISHED TCP connections of process `pid` to local port `port` (from /proc)."""
    inodes = set()
    try:
        for f in os.listdir(f"/proc/{pid}/fd"):
            link = os.readlink(f"/proc/{pid}/fd/{f}")
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return -1
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split()
            if f[3] == "01" and int(f[2].rsplit(":", 1)[1], 16) == port and f[9] in inodes:
                n += 1
    return n


def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1]) // 1024
    return -1


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def count(out):
    try:
        return open(out).read().count("upstream ")
    except OSError:
        return -1


def wait_for_count(out, want, limit):
    """Seconds until `out` holds `want` upstreams. The file is read again only when its size
    or time changed: reading a 12 MB file every few ms would take the CPU from the measured."""
    t0 = time.time()
    seen = None
    while time.time() - t0 < limit:
        try:
            st = os.stat(out)
            now = (st.st_mtime_ns, st.st_size)
        except OSError:
            now = None
        if now is not None and now != seen:
            seen = now
            if count(out) == want:
                break
        time.sleep(0.002)
    return time.time() - t0


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def http1_relay(target):
    """A relay to `target` that speaks only HTTP/1.1, as a stock Consul agent does; its port."""
    listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(1024)
    host, port = target.rsplit(":", 1)

    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def relay(c):
        first = c.recv(24, socket.MSG_PEEK | socket.MSG_WAITALL)
        if first == H2_PREFACE:
            c.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n400 Bad Request")
            c.close(); return
        try:
            s = socket.create_connection((host, int(port)))
        except OSError:  # the agent has stopped at the end of a row
            c.close(); return
        threading.Thread(target=pipe, args=(s, c), daemon=True).start()
        pipe(c, s)

    def serve():
        while True:
            c, _ = listener.accept()
            threading.Thread(target=relay, args=(c,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def register(addr, n):
    def one(i):
        for j in range(3):
            put(addr, "/v1/catalog/register", {"Node": f"node-{j}", "Address": f"10.0.{j}.1",
                "Service": {"ID": f"s{i}-{j}", "Service": f"svc-{i:05d}",
                            "Address": f"10.{j}.{i // 250}.{i % 250}", "Port": 20000 + j}})
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(one, range(n)))


def measure(args, n, mode):
    d = tempfile.mkdtemp()
    port = free_port(); addr = f"127.0.0.1:{port}"
    agent_args = [args.bin, "agent", "-dev", "-http-port", str(port), "-server-port", str(free_port())]
    limit = args.agent_limit or (200 if mode == "h1-limit" else 0)
    if limit:
        cfg = os.path.join(d, "agent.hcl")
        open(cfg, "w").write(f"limits {{ http_max_conns_per_client = {limit} }}\n")
        agent_args += ["-config-file", cfg]
    agent = subprocess.Popen(agent_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    row = {"services": n, "mode": mode + (f" (agent limit {limit})" if limit else "")}
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://{addr}/v1/status/leader", timeout=1).read(); break
            except Exception:
                time.sleep(0.1)
        register(addr, n)
        tpl = os.path.join(d, "t.ctmpl"); open(tpl, "w").write(TPL)
        out = os.path.join(d, "out.conf")
        extra = []
        # A ctmpl from before the budget (for a before/after run) has no such flag.
        helps = subprocess.run([args.bin, "-h"], capture_output=True, text=True)
        if "max-conns-per-host" in helps.stdout + helps.stderr:
            extra = ["-consul-transport-max-conns-per-host", str(args.max_conns)]
        ct_port = http1_relay(addr) if mode.startswith("h1") else port
        base = [args.bin, "-consul-addr", f"127.0.0.1:{ct_port}", "-template", f"{tpl}:{out}"] + extra
        t0 = time.time()
        r = subprocess.run(base + ["-once", "-dry"], capture_output=True, text=True, timeout=600)
        row["once_s"] = round(time.time() - t0, 3)
        # The agent's own `consul` service is one more upstream.
        want = n + 1
        row["once_ok"] = r.returncode == 0 and r.stdout.count("upstream ") == want
        firsts = []
        for run in range(args.runs):
            if os.path.exists(out):
                os.remove(out)
            p = subprocess.Popen(base + ["-log-level", "err"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            firsts.append(wait_for_count(out, want, 300))
            if run < args.runs - 1:
                p.send_signal(2); p.wait(30)
        row["first_min_s"] = round(min(firsts), 3)
        row["first_med_s"] = round(statistics.median(firsts), 3)
        row["first_max_s"] = round(max(firsts), 3)
        time.sleep(2)
        row["conns"] = connections(p.pid, ct_port)
        row["rss_mib"] = rss(p.pid)
        lat = []; c0 = cpu(p.pid)
        for k in range(args.changes):
            m0 = os.stat(out).st_mtime_ns
            i = (k * 7919) % n
            t0 = time.time()
            put(addr, "/v1/catalog/register", {"Node": "node-0", "Address": "10.0.0.1",
                "Service": {"ID": f"s{i}-0", "Service": f"svc-{i:05d}", "Address": f"10.9.{k // 250}.{k % 250}",
                            "Port": 30000 + k}})
            while os.stat(out).st_mtime_ns == m0 and time.time() - t0 < 30:
                time.sleep(0.0005)
            lat.append(time.time() - t0)
            time.sleep(args.gap)
        row["cpu_ms_per_change"] = round((cpu(p.pid) - c0) / args.changes * 1000, 1)
        row["stale"] = count(out) != want or sum(1 for x in lat if x >= 30)
        row["conns_after"] = connections(p.pid, ct_port)
        lat.sort()
        row["change_p50_ms"] = round(lat[len(lat) // 2] * 1000, 1)
        row["change_p99_ms"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)
        p.send_signal(2); p.wait(30)
    finally:
        agent.terminate(); agent.wait(30)
        subprocess.run(["rm", "-rf", d])
    return row


COLS = ["services", "mode", "conns", "first_min_s", "first_med_s", "first_max_s", "once_s",
        "change_p50_ms", "change_p99_ms", "cpu_ms_per_change", "rss_mib", "stale"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/ctmpl")
    ap.add_argument("--sizes", default="1000,3000,10000,30000,50000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.15, help="seconds between changes")
    ap.add_argument("--modes", default="h2,h1,h1-limit", help="comma-separated: h2, h1, h1-limit")
    ap.add_argument("--max-conns", type=int, default=64)
    ap.add_argument("--agent-limit", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="one JSON object per row")
    args = ap.parse_args()
    print("| " + " | ".join(COLS) + " |", flush=True)
    print("|" + "---|" * len(COLS), flush=True)
    modes = args.modes.split(",")
    for mode in modes:
        if mode not in ("h2", "h1", "h1-limit"):
            ap.error(f"unknown mode {mode!r}")
    for mode, n in [(m, int(x)) for m in modes for x in args.sizes.split(",")]:
        row = measure(args, n, mode)
        if args.json:
            print(json.dumps(row), file=sys.stderr)
        print("| " + " | ".join(str(row.get(c, "")) for c in COLS) + " |", flush=True)


if __name__ == "__main__":
    main()
