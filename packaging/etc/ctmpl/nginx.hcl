# ctmpl as nginx's sidecar (ctmpl-nginx.service): nginx's upstreams from the local agent.
consul {
  address = "127.0.0.1:8500"
  retry {
    attempts    = 0 # retry forever; the last good file stays in place
    backoff     = "250ms"
    max_backoff = "30s"
  }
}

log_level   = "info"
kill_signal = "SIGTERM"

template {
  source        = "/etc/ctmpl/templates/nginx-upstreams.ctmpl"
  destination   = "/etc/nginx/conf.d/ctmpl-upstreams.conf"
  perms         = 0644
  wait          = "1s:5s"
  # A render nginx refuses is rolled back before any reload.
  check_command = "/usr/sbin/nginx -t -q"
  command       = "/usr/sbin/nginx -s reload"
}
