#!/usr/bin/env bash
# The story of the seed notes (three Consul servers with -bootstrap-expect=3, a service
# registered with a health check, nginx rendered from the catalog), on one machine, in one
# command: `ctmpl agent -dev -dev-servers 3`. Then the leader leaves, rendering goes on through
# a follower, and the server that left rejoins.
#
#   examples/dev-cluster.sh            # builds ctmpl if needed (honours CARGO_TARGET_DIR)
#   CTMPL=/path/to/ctmpl PORT=18500 examples/dev-cluster.sh
#
# It needs bash and curl; it removes everything it made, and prints the agent's log on failure.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-8500}"
BIN="${CTMPL:-${CARGO_TARGET_DIR:-target}/debug/ctmpl}"
if [ ! -x "$BIN" ]; then
    cargo build --quiet --bin ctmpl
fi

WORK="$(mktemp -d)"
LOG="$WORK/agent.log"
AGENT_PID=""
RENDER_PID=""

stop() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

finish() {
    local status=$?
    stop "$RENDER_PID"
    stop "$AGENT_PID"
    wait 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "!! dev-cluster.sh failed (status $status); the agent's log:" >&2
        cat "$LOG" >&2 || true
        if [ -f "$WORK/ctmpl.log" ]; then
            echo "!! the renderer's log:" >&2
            cat "$WORK/ctmpl.log" >&2
        fi
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap finish EXIT

say() { printf '\n### %s\n' "$*"; }

# until SECONDS WHAT COMMAND...: runs COMMAND until it succeeds, or fails after SECONDS.
until_ok() {
    local secs="$1" what="$2"
    shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "!! timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The HTTP address of server NAME (dev-1...) as the banner lists it.
http_of() { sed -n "s/^ *$1: HTTP API on \([0-9.:]*\).*/\1/p" "$LOG" | head -1; }
# The node name of the server whose server (RPC) address is $1.
name_of_rpc() { sed -n "s/^ *\(dev-[0-9]*\): .*server RPC on $1\$/\1/p" "$LOG" | head -1; }
leader_of() { curl -sf "http://$1/v1/status/leader" | tr -d '"'; }
alive_members() { curl -sf "http://$1/v1/agent/members" | grep -o '"Status":1' | wc -l; }

say "1. A cluster of three servers: ctmpl agent -dev -dev-servers 3 -http-port $PORT"
"$BIN" agent -dev -dev-servers 3 -http-port "$PORT" >"$LOG" 2>&1 &
AGENT_PID=$!
until_ok 30 "the cluster to elect a leader" grep -q ' leads ' "$LOG"
grep '^==>\|^    dev-' "$LOG"

LEADER_RPC="$(leader_of "$(http_of dev-1)")"
LEADER="$(name_of_rpc "$LEADER_RPC")"
LEADER_HTTP="$(http_of "$LEADER")"
# The renderer and the registrations go through a follower: it stays while the leader leaves.
for n in dev-1 dev-2 dev-3; do
    if [ "$n" != "$LEADER" ]; then FOLLOWER="$n"; break; fi
done
HTTP="$(http_of "$FOLLOWER")"
echo "leader: $LEADER ($LEADER_HTTP); the rest of this goes through $FOLLOWER ($HTTP)"
echo "members seen by $FOLLOWER: $(alive_members "$HTTP") alive"

say "2. Register nginx with a health check, as the seed's curl does (lower-case keys)"
# The seed's check probes nginx on 8080; here it probes the agent itself, which answers, so
# the service is healthy without an nginx running.
curl -sf -X PUT "http://$HTTP/v1/agent/service/register" -d '{"name": "nginx","port": 8080,"tags": ["web"],"checks": [{"http": "http://'"$HTTP"'/v1/status/leader","interval": "1s"}]}'
until_ok 15 "the nginx check to pass" \
    sh -c "curl -sf 'http://$HTTP/v1/health/checks/nginx' | grep -q '\"Status\":\"passing\"'"

say "3. curl http://$HTTP/v1/catalog/service/nginx"
curl -sf "http://$HTTP/v1/catalog/service/nginx"
echo

say "4. Render templates/nginx.conf.ctmpl, watching $FOLLOWER"
OUT="$WORK/nginx.conf"
"$BIN" -consul-addr "$HTTP" -template "templates/nginx.conf.ctmpl:$OUT" >"$WORK/ctmpl.log" 2>&1 &
RENDER_PID=$!
until_ok 15 "nginx.conf with the nginx upstream" grep -q 'server 127.0.0.1:8080 ' "$OUT"
sed -n '/upstream nginx/,/}/p' "$OUT"

say "5. The leader ($LEADER) leaves: curl -X PUT http://$LEADER_HTTP/v1/agent/leave"
curl -sf -X PUT "http://$LEADER_HTTP/v1/agent/leave"
until_ok 15 "a new leader" sh -c "l=\$(curl -sf 'http://$HTTP/v1/status/leader' | tr -d '\"'); [ -n \"\$l\" ] && [ \"\$l\" != '$LEADER_RPC' ]"
NEW_LEADER="$(name_of_rpc "$(leader_of "$HTTP")")"
echo "new leader: $NEW_LEADER; members seen by $FOLLOWER: $(alive_members "$HTTP") alive"

say "6. Rendering goes on: a second nginx instance, on 8081"
curl -sf -X PUT "http://$HTTP/v1/agent/service/register" -d '{"id": "nginx-2","name": "nginx","port": 8081,"tags": ["web"]}'
until_ok 15 "nginx.conf with the second instance" grep -q 'server 127.0.0.1:8081 ' "$OUT"
sed -n '/upstream nginx/,/}/p' "$OUT"

say "7. $LEADER rejoins: curl -X PUT http://$HTTP/v1/agent/join/$LEADER_RPC"
curl -sf -X PUT "http://$HTTP/v1/agent/join/$LEADER_RPC"
until_ok 20 "three members on $LEADER" sh -c "[ \"\$(curl -sf 'http://$LEADER_HTTP/v1/agent/members' | grep -o '\"Status\":1' | wc -l)\" -eq 3 ]"
until_ok 20 "$LEADER to catch up" sh -c "curl -sf 'http://$LEADER_HTTP/v1/catalog/service/nginx' | grep -q '\"ServicePort\":8081'"
echo "members seen by $LEADER: $(alive_members "$LEADER_HTTP") alive; its catalog has both nginx instances"
grep '^==>' "$LOG"

say "dev-cluster.sh: OK"
