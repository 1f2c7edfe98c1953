"""schemathesis hooks for `make schemathesis`: sign the generated webhook deliveries, in each
sender style the API accepts.

The webhooks refuse every body whose signature is not an HMAC-SHA256 of those exact bytes under
the server's key, and generated data cannot carry such a signature. So that the generated bodies
reach validation and storage (and "valid data is accepted" can be checked on the webhooks too),
every request whose signature headers are schema-valid has them replaced, just before it is
sent, by a true signature of the body as sent:

- POST /webhook with a schema-valid `X-Signature` (64 hex digits, optionally `sha256=`-prefixed):
  the hex HMAC with WEBHOOK_SECRET.
- POST /webhook with the three Standard Webhooks headers (`webhook-id`, a `webhook-timestamp` of
  integer seconds, `webhook-signature`): the timestamp becomes the current time (the server
  refuses one outside its tolerance) and the signature `v1,<base64>` over
  `{id}.{timestamp}.{body}` with WEBHOOK_SECRET (base64-decoded when it is `whsec_<base64>`).
  Only when no hex header is sent: otherwise that header alone is judged.
- POST /webhook/whatsapp with a schema-valid `X-Hub-Signature-256` (`sha256=` and 64 hex
  digits): `sha256=` and the hex HMAC with WHATSAPP_APP_SECRET, as Meta signs.

Generated requests rarely carry all three Standard Webhooks headers without a hex one, and never
carry a real WhatsApp delivery, so explicit examples are added (`before_add_examples`): a flat
message with the three `webhook-*` headers for POST /webhook, and each WhatsApp fixture under
tests/fixtures/whatsapp/ for POST /webhook/whatsapp. Their signature headers are placeholders,
signed like any other request as they are sent. GET /webhook/whatsapp gets Meta's handshake with
the true verify token (WHATSAPP_VERIFY_TOKEN), so that its 200 is checked too.

A request with a missing or schema-violating signature header is signed in no style at all: its
headers are left as generated, so the 401 paths are still exercised, and a request that breaks
the schema in a header the server would ignore (an empty `webhook-timestamp` beside an
`X-Signature`, which alone is judged) is refused as the schema says. Likewise a WhatsApp delivery
generated to break the schema is left unsigned when it has a change of another field than
`messages`: the server acknowledges those without reading them (as Meta's other fields must be),
so a broken value inside one would be accepted, as the contract says, where the schema's check
expects a refusal. Failure reports show the
headers as generated, not as signed.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import pathlib
import re
import threading
import time

import requests
import schemathesis
from hypothesis.internal import lambda_sources
from schemathesis.core.parameters import ParameterLocation

# Hypothesis names a filter's lambda (for reprs only) by parsing the whole module the lambda is
# in. On CPython 3.11, parsing schemathesis's coverage module from deep inside its generators can
# fail with "AST constructor recursion depth mismatch" (a SystemError from CPython's AST
# conversion), which ends the coverage phase of GET /messages with a runtime error. A lambda
# that cannot be described is named "lambda" instead; nothing else depends on the name.
_describe_lambda = lambda_sources.lambda_description


def _lambda_description(f):
    try:
        return _describe_lambda(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _lambda_description

WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
WHATSAPP_APP_SECRET = os.environ["WHATSAPP_APP_SECRET"].encode()
WHATSAPP_VERIFY_TOKEN = os.environ["WHATSAPP_VERIFY_TOKEN"]
SCHEMA_VALID_SIGNATURE = re.compile(r"^(sha256=)?[0-9a-fA-F]{64}$")
SCHEMA_VALID_HUB_SIGNATURE = re.compile(r"^sha256=[0-9a-fA-F]{64}$")
SCHEMA_VALID_TIMESTAMP = re.compile(r"^[0-9]{1,18}$")
HEX_HEADERS = ("X-Signature", "X-Hub-Signature-256")
WHATSAPP_FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/whatsapp"


@schemathesis.hook
def before_add_examples(context, examples):
    """A delivery in each sender style the generated ones miss; the send hook signs them."""
    operation = context.operation
    if operation is None:
        return
    if operation.method.upper() == "GET" and operation.path == "/webhook/whatsapp":
        query = {
            "hub.mode": "subscribe",
            "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        }
        examples.append(operation.Case(query=query))
        return
    if operation.method.upper() != "POST":
        return
    if operation.path == "/webhook":
        message = {
            "message_id": "schemathesis-standard-1",
            "from": "+919876543210",
            "to": "+14155550100",
            "ts": "2025-01-15T11:00:00Z",
            "text": "Sent by a Standard Webhooks sender",
        }
        headers = {
            "webhook-id": "msg_schemathesis_example",
            "webhook-timestamp": "0",
            "webhook-signature": "v1,placeholder",
        }
        examples.append(operation.Case(headers=headers, body=message, media_type="application/json"))
    elif operation.path == "/webhook/whatsapp":
        for fixture in sorted(WHATSAPP_FIXTURES.glob("*.json")):
            examples.append(
                operation.Case(
                    headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
                    body=json.loads(fixture.read_text()),
                    media_type="application/json",
                )
            )


def standard_key(secret):
    """The Standard Webhooks key: a `whsec_<base64>` secret decoded, any other its bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_"):], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def as_bytes(value):
    # http.client sends a str header value encoded as Latin-1.
    return value if isinstance(value, bytes) else value.encode("latin-1")


def hex_hmac(key, body):
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def webhook_headers_schema_valid(headers):
    """False when a signature header of POST /webhook that has a pattern breaks it."""
    signature = headers.get("X-Signature")
    timestamp = headers.get("webhook-timestamp")
    return (signature is None or SCHEMA_VALID_SIGNATURE.match(signature) is not None) and (
        timestamp is None or SCHEMA_VALID_TIMESTAMP.match(timestamp) is not None
    )


def sign_standard(headers, body):
    """Signs a request carrying all three Standard Webhooks headers, at the current time."""
    if any(name in headers for name in HEX_HEADERS):
        return
    webhook_id = headers.get("webhook-id")
    if webhook_id is None or "webhook-signature" not in headers:
        return
    if "webhook-timestamp" not in headers:
        return
    now = str(int(time.time()))
    content = as_bytes(webhook_id) + b"." + now.encode() + b"." + body
    mac = hmac.new(standard_key(WEBHOOK_SECRET), content, hashlib.sha256).digest()
    headers["webhook-timestamp"] = now
    headers["webhook-signature"] = "v1," + base64.b64encode(mac).decode()


# What `before_call` decided for the request the same thread sends next.
_next_request = threading.local()


def changes_of_other_fields(body):
    """True when a delivery body has a change whose `field` is not `messages`."""
    entries = body.get("entry") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if not isinstance(change, dict) or change.get("field") != "messages":
                return True
    return False


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Marks a WhatsApp delivery to leave unsigned (see the module)."""
    meta = getattr(case, "_meta", None)
    negative_body = meta is not None and meta.is_negative_at(ParameterLocation.BODY)
    _next_request.leave_unsigned = (
        case.operation.path == "/webhook/whatsapp"
        and negative_body
        and changes_of_other_fields(case.body)
    )


_send = requests.Session.send


def _signing_send(self, request, **kwargs):
    path = request.path_url.split("?", 1)[0]
    leave_unsigned = getattr(_next_request, "leave_unsigned", False)
    _next_request.leave_unsigned = False
    if request.method == "POST" and path in ("/webhook", "/webhook/whatsapp") and not leave_unsigned:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = request.headers
        signature = headers.get("X-Signature")
        hub_signature = headers.get("X-Hub-Signature-256")
        if path == "/webhook" and webhook_headers_schema_valid(headers):
            if signature is not None:
                headers["X-Signature"] = hex_hmac(WEBHOOK_SECRET.encode(), body)
            sign_standard(headers, body)
        elif (
            path == "/webhook/whatsapp"
            and hub_signature is not None
            and SCHEMA_VALID_HUB_SIGNATURE.match(hub_signature)
        ):
            headers["X-Hub-Signature-256"] = "sha256=" + hex_hmac(WHATSAPP_APP_SECRET, body)
    return _send(self, request, **kwargs)


requests.Session.send = _signing_send
