
use builtin;
use str;

set edit:completion:arg-completer[app] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'app'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'app'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Serve the HTTP API'
            cand migrate 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)'
            cand sign 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)'
            cand send 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers'
            cand list 'List stored messages like GET /messages, reading the database file'
            cand stats 'Print the GET /stats figures, reading the database file'
            cand backup 'Copy the database into a new file (online, while `app serve` writes) and check the copy'
            cand prune 'Delete the messages older than a date or an age, and say how many remain'
            cand completions 'Print a shell completion script'
            cand healthcheck 'Ask a running server''s /health/ready; exit 0 when ready, 1 otherwise'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'app;serve'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --secret 'HMAC-SHA256 key for X-Signature (required)'
            cand --secret-file 'A file holding the HMAC-SHA256 key for X-Signature, instead of WEBHOOK_SECRET'
            cand --previous-secret 'A second key accepted during a rotation'
            cand --previous-secret-file 'A file holding the second key, instead of WEBHOOK_SECRET_PREVIOUS'
            cand --tolerance-secs 'Seconds a Standard Webhooks timestamp may be from the server''s clock, either way (1 to 86400)'
            cand --whatsapp-app-secret 'The Meta app''s secret: the key of X-Hub-Signature-256 on POST /webhook/whatsapp (unset: every delivery there is refused)'
            cand --whatsapp-app-secret-file 'A file holding the Meta app''s secret, instead of WHATSAPP_APP_SECRET'
            cand --whatsapp-verify-token 'The token Meta''s subscription handshake (GET /webhook/whatsapp) must present (unset: every handshake fails)'
            cand --whatsapp-verify-token-file 'A file holding the handshake''s token, instead of WHATSAPP_VERIFY_TOKEN'
            cand --read-token 'The bearer token GET /messages and GET /stats need (unset: they are open)'
            cand --read-token-file 'A file holding the read token, instead of READ_TOKEN'
            cand --metrics-token 'The bearer token GET /metrics needs (unset: it is open)'
            cand --metrics-token-file 'A file holding the metrics token, instead of METRICS_TOKEN'
            cand --log-level 'Least severe level logged: DEBUG, INFO, WARN or ERROR (any case)'
            cand --host 'Address to listen on'
            cand --port 'Port to listen on (0 to 65535; 0 picks a free one)'
            cand --max-body-bytes 'Largest accepted POST /webhook or /webhook/whatsapp body, in bytes (1 to 16777216)'
            cand --request-timeout-secs 'Seconds a request may take before it is answered 408, so that shutdown always ends (1 to 3600)'
            cand --shutdown-drain-secs 'Seconds to keep serving after SIGTERM, readiness answering 503, before closing (0 to 3600)'
            cand --retention 'Keep messages this long after their ts, then delete them, in small batches while the writer is idle: a whole number and a unit, s, m, h, d or w, from 1h (e.g. 90d; unset or empty: keep every message)'
            cand --sqlite-autocheckpoint-pages 'Pages of write-ahead log after which the server checkpoints it into the database file itself (0 to 1000000); 0: never, for when Litestream replicates and checkpoints'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;migrate'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --status 'List applied and pending migrations without changing anything'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;sign'= {
            cand --scheme 'The sender style to sign as'
            cand --secret 'HMAC-SHA256 key for hex and standard: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)'
            cand --secret-file 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET'
            cand --whatsapp-app-secret 'HMAC-SHA256 key for whatsapp: the Meta app''s secret, the server''s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)'
            cand --whatsapp-app-secret-file 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET'
            cand --file 'Sign this file''s bytes instead of stdin ("-" is stdin)'
            cand --body 'Sign this string''s bytes instead of stdin'
            cand --id 'The webhook-id to sign (standard only) [default: a new msg_…]'
            cand --timestamp 'The webhook-timestamp to sign, in Unix seconds (standard only) [default: now]'
            cand --header 'Print whole header lines (`X-Signature: <hex>`; for standard all three `webhook-*` headers) instead of the signature alone'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;send'= {
            cand --scheme 'The sender style to sign as'
            cand --secret 'HMAC-SHA256 key for hex and standard: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)'
            cand --secret-file 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET'
            cand --whatsapp-app-secret 'HMAC-SHA256 key for whatsapp: the Meta app''s secret, the server''s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)'
            cand --whatsapp-app-secret-file 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET'
            cand --url 'Base URL of the server (whatsapp posts to /webhook/whatsapp, the others to /webhook)'
            cand --message-id 'The message''s id (for whatsapp, a wamid…)'
            cand --from 'The sender, e.g. +919876543210'
            cand --to 'The recipient, e.g. +14155550100'
            cand --ts 'When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]'
            cand --text 'The text (left out when not given; whatsapp sends a text message, so needs one)'
            cand --file 'Send the messages in this file: a JSON array, or JSON objects one after another (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file (for whatsapp, each object is a delivery: a fixture or a captured webhook, as is)'
            cand --generate 'Send N realistic synthetic messages (varied senders, timestamps and texts); for whatsapp, N deliveries of 1 to 10 messages each (texts, captions, stickers…), some only statuses'
            cand --seed 'Repeat a --generate run exactly: the same ids, senders, texts and timestamps (then in the week before 2025-01-15T10:00:00Z) [default: random]'
            cand --concurrency 'Requests in flight at once'
            cand --timeout-secs 'Seconds to wait for each answer'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;list'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --limit 'Messages per page, 1 to 100 [default: 50]'
            cand --offset 'Messages to skip, 0 or more [default: 0]'
            cand --from 'Only this sender (exact), e.g. +919876543210; the + may be left out'
            cand --since 'Only messages at or after this RFC 3339 instant, e.g. 2025-01-15T09:30:00Z'
            cand --q 'Only messages whose text contains this, ignoring case'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;stats'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;backup'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;prune'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --before 'Delete messages whose ts is earlier than this RFC 3339 instant, e.g. 2025-01-01T00:00:00Z'
            cand --older-than 'Delete messages whose ts is more than this long ago: a whole number and a unit, s, m, h, d or w (e.g. 30d)'
            cand --dry-run 'Count what would be deleted, delete nothing'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;healthcheck'= {
            cand --url 'Base URL of the server to ask, instead of the one HOST and PORT say `app serve` listens on'
            cand --host 'The address `app serve` listens on (0.0.0.0 or ::, every interface, is asked on loopback)'
            cand --port 'The port `app serve` listens on'
            cand --timeout-secs 'Seconds to wait for an answer'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;help'= {
            cand serve 'Serve the HTTP API'
            cand migrate 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)'
            cand sign 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)'
            cand send 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers'
            cand list 'List stored messages like GET /messages, reading the database file'
            cand stats 'Print the GET /stats figures, reading the database file'
            cand backup 'Copy the database into a new file (online, while `app serve` writes) and check the copy'
            cand prune 'Delete the messages older than a date or an age, and say how many remain'
            cand completions 'Print a shell completion script'
            cand healthcheck 'Ask a running server''s /health/ready; exit 0 when ready, 1 otherwise'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'app;help;serve'= {
        }
        &'app;help;migrate'= {
        }
        &'app;help;sign'= {
        }
        &'app;help;send'= {
        }
        &'app;help;list'= {
        }
        &'app;help;stats'= {
        }
        &'app;help;backup'= {
        }
        &'app;help;prune'= {
        }
        &'app;help;completions'= {
        }
        &'app;help;healthcheck'= {
        }
        &'app;help;help'= {
        }
    ]
    $completions[$command]
}
