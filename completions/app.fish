# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_app_global_optspecs
    string join \n h/help V/version
end

function __fish_app_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_app_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_app_using_subcommand
    set -l cmd (__fish_app_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c app -n "__fish_app_needs_command" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_needs_command" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_needs_command" -f -a "serve" -d 'Serve the HTTP API'
complete -c app -n "__fish_app_needs_command" -f -a "migrate" -d 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)'
complete -c app -n "__fish_app_needs_command" -f -a "sign" -d 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)'
complete -c app -n "__fish_app_needs_command" -f -a "send" -d 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers'
complete -c app -n "__fish_app_needs_command" -f -a "list" -d 'List stored messages like GET /messages, reading the database file'
complete -c app -n "__fish_app_needs_command" -f -a "stats" -d 'Print the GET /stats figures, reading the database file'
complete -c app -n "__fish_app_needs_command" -f -a "backup" -d 'Copy the database into a new file (online, while `app serve` writes) and check the copy'
complete -c app -n "__fish_app_needs_command" -f -a "prune" -d 'Delete the messages older than a date or an age, and say how many remain'
complete -c app -n "__fish_app_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c app -n "__fish_app_needs_command" -f -a "healthcheck" -d 'Ask a running server\'s /health/ready; exit 0 when ready, 1 otherwise'
complete -c app -n "__fish_app_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c app -n "__fish_app_using_subcommand serve" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand serve" -l secret -d 'HMAC-SHA256 key for X-Signature (required)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l secret-file -d 'A file holding the HMAC-SHA256 key for X-Signature, instead of WEBHOOK_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l previous-secret -d 'A second key accepted during a rotation' -r
complete -c app -n "__fish_app_using_subcommand serve" -l previous-secret-file -d 'A file holding the second key, instead of WEBHOOK_SECRET_PREVIOUS' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l tolerance-secs -d 'Seconds a Standard Webhooks timestamp may be from the server\'s clock, either way (1 to 86400)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l whatsapp-app-secret -d 'The Meta app\'s secret: the key of X-Hub-Signature-256 on POST /webhook/whatsapp (unset: every delivery there is refused)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l whatsapp-app-secret-file -d 'A file holding the Meta app\'s secret, instead of WHATSAPP_APP_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l whatsapp-verify-token -d 'The token Meta\'s subscription handshake (GET /webhook/whatsapp) must present (unset: every handshake fails)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l whatsapp-verify-token-file -d 'A file holding the handshake\'s token, instead of WHATSAPP_VERIFY_TOKEN' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l read-token -d 'The bearer token GET /messages and GET /stats need (unset: they are open)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l read-token-file -d 'A file holding the read token, instead of READ_TOKEN' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l metrics-token -d 'The bearer token GET /metrics needs (unset: it is open)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l metrics-token-file -d 'A file holding the metrics token, instead of METRICS_TOKEN' -r -F
complete -c app -n "__fish_app_using_subcommand serve" -l log-level -d 'Least severe level logged: DEBUG, INFO, WARN or ERROR (any case)' -r -f -a "DEBUG\t''
INFO\t''
WARN\t''
ERROR\t''"
complete -c app -n "__fish_app_using_subcommand serve" -l host -d 'Address to listen on' -r
complete -c app -n "__fish_app_using_subcommand serve" -l port -d 'Port to listen on (0 to 65535; 0 picks a free one)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l max-body-bytes -d 'Largest accepted POST /webhook or /webhook/whatsapp body, in bytes (1 to 16777216)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l request-timeout-secs -d 'Seconds a request may take before it is answered 408, so that shutdown always ends (1 to 3600)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l shutdown-drain-secs -d 'Seconds to keep serving after SIGTERM, readiness answering 503, before closing (0 to 3600)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l retention -d 'Keep messages this long after their ts, then delete them, in small batches while the writer is idle: a whole number and a unit, s, m, h, d or w, from 1h (e.g. 90d; unset or empty: keep every message)' -r
complete -c app -n "__fish_app_using_subcommand serve" -l sqlite-autocheckpoint-pages -d 'Pages of write-ahead log after which the server checkpoints it into the database file itself (0 to 1000000); 0: never, for when Litestream replicates and checkpoints' -r
complete -c app -n "__fish_app_using_subcommand serve" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand serve" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand migrate" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand migrate" -l status -d 'List applied and pending migrations without changing anything'
complete -c app -n "__fish_app_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand migrate" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand sign" -l scheme -d 'The sender style to sign as' -r -f -a "hex\t'`X-Signature`: the hex HMAC-SHA256 of the body with WEBHOOK_SECRET (POST /webhook)'
standard\t'Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>` over id, timestamp and body) with WEBHOOK_SECRET, `whsec_` or not (POST /webhook)'
whatsapp\t'Meta\'s WhatsApp Cloud API: `X-Hub-Signature-256: sha256=<hex>` with WHATSAPP_APP_SECRET (POST /webhook/whatsapp)'"
complete -c app -n "__fish_app_using_subcommand sign" -l secret -d 'HMAC-SHA256 key for hex and standard: the server\'s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)' -r
complete -c app -n "__fish_app_using_subcommand sign" -l secret-file -d 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand sign" -l whatsapp-app-secret -d 'HMAC-SHA256 key for whatsapp: the Meta app\'s secret, the server\'s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)' -r
complete -c app -n "__fish_app_using_subcommand sign" -l whatsapp-app-secret-file -d 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand sign" -l file -d 'Sign this file\'s bytes instead of stdin ("-" is stdin)' -r -F
complete -c app -n "__fish_app_using_subcommand sign" -l body -d 'Sign this string\'s bytes instead of stdin' -r
complete -c app -n "__fish_app_using_subcommand sign" -l id -d 'The webhook-id to sign (standard only) [default: a new msg_…]' -r
complete -c app -n "__fish_app_using_subcommand sign" -l timestamp -d 'The webhook-timestamp to sign, in Unix seconds (standard only) [default: now]' -r
complete -c app -n "__fish_app_using_subcommand sign" -l header -d 'Print whole header lines (`X-Signature: <hex>`; for standard all three `webhook-*` headers) instead of the signature alone'
complete -c app -n "__fish_app_using_subcommand sign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c app -n "__fish_app_using_subcommand sign" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand send" -l scheme -d 'The sender style to sign as' -r -f -a "hex\t'`X-Signature`: the hex HMAC-SHA256 of the body with WEBHOOK_SECRET (POST /webhook)'
standard\t'Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64>` over id, timestamp and body) with WEBHOOK_SECRET, `whsec_` or not (POST /webhook)'
whatsapp\t'Meta\'s WhatsApp Cloud API: `X-Hub-Signature-256: sha256=<hex>` with WHATSAPP_APP_SECRET (POST /webhook/whatsapp)'"
complete -c app -n "__fish_app_using_subcommand send" -l secret -d 'HMAC-SHA256 key for hex and standard: the server\'s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)' -r
complete -c app -n "__fish_app_using_subcommand send" -l secret-file -d 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand send" -l whatsapp-app-secret -d 'HMAC-SHA256 key for whatsapp: the Meta app\'s secret, the server\'s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)' -r
complete -c app -n "__fish_app_using_subcommand send" -l whatsapp-app-secret-file -d 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET' -r -F
complete -c app -n "__fish_app_using_subcommand send" -l url -d 'Base URL of the server (whatsapp posts to /webhook/whatsapp, the others to /webhook)' -r
complete -c app -n "__fish_app_using_subcommand send" -l message-id -d 'The message\'s id (for whatsapp, a wamid…)' -r
complete -c app -n "__fish_app_using_subcommand send" -l from -d 'The sender, e.g. +919876543210' -r
complete -c app -n "__fish_app_using_subcommand send" -l to -d 'The recipient, e.g. +14155550100' -r
complete -c app -n "__fish_app_using_subcommand send" -l ts -d 'When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]' -r
complete -c app -n "__fish_app_using_subcommand send" -l text -d 'The text (left out when not given; whatsapp sends a text message, so needs one)' -r
complete -c app -n "__fish_app_using_subcommand send" -l file -d 'Send the messages in this file: a JSON array, or JSON objects one after another (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file (for whatsapp, each object is a delivery: a fixture or a captured webhook, as is)' -r -F
complete -c app -n "__fish_app_using_subcommand send" -l generate -d 'Send N realistic synthetic messages (varied senders, timestamps and texts); for whatsapp, N deliveries of 1 to 10 messages each (texts, captions, stickers…), some only statuses' -r
complete -c app -n "__fish_app_using_subcommand send" -l seed -d 'Repeat a --generate run exactly: the same ids, senders, texts and timestamps (then in the week before 2025-01-15T10:00:00Z) [default: random]' -r
complete -c app -n "__fish_app_using_subcommand send" -l concurrency -d 'Requests in flight at once' -r
complete -c app -n "__fish_app_using_subcommand send" -l timeout-secs -d 'Seconds to wait for each answer' -r
complete -c app -n "__fish_app_using_subcommand send" -l json -d 'Print JSON (for `list` and `stats` exactly the API\'s body) instead of tables'
complete -c app -n "__fish_app_using_subcommand send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c app -n "__fish_app_using_subcommand send" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand list" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand list" -l limit -d 'Messages per page, 1 to 100 [default: 50]' -r
complete -c app -n "__fish_app_using_subcommand list" -l offset -d 'Messages to skip, 0 or more [default: 0]' -r
complete -c app -n "__fish_app_using_subcommand list" -l from -d 'Only this sender (exact), e.g. +919876543210; the + may be left out' -r
complete -c app -n "__fish_app_using_subcommand list" -l since -d 'Only messages at or after this RFC 3339 instant, e.g. 2025-01-15T09:30:00Z' -r
complete -c app -n "__fish_app_using_subcommand list" -l q -d 'Only messages whose text contains this, ignoring case' -r
complete -c app -n "__fish_app_using_subcommand list" -l json -d 'Print JSON (for `list` and `stats` exactly the API\'s body) instead of tables'
complete -c app -n "__fish_app_using_subcommand list" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand list" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand stats" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand stats" -l json -d 'Print JSON (for `list` and `stats` exactly the API\'s body) instead of tables'
complete -c app -n "__fish_app_using_subcommand stats" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand stats" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand backup" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand backup" -l json -d 'Print JSON (for `list` and `stats` exactly the API\'s body) instead of tables'
complete -c app -n "__fish_app_using_subcommand backup" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand backup" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand prune" -l database-url -d 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:' -r
complete -c app -n "__fish_app_using_subcommand prune" -l before -d 'Delete messages whose ts is earlier than this RFC 3339 instant, e.g. 2025-01-01T00:00:00Z' -r
complete -c app -n "__fish_app_using_subcommand prune" -l older-than -d 'Delete messages whose ts is more than this long ago: a whole number and a unit, s, m, h, d or w (e.g. 30d)' -r
complete -c app -n "__fish_app_using_subcommand prune" -l dry-run -d 'Count what would be deleted, delete nothing'
complete -c app -n "__fish_app_using_subcommand prune" -l json -d 'Print JSON (for `list` and `stats` exactly the API\'s body) instead of tables'
complete -c app -n "__fish_app_using_subcommand prune" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand prune" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand completions" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand completions" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand healthcheck" -l url -d 'Base URL of the server to ask, instead of the one HOST and PORT say `app serve` listens on' -r
complete -c app -n "__fish_app_using_subcommand healthcheck" -l host -d 'The address `app serve` listens on (0.0.0.0 or ::, every interface, is asked on loopback)' -r
complete -c app -n "__fish_app_using_subcommand healthcheck" -l port -d 'The port `app serve` listens on' -r
complete -c app -n "__fish_app_using_subcommand healthcheck" -l timeout-secs -d 'Seconds to wait for an answer' -r
complete -c app -n "__fish_app_using_subcommand healthcheck" -s h -l help -d 'Print help'
complete -c app -n "__fish_app_using_subcommand healthcheck" -s V -l version -d 'Print version'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "serve" -d 'Serve the HTTP API'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "migrate" -d 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "sign" -d 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "send" -d 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "list" -d 'List stored messages like GET /messages, reading the database file'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "stats" -d 'Print the GET /stats figures, reading the database file'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "backup" -d 'Copy the database into a new file (online, while `app serve` writes) and check the copy'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "prune" -d 'Delete the messages older than a date or an age, and say how many remain'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "completions" -d 'Print a shell completion script'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "healthcheck" -d 'Ask a running server\'s /health/ready; exit 0 when ready, 1 otherwise'
complete -c app -n "__fish_app_using_subcommand help; and not __fish_seen_subcommand_from serve migrate sign send list stats backup prune completions healthcheck help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
