# Sourced by the scripts that check a running server (docs-browser.sh, promtool-check.sh,
# schemathesis.sh): one way to start `app serve` on a free loopback port and learn the port.
#
#   start_app_serve BINARY LOG [NAME=VALUE ...]
#       starts `BINARY serve` in the background with those variables added to the environment,
#       on 127.0.0.1 and a port the system picks (PORT=0), its output in LOG, and sets
#       APP_SERVE_PID; then waits up to 10 s for its `listening` line and sets APP_SERVE_URL.
#       Returns 1, with the reason and the log on stderr, if the server exits or never listens.
#   stop_app_serve
#       stops it, if it was started (for an EXIT trap).

APP_SERVE_PID=""
APP_SERVE_URL=""

start_app_serve() {
    local binary=$1 log=$2 port=""
    shift 2
    env "$@" HOST=127.0.0.1 PORT=0 "$binary" serve >"$log" 2>&1 &
    APP_SERVE_PID=$!
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -n 1)
        if [ -n "$port" ]; then
            APP_SERVE_URL="http://127.0.0.1:$port"
            return 0
        fi
        if ! kill -0 "$APP_SERVE_PID" 2>/dev/null; then
            printf 'app serve exited:\n%s\n' "$(cat "$log")" >&2
            return 1
        fi
        sleep 0.1
    done
    printf 'app serve did not start listening:\n%s\n' "$(cat "$log")" >&2
    return 1
}

stop_app_serve() {
    if [ -n "$APP_SERVE_PID" ]; then
        kill "$APP_SERVE_PID" 2>/dev/null || true
        wait "$APP_SERVE_PID" 2>/dev/null || true
    fi
}
