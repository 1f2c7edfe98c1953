#!/usr/bin/env bash
# GET /docs renders the API in a real browser: Debian's headless Chromium, with every host but
# 127.0.0.1 unresolvable, so a page that needed a CDN would render nothing.
#
# Installs Chromium (Debian's `chromium` package) when it is missing, builds `app`, starts
# `app serve` on a free 127.0.0.1 port over a temporary database, with READ_TOKEN set (the page
# is open whatever tokens are set), lets Chromium run the page's scripts and dumps the DOM they
# built. Then checks that the DOM shows every operation of GET /openapi.json (its path and its
# summary, which only the rendered document contains: the page as served has neither) and the
# Authorize button of the bearer scheme, and that every request the browser made was a 200.
# Stops the server. Exits non-zero, saying what is missing, otherwise.
#
# Environment: CARGO (default cargo), CHROMIUM (default chromium), KEEP=1 keeps the temporary
# folder (the server's log, Chromium's output and the DOM).
set -euo pipefail

cd "$(dirname "$0")/.."

CARGO="${CARGO:-cargo}"
CHROMIUM="${CHROMIUM:-chromium}"
# Virtual time the page may take to fetch the document and render it (Chromium skips idle
# waits, so this is not wall-clock time); the real bound is the timeout around it.
BUDGET_MS=20000
CHROMIUM_SECONDS=120

say() { printf 'docs-browser.sh: %s\n' "$*" >&2; }
fail() {
    say "FAILED: $*"
    exit 1
}

# 1. Chromium, from Debian's packages.
if ! command -v "$CHROMIUM" >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "$CHROMIUM is not installed (apt-get install chromium, as root)"
    say "installing chromium (Debian's package)"
    # Another apt-get may hold the lock for a while: wait for it rather than fail.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
fi

# 2. The server, on a free port over a fresh database.
"$CARGO" build --locked --bin app
workdir="$(mktemp -d)"
. scripts/app-serve.sh
cleanup() {
    stop_app_serve
    if [ "${KEEP:-}" = 1 ]; then
        say "kept $workdir"
    else
        rm -rf "$workdir"
    fi
}
trap cleanup EXIT

start_app_serve target/debug/app "$workdir/server.log" \
    WEBHOOK_SECRET=docs-browser-secret READ_TOKEN=docs-browser-read-token \
    DATABASE_URL="sqlite://$workdir/app.db" LOG_LEVEL=INFO || fail "app serve did not start"
url="$APP_SERVE_URL"

# 3. The page, rendered. Any host but 127.0.0.1 resolves to nothing.
say "rendering $url/docs in $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
timeout "$CHROMIUM_SECONDS" "$CHROMIUM" --headless --no-sandbox --disable-gpu \
    --no-first-run --disable-extensions --user-data-dir="$workdir/profile" \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    --virtual-time-budget="$BUDGET_MS" \
    --dump-dom "$url/docs" >"$workdir/dom.html" 2>"$workdir/chromium.log" ||
    fail "chromium exited with $? (its output: $workdir/chromium.log, KEEP=1 keeps it)"

# 4. What the DOM must show, from the document itself; what the browser asked for, from the
#    server's log.
python3 - "$url" "$workdir/dom.html" "$workdir/server.log" <<'PY'
import html, json, sys, urllib.request

url, dom_path, log_path = sys.argv[1:]
dom = open(dom_path, encoding="utf-8").read()
with urllib.request.urlopen(f"{url}/openapi.json") as response:
    document = json.load(response)
with urllib.request.urlopen(f"{url}/docs") as response:
    served = response.read().decode()

missing = []
operations = 0
for path, item in document["paths"].items():
    for method, operation in item.items():
        operations += 1
        summary = html.escape(operation["summary"], quote=False)
        # The summary is in no page as served: only the rendered document shows it.
        assert summary not in served, f"the served page already contains {summary!r}"
        if f'data-path="{path}"' not in dom:
            missing.append(f"the path {path}")
        if summary not in dom:
            missing.append(f"{method.upper()} {path}'s summary {summary!r}")
if 'class="btn authorize' not in dom:
    missing.append("the Authorize button (the bearer scheme)")
if missing:
    print("docs-browser.sh: FAILED: the rendered /docs lacks " + "; ".join(missing), file=sys.stderr)
    sys.exit(1)

requests = []
for line in open(log_path, encoding="utf-8"):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("msg") == "request":
        requests.append((event["method"], event["path"], event["status"]))
browser = [r for r in requests if r[1] == "/docs" or r[1].startswith("/docs/") or r[1] == "/openapi.json"]
failed = [r for r in browser if r[2] != 200]
if failed or not any(r[1] == "/docs/swagger-ui-bundle.js" for r in browser):
    print(f"docs-browser.sh: FAILED: the browser's requests: {browser}", file=sys.stderr)
    sys.exit(1)
print(f"docs-browser.sh: /docs rendered all {operations} operations and the Authorize button; "
      f"the browser's {len(browser)} requests to this server were 200s, with every other host unresolvable")
PY
