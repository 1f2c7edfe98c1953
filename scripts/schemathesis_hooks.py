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

A schema-violating or missing signature header is left alone, so the 401 paths are still
exercised. Failure reports show the headers as generated, not as signed.
"""

import base64
import binascii
import hashlib
import hmac
import os
import re
import time

import requests

WEBHOOK_SECRET = os.environ["WEBHOOK_SECRET"]
WHATSAPP_APP_SECRET = os.environ["WHATSAPP_APP_SECRET"].encode()
SCHEMA_VALID_SIGNATURE = re.compile(r"^(sha256=)?[0-9a-fA-F]{64}$")
SCHEMA_VALID_HUB_SIGNATURE = re.compile(r"^sha256=[0-9a-fA-F]{64}$")
SCHEMA_VALID_TIMESTAMP = re.compile(r"^[0-9]{1,18}$")
HEX_HEADERS = ("X-Signature", "X-Hub-Signature-256")


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


def sign_standard(headers, body):
    """Signs a request carrying schema-valid Standard Webhooks headers, at the current time."""
    if any(name in headers for name in HEX_HEADERS):
        return
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    if webhook_id is None or "webhook-signature" not in headers or timestamp is None:
        return
    if not SCHEMA_VALID_TIMESTAMP.match(timestamp):
        return
    now = str(int(time.time()))
    content = as_bytes(webhook_id) + b"." + now.encode() + b"." + body
    mac = hmac.new(standard_key(WEBHOOK_SECRET), content, hashlib.sha256).digest()
    headers["webhook-timestamp"] = now
    headers["webhook-signature"] = "v1," + base64.b64encode(mac).decode()


_send = requests.Session.send


def _signing_send(self, request, **kwargs):
    path = request.path_url.split("?", 1)[0]
    if request.method == "POST" and path in ("/webhook", "/webhook/whatsapp"):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = request.headers
        signature = headers.get("X-Signature")
        hub_signature = headers.get("X-Hub-Signature-256")
        if path == "/webhook":
            if signature is not None and SCHEMA_VALID_SIGNATURE.match(signature):
                headers["X-Signature"] = hex_hmac(WEBHOOK_SECRET.encode(), body)
            sign_standard(headers, body)
        elif hub_signature is not None and SCHEMA_VALID_HUB_SIGNATURE.match(hub_signature):
            headers["X-Hub-Signature-256"] = "sha256=" + hex_hmac(WHATSAPP_APP_SECRET, body)
    return _send(self, request, **kwargs)


requests.Session.send = _signing_send
