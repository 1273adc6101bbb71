#!/usr/bin/env python3
"""A stand-in S3-events invalidation function for local-aws's events driver tests (standard
library only). It speaks the Lambda Runtime API and calls CloudFront's REST API with plain
HTTP (local-aws does not check signatures).

Input: an SQS batch ({"Records": [{"messageId", "body", ...}]}) whose bodies are S3 event
notifications (key form-encoded) or EventBridge S3 events (key raw); or, direct, one such
notification or event. Parameters: CF_INVALIDATE_PARAMETERS (distributionId(s), keyPrefix,
pathPrefix). What it does is STANDIN_MODE:

  paths      one CreateInvalidation per batch of the exact paths (the default); on any
             CloudFront error every record of the batch is reported failed (direct: /error)
  wildcard   one CreateInvalidation of "/*" per batch
  nothing    answer success without invalidating anything
  fail       report every record failed
  unknown-id report a messageId that is not in the batch
  slow-ms    (a number, in STANDIN_SLOW_MS) sleep this long before answering
"""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

RUNTIME = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
CLOUDFRONT = os.environ["AWS_ENDPOINT_URL_CLOUDFRONT"]
MODE = os.environ.get("STANDIN_MODE", "paths")
SLOW_MS = int(os.environ.get("STANDIN_SLOW_MS", "0"))
PARAMS = json.loads(os.environ.get("CF_INVALIDATE_PARAMETERS", "{}"))
DISTRIBUTIONS = PARAMS.get("distributionIds") or (
    [PARAMS["distributionId"]] if "distributionId" in PARAMS else []
)
KEY_PREFIX = PARAMS.get("keyPrefix", "")
PATH_PREFIX = PARAMS.get("pathPrefix", "/")


def http(method, url, body=None):
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def key_of(message):
    """The raw key of an S3 notification or EventBridge event, or None (test event...)."""
    records = message.get("Records")
    if isinstance(records, list) and records and "s3" in records[0]:
        return urllib.parse.unquote_plus(records[0]["s3"]["object"]["key"])
    if message.get("source") == "aws.s3":
        return message["detail"]["object"]["key"]
    return None


def path_of(key):
    if key is None or key.endswith("/") or not key.startswith(KEY_PREFIX):
        return None
    rest = key[len(KEY_PREFIX):].lstrip("/")
    return PATH_PREFIX.rstrip("/") + "/" + rest


def invalidate(paths):
    """True if every distribution accepted the batch."""
    if not paths:
        return True
    items = "".join("<Path>%s</Path>" % p for p in paths)
    for dist in DISTRIBUTIONS:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
            "<Paths><Quantity>%d</Quantity><Items>%s</Items></Paths>"
            "<CallerReference>%s</CallerReference></InvalidationBatch>"
            % (len(paths), items, uuid.uuid4())
        )
        try:
            status, _ = http(
                "POST", "%s/2020-05-31/distribution/%s/invalidation" % (CLOUDFRONT, dist), body
            )
        except (urllib.error.URLError, OSError):
            return False
        if status != 201:
            return False
    return True


def handle(event):
    """The response body, or raises to post /error."""
    if SLOW_MS:
        time.sleep(SLOW_MS / 1000.0)
    direct = "messageId" not in (event.get("Records") or [{}])[0]
    messages = [event] if direct else [json.loads(r["body"]) for r in event["Records"]]
    ids = [] if direct else [r["messageId"] for r in event["Records"]]
    if MODE == "fail":
        if direct:
            raise RuntimeError("fail mode")
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
    if MODE == "unknown-id":
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
    if MODE == "nothing":
        return {"batchItemFailures": []}
    if MODE == "wildcard":
        paths = ["/*"]
    else:
        paths = sorted(
            {urllib.parse.quote(p, safe="/") for p in map(path_of, map(key_of, messages)) if p}
        )
    if invalidate(paths):
        return {"batchItemFailures": []}
    if direct:
        raise RuntimeError("CloudFront refused the invalidation")
    return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


def main():
    while True:
        with urllib.request.urlopen(RUNTIME + "/invocation/next", timeout=3600) as resp:
            request_id = resp.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(resp.read().decode())
        try:
            answer = json.dumps(handle(event))
            http("POST", "%s/invocation/%s/response" % (RUNTIME, request_id), answer)
        except Exception as e:  # the function's error, as a runtime client reports it
            error = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)})
            http("POST", "%s/invocation/%s/error" % (RUNTIME, request_id), error)


if __name__ == "__main__":
    main()
