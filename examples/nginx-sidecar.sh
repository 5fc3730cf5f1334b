#!/usr/bin/env bash
# The nginx sidecar on loopback ports: ctmpl's agent, two backends, ctmpl keeping nginx's
# upstreams right, and nginx. Shows traffic reaching both backends, then only the healthy one.
# Needs nginx (apt-get install nginx-light), python3 and curl. Builds ctmpl with cargo (or
# $CARGO) in release mode, in ${CARGO_TARGET_DIR:-target}. On a failure it shows the agent's
# and ctmpl's logs before cleaning up.
set -euo pipefail
cd "$(dirname "$0")/.."
"${CARGO:-cargo}" build --release -q --bin ctmpl
target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir=$PWD/$target_dir
CTMPL=$target_dir/release/ctmpl
[[ -x $CTMPL ]] || { echo "nginx-sidecar.sh: no ctmpl binary at $CTMPL" >&2; exit 1; }
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
work=$(mktemp -d)
pids=()
nginx_pid=
cleanup() {
  local status=$?
  if ((status != 0)); then
    echo "nginx-sidecar.sh: failed (exit $status)" >&2
    for log in agent.log ctmpl.log error.log; do
      [[ -s $work/$log ]] && { echo "== $log:" >&2; cat "$work/$log" >&2; }
    done
  fi
  kill "${pids[@]}" 2>/dev/null || true
  if [[ -n $nginx_pid ]]; then
    # Graceful quit (as `nginx -s quit`): the master exits after its workers.
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# Waits up to 10 s for a command to succeed.
await() {
  local what=$1; shift
  local end=$((SECONDS + 10))
  while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "nginx-sidecar.sh: timed out waiting for $what" >&2
  return 1
}

AGENT=127.0.0.1:18500
"$CTMPL" agent -dev -http-port 18500 2>"$work/agent.log" & pids+=($!)
for port in 18081 18082; do
  mkdir -p "$work/www$port" && echo "backend on $port" >"$work/www$port/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www$port" >/dev/null 2>&1 & pids+=($!)
done
await "the agent on $AGENT" curl -sf -m 2 "http://$AGENT/v1/status/leader"
await "the backends" curl -sf -m 2 http://127.0.0.1:18081/ -o /dev/null
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
await "ctmpl's first render" grep -q "server 127.0.0.1:1808" "$work/upstreams.conf"
sleep 2   # both health checks passing
# In the foreground (daemon off), as this script's child: stopped and waited for at the end.
"$NGINX" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' & nginx_pid=$!
await "nginx on 127.0.0.1:18080" curl -s -m 2 http://127.0.0.1:18080/ -o /dev/null
echo "== upstreams.conf as ctmpl rendered it:"; cat "$work/upstreams.conf"
echo "== six requests through nginx:"; for _ in 1 2 3 4 5 6; do curl -s http://127.0.0.1:18080/; done
echo "== stopping the backend on 18082; its check fails, ctmpl re-renders and reloads nginx"
kill "${pids[2]}"; sleep 4
echo "== six requests through nginx:"; for _ in 1 2 3 4 5 6; do curl -s http://127.0.0.1:18080/; done
