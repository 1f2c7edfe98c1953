"""schemathesis hooks for `make schemathesis`: sign the generated webhook deliveries.

POST /webhook refuses every body whose X-Signature is not the HMAC-SHA256 of those exact bytes
under the server's secret, and generated data cannot carry such a signature. So that the
generated bodies reach validation and storage (and "valid data is accepted" can be checked on
/webhook too), every request to /webhook whose X-Signature is schema-valid (64 hex digits,
optionally `sha256=`-prefixed) has it replaced, just before it is sent, by the true signature of
the body as sent. A schema-violating or missing X-Signature is left alone, so the 401 path is
still exercised. Failure reports show the header as generated, not as signed.
"""

import hashlib
import hmac
import os
import re

import requests

SECRET = os.environ["WEBHOOK_SECRET"].encode()
SCHEMA_VALID_SIGNATURE = re.compile(r"^(sha256=)?[0-9a-fA-F]{64}$")

_send = requests.Session.send


def _signing_send(self, request, **kwargs):
    path = request.path_url.split("?", 1)[0]
    signature = request.headers.get("X-Signature")
    if (
        request.method == "POST"
        and path == "/webhook"
        and signature is not None
        and SCHEMA_VALID_SIGNATURE.match(signature)
    ):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        request.headers["X-Signature"] = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return _send(self, request, **kwargs)


requests.Session.send = _signing_send
