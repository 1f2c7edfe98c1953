#!/usr/bin/env bash
# Lints a live server's /metrics with Prometheus' own `promtool check metrics`.
#
# Starts `app serve` on a free loopback port over a temporary database, sends one request of
# each kind (a created message, a duplicate, a conflict, a bad signature, a 422, reads, probes,
# an unknown path, a refused WhatsApp handshake), then pipes /metrics into
# `promtool check metrics`. Any finding fails, except the one lint the contract asks for: the
# brief names its histogram `request_latency_ms`, and promtool says that "metric names should
# not contain abbreviated units" (its conventional twin is `http_request_duration_seconds`).
#
# promtool comes from Debian's `prometheus` package, unpacked under target/ without installing
# it (no service is started): `apt-get download prometheus`, then `dpkg-deb -x`.
#
# Environment: APP (the `app` binary; default target/debug/app), PROMTOOL (default
# target/promtool/usr/bin/promtool, fetched when missing), KEEP=1 keeps the temporary folder.
set -euo pipefail

cd "$(dirname "$0")/.."

APP=${APP:-target/debug/app}
PROMTOOL_ROOT=$PWD/target/promtool
PROMTOOL=${PROMTOOL:-$PROMTOOL_ROOT/usr/bin/promtool}
ALLOWED='request_latency_ms metric names should not contain abbreviated units'

note() { printf '# %s\n' "$*"; }
fail() {
  note "FAILED: $*"
  exit 1
}

if [[ ! -x $PROMTOOL ]]; then
  note "fetching promtool from Debian's prometheus package into $PROMTOOL_ROOT"
  download=$(mktemp -d "${TMPDIR:-/tmp}/promtool-deb.XXXXXX")
  # An empty package index (a fresh container) is filled once, then the download is retried.
  if ! (cd "$download" && apt-get download prometheus >/dev/null 2>&1); then
    [[ $(id -u) == 0 ]] || fail "apt-get download prometheus failed (run apt-get update?)"
    apt-get update -qq >/dev/null
    (cd "$download" && apt-get download prometheus >/dev/null 2>&1) ||
      fail "apt-get download prometheus failed"
  fi
  mkdir -p "$PROMTOOL_ROOT"
  dpkg-deb -x "$download"/prometheus_*.deb "$PROMTOOL_ROOT"
  rm -rf "$download"
fi
[[ -x $PROMTOOL ]] || fail "no promtool at $PROMTOOL"
[[ -x $APP ]] || fail "no app binary at $APP (cargo build --bin app)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/promtool-check.XXXXXX")
. scripts/app-serve.sh
cleanup() {
  stop_app_serve
  if [[ ${KEEP:-} == 1 ]]; then note "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

export WEBHOOK_SECRET=promtool-check-secret
unset READ_TOKEN METRICS_TOKEN RETENTION
start_app_serve "$APP" "$WORK/serve.log" DATABASE_URL="sqlite://$WORK/app.db" LOG_LEVEL=INFO ||
  fail "app serve did not start"
URL=$APP_SERVE_URL
note "app serve on $URL"

# expect STATUS METHOD PATH [BODY [SIGNATURE]]: one request, failing unless it is answered STATUS.
expect() {
  local want=$1 method=$2 path=$3 body=${4-} signature=${5-} got
  local args=(-s -o /dev/null -w '%{http_code}' -X "$method")
  if [[ $method == POST ]]; then
    args+=(-H 'Content-Type: application/json' -H "X-Signature: $signature" --data-binary "$body")
  fi
  got=$(curl "${args[@]}" "$URL$path")
  [[ $got == "$want" ]] || fail "$method $path: expected $want, got $got"
}
sign() { printf '%s' "$1" | "$APP" sign; }

FIRST='{"message_id":"promtool-1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}'
CONFLICT='{"message_id":"promtool-1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Changed"}'
expect 200 POST /webhook "$FIRST" "$(sign "$FIRST")"             # created
expect 200 POST /webhook "$FIRST" "$(sign "$FIRST")"             # duplicate
expect 200 POST /webhook "$CONFLICT" "$(sign "$CONFLICT")"       # duplicate, other content
expect 401 POST /webhook "$FIRST" 0000                           # bad signature
expect 422 POST /webhook '{}' "$(sign '{}')"                     # validation error
expect 200 GET '/messages?from=+919876543210&q=hello'
expect 200 GET /stats
expect 200 GET /health/live
expect 200 GET /health/ready
expect 403 GET '/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1'
expect 404 GET /no/such/route
note "sent one request of each kind"

curl -sf "$URL/metrics" >"$WORK/metrics.txt" || fail "GET /metrics failed"
set +e
"$PROMTOOL" check metrics <"$WORK/metrics.txt" >"$WORK/promtool.txt" 2>&1
status=$?
set -e
findings=$(grep -vxF "$ALLOWED" "$WORK/promtool.txt" || true)
# 0: nothing to say; 3: lint findings only (then only the allowed one). Anything else, such as
# 1 for a parse error, fails whatever it printed.
if [[ $status != 0 && $status != 3 ]] || [[ -n $findings ]]; then
  cat "$WORK/promtool.txt"
  fail "promtool check metrics (exit $status) on $(grep -c '^# TYPE' "$WORK/metrics.txt") families"
fi
note "promtool check metrics: $(grep -c '^# TYPE' "$WORK/metrics.txt") families, no finding but the allowed one:"
note "  $ALLOWED"
