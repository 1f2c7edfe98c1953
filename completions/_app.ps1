
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'app' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'app'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'app' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the HTTP API')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored messages like GET /messages, reading the database file')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Print the GET /stats figures, reading the database file')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Copy the database into a new file (online, while `app serve` writes) and check the copy')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete the messages older than a date or an age, and say how many remain')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('healthcheck', 'healthcheck', [CompletionResultType]::ParameterValue, 'Ask a running server''s /health/ready; exit 0 when ready, 1 otherwise')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'app;serve' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'HMAC-SHA256 key for X-Signature (required)')
            [CompletionResult]::new('--secret-file', '--secret-file', [CompletionResultType]::ParameterName, 'A file holding the HMAC-SHA256 key for X-Signature, instead of WEBHOOK_SECRET')
            [CompletionResult]::new('--previous-secret', '--previous-secret', [CompletionResultType]::ParameterName, 'A second key accepted during a rotation')
            [CompletionResult]::new('--previous-secret-file', '--previous-secret-file', [CompletionResultType]::ParameterName, 'A file holding the second key, instead of WEBHOOK_SECRET_PREVIOUS')
            [CompletionResult]::new('--tolerance-secs', '--tolerance-secs', [CompletionResultType]::ParameterName, 'Seconds a Standard Webhooks timestamp may be from the server''s clock, either way (1 to 86400)')
            [CompletionResult]::new('--whatsapp-app-secret', '--whatsapp-app-secret', [CompletionResultType]::ParameterName, 'The Meta app''s secret: the key of X-Hub-Signature-256 on POST /webhook/whatsapp (unset: every delivery there is refused)')
            [CompletionResult]::new('--whatsapp-app-secret-file', '--whatsapp-app-secret-file', [CompletionResultType]::ParameterName, 'A file holding the Meta app''s secret, instead of WHATSAPP_APP_SECRET')
            [CompletionResult]::new('--whatsapp-verify-token', '--whatsapp-verify-token', [CompletionResultType]::ParameterName, 'The token Meta''s subscription handshake (GET /webhook/whatsapp) must present (unset: every handshake fails)')
            [CompletionResult]::new('--whatsapp-verify-token-file', '--whatsapp-verify-token-file', [CompletionResultType]::ParameterName, 'A file holding the handshake''s token, instead of WHATSAPP_VERIFY_TOKEN')
            [CompletionResult]::new('--read-token', '--read-token', [CompletionResultType]::ParameterName, 'The bearer token GET /messages and GET /stats need (unset: they are open)')
            [CompletionResult]::new('--read-token-file', '--read-token-file', [CompletionResultType]::ParameterName, 'A file holding the read token, instead of READ_TOKEN')
            [CompletionResult]::new('--metrics-token', '--metrics-token', [CompletionResultType]::ParameterName, 'The bearer token GET /metrics needs (unset: it is open)')
            [CompletionResult]::new('--metrics-token-file', '--metrics-token-file', [CompletionResultType]::ParameterName, 'A file holding the metrics token, instead of METRICS_TOKEN')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'Least severe level logged: DEBUG, INFO, WARN or ERROR (any case)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Address to listen on')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'Port to listen on (0 to 65535; 0 picks a free one)')
            [CompletionResult]::new('--max-body-bytes', '--max-body-bytes', [CompletionResultType]::ParameterName, 'Largest accepted POST /webhook or /webhook/whatsapp body, in bytes (1 to 16777216)')
            [CompletionResult]::new('--request-timeout-secs', '--request-timeout-secs', [CompletionResultType]::ParameterName, 'Seconds a request may take before it is answered 408, so that shutdown always ends (1 to 3600)')
            [CompletionResult]::new('--shutdown-drain-secs', '--shutdown-drain-secs', [CompletionResultType]::ParameterName, 'Seconds to keep serving after SIGTERM, readiness answering 503, before closing (0 to 3600)')
            [CompletionResult]::new('--retention', '--retention', [CompletionResultType]::ParameterName, 'Keep messages this long after their ts, then delete them, in small batches while the writer is idle: a whole number and a unit, s, m, h, d or w, from 1h (e.g. 90d; unset or empty: keep every message)')
            [CompletionResult]::new('--sqlite-autocheckpoint-pages', '--sqlite-autocheckpoint-pages', [CompletionResultType]::ParameterName, 'Pages of write-ahead log after which the server checkpoints it into the database file itself (0 to 1000000); 0: never, for when Litestream replicates and checkpoints')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;migrate' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'List applied and pending migrations without changing anything')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;sign' {
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'The sender style to sign as')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'HMAC-SHA256 key for hex and standard: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)')
            [CompletionResult]::new('--secret-file', '--secret-file', [CompletionResultType]::ParameterName, 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET')
            [CompletionResult]::new('--whatsapp-app-secret', '--whatsapp-app-secret', [CompletionResultType]::ParameterName, 'HMAC-SHA256 key for whatsapp: the Meta app''s secret, the server''s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)')
            [CompletionResult]::new('--whatsapp-app-secret-file', '--whatsapp-app-secret-file', [CompletionResultType]::ParameterName, 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Sign this file''s bytes instead of stdin ("-" is stdin)')
            [CompletionResult]::new('--body', '--body', [CompletionResultType]::ParameterName, 'Sign this string''s bytes instead of stdin')
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'The webhook-id to sign (standard only) [default: a new msg_…]')
            [CompletionResult]::new('--timestamp', '--timestamp', [CompletionResultType]::ParameterName, 'The webhook-timestamp to sign, in Unix seconds (standard only) [default: now]')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Print whole header lines (`X-Signature: <hex>`; for standard all three `webhook-*` headers) instead of the signature alone')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;send' {
            [CompletionResult]::new('--scheme', '--scheme', [CompletionResultType]::ParameterName, 'The sender style to sign as')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'HMAC-SHA256 key for hex and standard: the server''s WEBHOOK_SECRET (prefer the variable: flags show in `ps`)')
            [CompletionResult]::new('--secret-file', '--secret-file', [CompletionResultType]::ParameterName, 'A file holding the key for hex and standard, instead of WEBHOOK_SECRET')
            [CompletionResult]::new('--whatsapp-app-secret', '--whatsapp-app-secret', [CompletionResultType]::ParameterName, 'HMAC-SHA256 key for whatsapp: the Meta app''s secret, the server''s WHATSAPP_APP_SECRET (prefer the variable: flags show in `ps`)')
            [CompletionResult]::new('--whatsapp-app-secret-file', '--whatsapp-app-secret-file', [CompletionResultType]::ParameterName, 'A file holding the key for whatsapp, instead of WHATSAPP_APP_SECRET')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Base URL of the server (whatsapp posts to /webhook/whatsapp, the others to /webhook)')
            [CompletionResult]::new('--message-id', '--message-id', [CompletionResultType]::ParameterName, 'The message''s id (for whatsapp, a wamid…)')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The sender, e.g. +919876543210')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The recipient, e.g. +14155550100')
            [CompletionResult]::new('--ts', '--ts', [CompletionResultType]::ParameterName, 'When it was sent, e.g. 2025-01-15T10:00:00Z [default: now]')
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'The text (left out when not given; whatsapp sends a text message, so needs one)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Send the messages in this file: a JSON array, or JSON objects one after another (NDJSON); "-" is stdin. Each object is sent as the exact bytes it has in the file (for whatsapp, each object is a delivery: a fixture or a captured webhook, as is)')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Send N realistic synthetic messages (varied senders, timestamps and texts); for whatsapp, N deliveries of 1 to 10 messages each (texts, captions, stickers…), some only statuses')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Repeat a --generate run exactly: the same ids, senders, texts and timestamps (then in the week before 2025-01-15T10:00:00Z) [default: random]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Requests in flight at once')
            [CompletionResult]::new('--timeout-secs', '--timeout-secs', [CompletionResultType]::ParameterName, 'Seconds to wait for each answer')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;list' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Messages per page, 1 to 100 [default: 50]')
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Messages to skip, 0 or more [default: 0]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Only this sender (exact), e.g. +919876543210; the + may be left out')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only messages at or after this RFC 3339 instant, e.g. 2025-01-15T09:30:00Z')
            [CompletionResult]::new('--q', '--q', [CompletionResultType]::ParameterName, 'Only messages whose text contains this, ignoring case')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;stats' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;backup' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;prune' {
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'SQLite database: sqlite:////abs/path.db, sqlite://relative/path.db or sqlite::memory:')
            [CompletionResult]::new('--before', '--before', [CompletionResultType]::ParameterName, 'Delete messages whose ts is earlier than this RFC 3339 instant, e.g. 2025-01-01T00:00:00Z')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Delete messages whose ts is more than this long ago: a whole number and a unit, s, m, h, d or w (e.g. 30d)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count what would be deleted, delete nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON (for `list` and `stats` exactly the API''s body) instead of tables')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;healthcheck' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Base URL of the server to ask, instead of the one HOST and PORT say `app serve` listens on')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The address `app serve` listens on (0.0.0.0 or ::, every interface, is asked on loopback)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The port `app serve` listens on')
            [CompletionResult]::new('--timeout-secs', '--timeout-secs', [CompletionResultType]::ParameterName, 'Seconds to wait for an answer')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'app;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the HTTP API')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Apply the embedded schema migrations to DATABASE_URL (--status: list them)')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Print the signature header(s) of exactly the bytes given, in any sender style (--scheme)')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Post signed messages (or WhatsApp deliveries) to a running server and sum up its answers')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List stored messages like GET /messages, reading the database file')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Print the GET /stats figures, reading the database file')
            [CompletionResult]::new('backup', 'backup', [CompletionResultType]::ParameterValue, 'Copy the database into a new file (online, while `app serve` writes) and check the copy')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete the messages older than a date or an age, and say how many remain')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('healthcheck', 'healthcheck', [CompletionResultType]::ParameterValue, 'Ask a running server''s /health/ready; exit 0 when ready, 1 otherwise')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'app;help;serve' {
            break
        }
        'app;help;migrate' {
            break
        }
        'app;help;sign' {
            break
        }
        'app;help;send' {
            break
        }
        'app;help;list' {
            break
        }
        'app;help;stats' {
            break
        }
        'app;help;backup' {
            break
        }
        'app;help;prune' {
            break
        }
        'app;help;completions' {
            break
        }
        'app;help;healthcheck' {
            break
        }
        'app;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
