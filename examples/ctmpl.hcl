# ctmpl as an nginx sidecar: consul-template's HCL, plus ctmpl's check_command.
consul {
  address = "127.0.0.1:8500"
  retry {
    attempts    = 0        # retry forever; the last good file stays in place
    backoff     = "250ms"
    max_backoff = "30s"
  }
}

log_level   = "info"
pid_file    = "/tmp/ctmpl.pid"
kill_signal = "SIGINT"
max_stale   = "2s"

template {
  source        = "templates/nginx.conf.ctmpl"
  destination   = "/etc/nginx/conf.d/default.conf"
  perms         = 0644
  wait          = "1s:5s"
  # A render nginx refuses is rolled back before any reload.
  check_command = "nginx -t"
  command       = "nginx -s reload"
}
