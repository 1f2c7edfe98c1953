#!/usr/bin/env bash
# The restore drill: Litestream replicates a live `app serve` to a file replica, the machine is
# lost, and the database comes back from the replica. Native (no Docker), loopback only.
#
#   1. clean: a fresh database, `app serve` (SQLITE_AUTOCHECKPOINT_PAGES=0) and
#      `litestream replicate -config litestream.yml` running; DRILL_MESSAGES messages sent
#      with `app send`, every one acknowledged; the replica caught up (a restore of it to a
#      scratch file holds every acknowledged id); both processes SIGKILLed; the database, its
#      -wal and -shm and Litestream's local state deleted; `litestream restore`; `app serve` on
#      the restored file. Every acknowledged id must be there, `PRAGMA integrity_check` ok,
#      /stats equal to the live server's: anything else fails the drill.
#   2. during load: the same start, then both processes SIGKILLed while `app send` is still
#      sending, without waiting for the replica; restore. Reports how many messages the
#      replica lacked and the window of commits they span (the recovery point). A loss here
#      is reported, not failed; a restore that fails or is not intact fails the drill.
#
# A message is acknowledged when the server answered 200, which it does only once the row is
# committed to disk ("200 means durable"). In run 2 the id of each acknowledged message is not
# known (app send counts them), so the replica is compared with every row the killed primary
# had committed, a superset: the acknowledged messages it lacked lie between the bounds the
# summary gives.
#
# Environment: APP (the `app` binary; default target/debug/app), LITESTREAM (default
# target/litestream-venv/bin/litestream; `make restore-drill` installs it), DRILL_MESSAGES
# (run 1, default 5000), DRILL_LOAD_MESSAGES (run 2, default 20000), DRILL_CONCURRENCY
# (requests in flight, default 16), KEEP=1 keeps the temporary folder and its logs.
#
# Prints one `# ...` line per step and, last, one JSON object: the clean run's `acknowledged`,
# `restored`, `lost`, `integrity`, `restore_seconds`, `stats_equal`, `catch_up_seconds`, and
# the during-load run's figures under `during_load`. Exits non-zero when run 1 lost anything
# or any check failed.
set -uo pipefail

cd "$(dirname "$0")/.."

APP=${APP:-target/debug/app}
LITESTREAM=${LITESTREAM:-target/litestream-venv/bin/litestream}
MESSAGES=${DRILL_MESSAGES:-5000}
LOAD_MESSAGES=${DRILL_LOAD_MESSAGES:-20000}
CONCURRENCY=${DRILL_CONCURRENCY:-16}
CONFIG=$PWD/litestream.yml
# Generous bounds on every wait, so that the whole drill ends in under two minutes even when
# something hangs.
START_SECONDS=15
CATCH_UP_SECONDS=30
LOAD_SECONDS=60

export WEBHOOK_SECRET=drill-secret

# Steps and failures are printed on fd 3, the script's stdout, so that a failure inside a
# command substitution is still seen (and its JSON line still comes last).
exec 3>&1
note() { printf '# %s\n' "$*" >&3; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/restore-drill.XXXXXX")
# Ends the processes this script started that still run (jobs lists only those).
cleanup() {
  local pid
  for pid in $(jobs -p); do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ ${KEEP:-} == 1 ]]; then
    note "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# fail MESSAGE: the last line is still one JSON object, saying why.
fail() {
  note "FAILED: $*"
  py json passed=false "error=$*" >&3
  exit 1
}

# The SQLite, HTTP and JSON steps, in Python's standard library.
read -r -d '' PY_STEPS <<'PY'
import json, sqlite3, sys, urllib.request
from datetime import datetime

def connect(path, live):
    # A live database is opened read-only: this connection must never be the one that
    # checkpoints it. A dead one is opened as SQLite would after a crash (its log recovered).
    return sqlite3.connect(f"file:{path}?mode=ro" if live else path, uri=live)

def ids(path, live=False):
    return {row[0] for row in connect(path, live).execute("SELECT message_id FROM messages")}

def read_ids(path):
    with open(path) as file:
        return {line.rstrip("\n") for line in file if line.strip()}

def number(value):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(value, value)

command, args = sys.argv[1], sys.argv[2:]
if command == "ids":  # ids DB OUT [live]: writes the ids to OUT, prints how many
    found = sorted(ids(args[0], live=len(args) > 2))
    with open(args[1], "w") as out:
        out.writelines(f"{message_id}\n" for message_id in found)
    print(len(found))
elif command == "rows":  # rows DB: rows in a live database
    print(connect(args[0], True).execute("SELECT count(*) FROM messages").fetchone()[0])
elif command == "missing":  # missing IDS DB: how many of the ids DB lacks
    print(len(read_ids(args[0]) - ids(args[1])))
elif command == "integrity":  # integrity DB: integrity_check's answer
    rows = connect(args[0], False).execute("PRAGMA integrity_check").fetchall()
    print(";".join(str(row[0]) for row in rows))
elif command == "last-commit":  # last-commit DB: the newest commit, in Unix seconds
    (last,) = connect(args[0], False).execute("SELECT max(created_at) FROM messages").fetchone()
    print(datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() if last else 0)
elif command == "get":  # get URL OUT: the body to OUT; fails unless 200
    with urllib.request.urlopen(args[0], timeout=5) as response, open(args[1], "wb") as out:
        out.write(response.read())
elif command == "field":  # field JSON_FILE KEY
    with open(args[0]) as file:
        print(json.load(file)[args[1]])
elif command == "same-json":  # same-json A B: exit 0 when both files hold the same JSON
    with open(args[0]) as a, open(args[1]) as b:
        sys.exit(0 if json.load(a) == json.load(b) else 1)
elif command == "sub":  # sub A B [DIGITS]: A - B, rounded
    print(round(float(args[0]) - float(args[1]), int(args[2]) if len(args) > 2 else 3))
elif command == "json":  # json KEY=VALUE... (KEY.SUB=VALUE nests one level): one JSON line
    summary = {}
    for pair in args:
        key, _, value = pair.partition("=")
        outer, _, inner = key.partition(".")
        if inner:
            summary.setdefault(outer, {})[inner] = number(value)
        else:
            summary[key] = number(value)
    print(json.dumps(summary))
else:
    sys.exit(f"unknown step {command}")
PY
py() { python3 -c "$PY_STEPS" "$@"; }

for tool in python3 "$APP" "$LITESTREAM"; do
  command -v "$tool" >/dev/null || fail "$tool not found (make restore-drill installs it)"
done
APP=$(realpath "$APP")
LITESTREAM=$(realpath "$LITESTREAM")

# start_server DB LOG: `app serve` on a free loopback port; sets SERVER_PID and URL.
start_server() {
  local db=$1 log=$2 port= deadline=$((SECONDS + START_SECONDS))
  DATABASE_URL="sqlite://$db" HOST=127.0.0.1 PORT=0 LOG_LEVEL=INFO \
    SQLITE_AUTOCHECKPOINT_PAGES=0 "$APP" serve >"$log" 2>&1 &
  SERVER_PID=$!
  until [[ -n $port ]]; do
    ((SECONDS < deadline)) && kill -0 "$SERVER_PID" 2>/dev/null ||
      fail "app serve did not start: $(tail -n 3 "$log")"
    sleep 0.1
    port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -n 1)
  done
  URL=http://127.0.0.1:$port
}

# start_litestream DB REPLICA_DIR LOG: `litestream replicate` with the repository's
# configuration; sets LITESTREAM_PID.
start_litestream() {
  LITESTREAM_DB_PATH=$1 LITESTREAM_REPLICA_URL=file://$2 \
    "$LITESTREAM" replicate -config "$CONFIG" >"$3" 2>&1 &
  LITESTREAM_PID=$!
}

# kill_both: SIGKILL the server and Litestream at once, as a lost machine would.
kill_both() {
  kill -KILL "$SERVER_PID" "$LITESTREAM_PID" 2>/dev/null
  wait "$SERVER_PID" "$LITESTREAM_PID" 2>/dev/null
}

# lose_disk DB: what is left of the machine's disk is gone: the database, its -wal and -shm,
# and Litestream's local state beside it.
lose_disk() {
  local db=$1
  rm -rf "$db" "$db-wal" "$db-shm" "$(dirname "$db")/.$(basename "$db")-litestream"
  [[ ! -e $db && ! -e $db-wal && ! -e $db-shm ]] || fail "could not delete $db"
}

# restore DB REPLICA_DIR: `litestream restore` as an operator runs it (the configuration's
# database path); prints the seconds it took.
restore() {
  local start=$EPOCHREALTIME
  LITESTREAM_DB_PATH=$1 LITESTREAM_REPLICA_URL=file://$2 \
    "$LITESTREAM" restore -config "$CONFIG" "$1" >"$WORK/restore.log" 2>&1 ||
    fail "litestream restore failed: $(tail -n 3 "$WORK/restore.log")"
  py sub "$EPOCHREALTIME" "$start"
}

# wait_caught_up REPLICA_DIR IDS: until a restore of the replica to a scratch file holds every
# id; prints the seconds waited.
wait_caught_up() {
  local replica=$1 wanted=$2 probe=$WORK/probe.db start=$EPOCHREALTIME
  local deadline=$((SECONDS + CATCH_UP_SECONDS)) missing=unknown
  while ((SECONDS < deadline)); do
    rm -f "$probe" "$probe-wal" "$probe-shm"
    if "$LITESTREAM" restore -o "$probe" "file://$replica" >/dev/null 2>&1; then
      missing=$(py missing "$wanted" "$probe") && [[ $missing == 0 ]] && {
        py sub "$EPOCHREALTIME" "$start"
        return 0
      }
    fi
    sleep 0.2
  done
  fail "the replica did not catch up within ${CATCH_UP_SECONDS}s ($missing acknowledged ids missing)"
}

VERSION=$("$LITESTREAM" version)
note "litestream $VERSION, $APP, work folder $WORK"
DRILL_START=$SECONDS

# --- 1. clean: everything acknowledged is replicated, then restored ----------------------------

dir=$WORK/clean
mkdir -p "$dir"
db=$dir/app.db replica=$dir/replica
start_server "$db" "$dir/serve.log"
start_litestream "$db" "$replica" "$dir/litestream.log"
note "clean: app serve on $URL and litestream replicate running; sending $MESSAGES messages"
"$APP" send --url "$URL" --generate "$MESSAGES" --concurrency "$CONCURRENCY" --json \
  >"$dir/send.json" 2>"$dir/send.err" || fail "app send: $(cat "$dir/send.err")"
acknowledged=$(py field "$dir/send.json" created)
throughput=$(py field "$dir/send.json" throughput_per_s)
stored=$(py ids "$db" "$dir/acknowledged.ids" live)
[[ $acknowledged == "$MESSAGES" && $stored == "$MESSAGES" ]] ||
  fail "$acknowledged of $MESSAGES acknowledged as new, $stored rows stored"
py get "$URL/stats" "$dir/live-stats.json" || fail "GET /stats on the live server"
note "clean: $acknowledged acknowledged ($throughput/s); waiting for the replica"
catch_up=$(wait_caught_up "$replica" "$dir/acknowledged.ids") || exit 1
note "clean: the replica holds every acknowledged id ${catch_up}s after the last answer"

kill_both
lose_disk "$db"
note "clean: app serve and litestream SIGKILLed, $db, -wal, -shm and Litestream's state deleted"
restore_seconds=$(restore "$db" "$replica") || exit 1
integrity=$(py integrity "$db")
restored=$(py ids "$db" "$dir/restored.ids")
lost=$(py missing "$dir/acknowledged.ids" "$db")
note "clean: restored in ${restore_seconds}s: $restored rows, $lost acknowledged missing, integrity $integrity"

start_server "$db" "$dir/restored-serve.log"
py get "$URL/health/ready" "$dir/ready.json" || fail "the restored server is not ready"
py get "$URL/stats" "$dir/restored-stats.json" || fail "GET /stats on the restored server"
stats_equal=false
py same-json "$dir/live-stats.json" "$dir/restored-stats.json" && stats_equal=true
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
note "clean: the restored server is ready; /stats equal to the live one: $stats_equal"

# --- 2. during load: the primary dies mid-stream, the replica is what it is -------------------

dir=$WORK/load
mkdir -p "$dir"
db=$dir/app.db replica=$dir/replica
start_server "$db" "$dir/serve.log"
start_litestream "$db" "$replica" "$dir/litestream.log"
note "during load: sending $LOAD_MESSAGES messages; SIGKILL once half are stored"
"$APP" send --url "$URL" --generate "$LOAD_MESSAGES" --concurrency "$CONCURRENCY" --json \
  >"$dir/send.json" 2>"$dir/send.err" &
SEND_PID=$!
deadline=$((SECONDS + LOAD_SECONDS))
until (($(py rows "$db" 2>/dev/null || echo 0) >= LOAD_MESSAGES / 2)); do
  ((SECONDS < deadline)) || fail "fewer than half of $LOAD_MESSAGES stored after ${LOAD_SECONDS}s"
  kill -0 "$SEND_PID" 2>/dev/null || fail "app send ended before the kill: $(cat "$dir/send.err")"
  sleep 0.05
done
wal_bytes=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
kill_both
# app send stops at the first request that finds no server, and prints what it counted.
wait "$SEND_PID"
acknowledged_load=$(py field "$dir/send.json" created) || fail "app send printed no summary"
committed=$(py ids "$db" "$dir/committed.ids")
last_primary=$(py last-commit "$db")
((committed >= acknowledged_load)) ||
  fail "the killed primary holds $committed rows, fewer than the $acknowledged_load acknowledged"
note "during load: killed with $acknowledged_load acknowledged, $committed committed, log $wal_bytes bytes"

lose_disk "$db"
restore_seconds_load=$(restore "$db" "$replica") || exit 1
integrity_load=$(py integrity "$db")
[[ $integrity_load == ok ]] || fail "the replica restored after the kill is not intact: $integrity_load"
restored_load=$(py ids "$db" "$dir/restored.ids")
lost_committed=$(py missing "$dir/committed.ids" "$db")
window=0
if ((lost_committed > 0)); then
  window=$(py sub "$last_primary" "$(py last-commit "$db")")
fi
# Of the lost rows, at most (committed - acknowledged) were never acknowledged.
unacknowledged=$((committed - acknowledged_load))
lost_acknowledged_min=$((lost_committed > unacknowledged ? lost_committed - unacknowledged : 0))
lost_acknowledged_max=$((lost_committed < acknowledged_load ? lost_committed : acknowledged_load))

start_server "$db" "$dir/restored-serve.log"
py get "$URL/health/ready" "$dir/ready.json" || fail "the server restored after the kill is not ready"
py get "$URL/stats" "$dir/restored-stats.json" || fail "GET /stats on the server restored after the kill"
stats_total=$(py field "$dir/restored-stats.json" total_messages)
[[ $stats_total == "$restored_load" ]] ||
  fail "/stats counts $stats_total messages, the restored file holds $restored_load"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
note "during load: restored in ${restore_seconds_load}s: $restored_load rows, integrity $integrity_load;" \
  "the replica lacked $lost_committed committed rows ($lost_acknowledged_min to" \
  "$lost_acknowledged_max of them acknowledged), ${window}s of commits"

passed=true
if [[ $lost != 0 || $integrity != ok || $stats_equal != true || $restored != "$acknowledged" ]]; then
  passed=false
fi
note "done in $((SECONDS - DRILL_START))s"
py json passed=$passed litestream="$VERSION" messages="$MESSAGES" \
  acknowledged="$acknowledged" restored="$restored" lost="$lost" integrity="$integrity" \
  restore_seconds="$restore_seconds" stats_equal="$stats_equal" catch_up_seconds="$catch_up" \
  throughput_per_s="$throughput" \
  during_load.messages="$LOAD_MESSAGES" during_load.acknowledged="$acknowledged_load" \
  during_load.committed="$committed" during_load.restored="$restored_load" \
  during_load.lost_committed="$lost_committed" \
  during_load.lost_acknowledged_min="$lost_acknowledged_min" \
  during_load.lost_acknowledged_max="$lost_acknowledged_max" \
  during_load.window_seconds="$window" during_load.wal_bytes_at_kill="$wal_bytes" \
  during_load.integrity="$integrity_load" during_load.restore_seconds="$restore_seconds_load"
[[ $passed == true ]]
