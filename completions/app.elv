
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
            cand sign 'Print the X-Signature (hex HMAC-SHA256) of exactly the bytes given'
            cand send 'Post signed messages to a running server and sum up its answers'
            cand list 'List stored messages like GET /messages, reading the database file'
            cand stats 'Print the GET /stats figures, reading the database file'
            cand completions 'Print a shell completion script'
            cand healthcheck 'Ask a running server''s /health/ready; exit 0 when ready, 1 otherwise'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'app;serve'= {
            cand --database-url 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:'
            cand --secret 'HMAC-SHA256 key for X-Signature (required)'
            cand --previous-secret 'A second key accepted during a rotation'
            cand --tolerance-secs 'Seconds a Standard Webhooks timestamp may be from the server''s clock, either way (1 to 86400)'
            cand --whatsapp-app-secret 'The Meta app''s secret: the key of X-Hub-Signature-256 on POST /webhook/whatsapp (unset: every delivery there is refused)'
            cand --whatsapp-verify-token 'The token Meta''s subscription handshake (GET /webhook/whatsapp) must present (unset: every handshake fails)'
            cand --log-level 'Least severe level logged: DEBUG, INFO, WARN or ERROR (any case)'
            cand --host 'Address to listen on'
            cand --port 'Port to listen on (0 picks a free one)'
            cand --max-body-bytes 'Largest accepted POST /webhook or /webhook/whatsapp body, in bytes'
            cand --request-timeout-secs 'Seconds a request may take before it is answered 408 (so that shutdown always ends)'
            cand --shutdown-drain-secs 'Seconds to keep serving after SIGTERM, readiness answering 503, before closing'
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
            cand --secret 'HMAC-SHA256 key: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)'
            cand --file 'Sign this file''s bytes instead of stdin ("-" is stdin)'
            cand --body 'Sign this string''s bytes instead of stdin'
            cand --header 'Print the whole header line, `X-Signature: <hex>`'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;send'= {
            cand --secret 'HMAC-SHA256 key: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)'
            cand --url 'Base URL of the server'
            cand --message-id 'The message''s id'
            cand --from 'The sender, e.g. +919876543210'
            cand --to 'The recipient, e.g. +14155550100'
            cand --ts 'When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]'
            cand --text 'The text (left out when not given)'
            cand --file 'Send the messages in this file: a JSON array, or JSON objects one after another (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file'
            cand --generate 'Send N realistic synthetic messages (varied senders, timestamps and texts)'
            cand --seed 'Repeat a --generate run exactly: the same ids, senders, texts and timestamps (then in the week before 2025-01-15T10:00:00Z) [default: random]'
            cand --concurrency 'Requests in flight at once'
            cand --timeout-secs 'Seconds to wait for each answer'
            cand --json 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables'
            cand -h 'Print help'
            cand --help 'Print help'
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
        &'app;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;healthcheck'= {
            cand --url 'Base URL of the server to ask'
            cand --timeout-secs 'Seconds to wait for an answer'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'app;help'= {
            cand serve 'Serve the HTTP API'
            cand migrate 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)'
            cand sign 'Print the X-Signature (hex HMAC-SHA256) of exactly the bytes given'
            cand send 'Post signed messages to a running server and sum up its answers'
            cand list 'List stored messages like GET /messages, reading the database file'
            cand stats 'Print the GET /stats figures, reading the database file'
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
        &'app;help;completions'= {
        }
        &'app;help;healthcheck'= {
        }
        &'app;help;help'= {
        }
    ]
    $completions[$command]
}
