#!/usr/bin/env bash
# Property-based tests of the HTTP API by schemathesis, driven by the API's own OpenAPI document.
#
# Builds `app`, starts `app serve` on a free 127.0.0.1 port over a temporary database with a few
# signed messages in it, and runs schemathesis against GET /openapi.json: every generated request
# must be answered with a documented status (never a 5xx), and every response must match its
# documented content type, headers and schema; invalid data must be refused and valid data
# accepted, on the webhooks too: scripts/schemathesis_hooks.py signs the generated deliveries
# whose signature headers are schema-valid, in each sender style (X-Signature and Standard
# Webhooks on /webhook with WEBHOOK_SECRET, X-Hub-Signature-256 on /webhook/whatsapp with
# WHATSAPP_APP_SECRET). Exits non-zero on any failure.
#
# Environment: MAX_EXAMPLES (per operation and phase, default 100), SEED (default fixed, so a
# run can be repeated), SCHEMATHESIS_VERSION (the PyPI version installed into target/).
set -euo pipefail

cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
MAX_EXAMPLES="${MAX_EXAMPLES:-100}"
SEED="${SEED:-20250115}"
CARGO="${CARGO:-cargo}"
VENV=target/schemathesis-venv
SECRET="schemathesis-secret"
APP_SECRET="schemathesis-app-secret"
VERIFY_TOKEN="schemathesis-verify-token"
# The reads are closed, as the document's bearer scheme says they can be: schemathesis sends the
# token (one for both READ_TOKEN and METRICS_TOKEN) and checks that a request without it is a 401.
ACCESS_TOKEN="schemathesis-access-token"

# 1. schemathesis, from PyPI, into a venv under target/ (reused while the version matches).
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
    echo "schemathesis.sh: installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION"
fi

# 2. The server, on a free port over a fresh database.
"$CARGO" build --locked --bin app
workdir="$(mktemp -d)"
. scripts/app-serve.sh
cleanup() {
    stop_app_serve
    rm -rf "$workdir"
}
trap cleanup EXIT

if ! start_app_serve target/debug/app "$workdir/server.log" \
    WEBHOOK_SECRET="$SECRET" WHATSAPP_APP_SECRET="$APP_SECRET" WHATSAPP_VERIFY_TOKEN="$VERIFY_TOKEN" \
    READ_TOKEN="$ACCESS_TOKEN" METRICS_TOKEN="$ACCESS_TOKEN" \
    DATABASE_URL="sqlite://$workdir/app.db" LOG_LEVEL=INFO; then
    echo "schemathesis.sh: app serve did not start" >&2
    exit 1
fi
url="$APP_SERVE_URL"

# 3. A few signed messages, so that the reads answer with rows and not only empty pages.
"$VENV/bin/python" - "$url" "$SECRET" <<'PY'
import hashlib, hmac, json, sys, urllib.request
url, secret = sys.argv[1], sys.argv[2].encode()
messages = [
    ("m1", "+919876543210", "2025-01-15T10:00:00Z", "Hello"),
    ("m2", "+919876543210", "2025-01-15T09:00:00Z", "Earlier"),
    ("m3", "+14155550100", "2025-01-15T10:00:00.5Z", None),
    ("m4", "+447700900123", "2025-01-16T08:30:00Z", "Héllo ÉTÉ 100%_off"),
]
for message_id, sender, ts, text in messages:
    body = json.dumps({"message_id": message_id, "from": sender, "to": "+14155550100",
                       "ts": ts, "text": text}).encode()
    request = urllib.request.Request(f"{url}/webhook", data=body, method="POST", headers={
        "Content-Type": "application/json",
        "X-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
    })
    with urllib.request.urlopen(request) as response:
        assert response.status == 200, response.status
PY

# 4. schemathesis, with every check (those that need what the API has not, such as security
#    schemes or delete operations, pass as not applicable). Hypothesis keeps its state under
#    target/, not in the source tree.
WEBHOOK_SECRET="$SECRET" WHATSAPP_APP_SECRET="$APP_SECRET" WHATSAPP_VERIFY_TOKEN="$VERIFY_TOKEN" \
PYTHONPATH="scripts${PYTHONPATH:+:$PYTHONPATH}" \
HYPOTHESIS_STORAGE_DIRECTORY="$PWD/target/hypothesis" \
"$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "$url/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $ACCESS_TOKEN" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --no-color || status=$?

# What the generated deliveries came to, from the server's own counters.
echo "schemathesis.sh: webhook outcomes during the run:"
"$VENV/bin/python" - "$url" "$ACCESS_TOKEN" <<'PY'
import sys, urllib.request
request = urllib.request.Request(f"{sys.argv[1]}/metrics",
                                 headers={"Authorization": f"Bearer {sys.argv[2]}"})
with urllib.request.urlopen(request) as response:
    for line in response.read().decode().splitlines():
        if line.startswith("webhook_") and not line.startswith("webhook_duplicate"):
            print("  " + line)
PY
# And by sender style, from the server's log lines: what each scheme's signed deliveries came to.
echo "schemathesis.sh: webhook answers by method, path, signature scheme and status:"
"$VENV/bin/python" - "$workdir/server.log" <<'PY'
import collections, json, sys
counts = collections.Counter()
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("method") in ("GET", "POST") and str(event.get("path", "")).startswith("/webhook"):
        counts[(event["method"], event["path"], event.get("scheme"), event.get("status"))] += 1
for (method, path, scheme, status), count in sorted(counts.items(), key=str):
    print(f"  {method} {path} scheme={scheme} status={status}: {count}")
PY
exit "${status:-0}"
