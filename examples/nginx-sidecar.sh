#!/usr/bin/env bash
# The nginx sidecar on loopback ports: ctmpl's agent, two backends, ctmpl keeping nginx's
# upstreams right, and nginx. Shows traffic reaching both backends, then only the healthy one.
# Needs nginx (apt-get install nginx-light) and python3. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
CTMPL=$PWD/target/release/ctmpl
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; "$NGINX" -p "$work" -c "$work/nginx.conf" -s quit 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

AGENT=127.0.0.1:18500
"$CTMPL" agent -dev -http-port 18500 2>"$work/agent.log" & pids+=($!)
for port in 18081 18082; do
  mkdir -p "$work/www$port" && echo "backend on $port" >"$work/www$port/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www$port" >/dev/null 2>&1 & pids+=($!)
done
sleep 1
for port in 18081 18082; do
  curl -sf -X PUT -d "{\"name\": \"app\", \"id\": \"app-$port\", \"address\": \"127.0.0.1\", \"port\": $port,
    \"checks\": [{\"http\": \"http://127.0.0.1:$port/\", \"interval\": \"1s\"}]}" "http://$AGENT/v1/agent/service/register"
done

cat >"$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $work/body; proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
  include $work/upstreams.conf;
  server { listen 127.0.0.1:18080; location / { proxy_pass http://app; } }
}
CONF
cat >"$work/upstreams.ctmpl" <<'TMPL'
upstream app {
{{- range service "app"}}
  server {{.Address}}:{{.Port}};
{{- else}}
  server 127.0.0.1:65535; # force a 502
{{- end}}
}
TMPL
cat >"$work/ctmpl.hcl" <<HCL
consul { address = "$AGENT" }
template {
  source        = "$work/upstreams.ctmpl"
  destination   = "$work/upstreams.conf"
  check_command = "$NGINX -p $work -c $work/nginx.conf -t -q"
  command       = "$NGINX -p $work -c $work/nginx.conf -s reload"
}
HCL
"$CTMPL" -config "$work/ctmpl.hcl" -log-level info 2>"$work/ctmpl.log" & pids+=($!)
until grep -q "server 127.0.0.1:1808" "$work/upstreams.conf" 2>/dev/null; do sleep 0.2; done
sleep 2   # both health checks passing
"$NGINX" -p "$work" -c "$work/nginx.conf"
sleep 0.5
echo "== upstreams.conf as ctmpl rendered it:"; cat "$work/upstreams.conf"
echo "== six requests through nginx:"; for _ in 1 2 3 4 5 6; do curl -s http://127.0.0.1:18080/; done
echo "== stopping the backend on 18082; its check fails, ctmpl re-renders and reloads nginx"
kill "${pids[2]}"; sleep 4
echo "== six requests through nginx:"; for _ in 1 2 3 4 5 6; do curl -s http://127.0.0.1:18080/; done
