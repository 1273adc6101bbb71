#!/usr/bin/env python3
"""A tiny CodePipeline Lambda function for local-aws's driver tests (standard library only).

It loops on the Lambda Runtime API and reports through CodePipeline's JSON API with plain
HTTP (local-aws does not check signatures). What it does is read from UserParameters (JSON):

  steps            report a continuation token this many times, then succeed
  fail             report PutJobFailureResult JobFailed with this message
  no_report        answer the invocation without reporting to CodePipeline
  hang_attempts    attempt numbers (per job id) on which to hang until killed
  crash_attempts   attempt numbers on which to exit(3) without answering
  error_attempts   attempt numbers on which to post /error
  exit_after       exit(0) after each invocation (the next one is a cold start)
  state_dir        where attempt counters and the event log (events.jsonl) are kept; each
                   line of the log also holds the UserParameters string as received
  echo             a string handed back as the output variable Echo of the final result
  history          call GetJobDetails for the job, then ListActionExecutions for the pipeline
                   it names (or "unknown" when refused), before reporting; each answer is
                   appended to history.jsonl in state_dir
  read_artifact    a Range header (bytes=0-9): GetObject of the first input artifact with it,
                   once signed with the event's artifact credentials, once with the function's
                   own; both outcomes (never the keys) are appended to artifacts.jsonl
  invalidations    CloudFront create calls to make before reporting, in order, each
                   {"distribution": ID} or {"tenant": ID}, with "paths" and "reference";
                   their outcomes only show in the request log
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

RUNTIME = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
CODEPIPELINE = os.environ["AWS_ENDPOINT_URL_CODEPIPELINE"]
CLOUDFRONT = os.environ["AWS_ENDPOINT_URL_CLOUDFRONT"]
S3 = os.environ.get("AWS_ENDPOINT_URL_S3", "")


def http(method, url, body=None, headers=None):
    data = None if body is None else body.encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def throttled(status, body):
    """Whether CodePipeline answered ThrottlingException (HTTP 400, JSON 1.1 __type)."""
    if status != 400:
        return False
    try:
        return json.loads(body).get("__type") == "ThrottlingException"
    except ValueError:
        return False


def put_job(operation, payload):
    """Calls CodePipeline, retrying 5xx, throttling and dropped connections like an SDK would."""
    for _ in range(6):
        try:
            status, _, body = http(
                "POST",
                CODEPIPELINE + "/",
                json.dumps(payload),
                {
                    "Content-Type": "application/x-amz-json-1.1",
                    "X-Amz-Target": "CodePipeline_20150709." + operation,
                },
            )
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            print("fake-function: %s connection error: %s" % (operation, e), flush=True)
            time.sleep(0.05)
            continue
        # GetJobDetails answers the artifact credentials: never print them.
        shown = "(body not shown)" if operation == "GetJobDetails" else body
        print("fake-function: %s -> %s %s" % (operation, status, shown), flush=True)
        if status < 500 and not throttled(status, body):
            return status, body
        time.sleep(0.05)
    return 599, ""


def create_invalidation(spec):
    """One CreateInvalidation (or its distribution tenant form), without retries."""
    if "tenant" in spec:
        path = "/2020-05-31/distribution-tenant/%s/invalidation" % spec["tenant"]
    else:
        path = "/2020-05-31/distribution/%s/invalidation" % spec["distribution"]
    items = "".join("<Path>%s</Path>" % p for p in spec["paths"])
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<InvalidationBatch xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
            "<Paths><Quantity>%d</Quantity><Items>%s</Items></Paths>"
            "<CallerReference>%s</CallerReference></InvalidationBatch>"
            % (len(spec["paths"]), items, spec["reference"]))
    status, _, _ = http("POST", CLOUDFRONT + path, body, {"Content-Type": "text/xml"})
    print("fake-function: create invalidation %s -> %s" % (path, status), flush=True)


def record_history(state_dir, job_id):
    """GetJobDetails, then ListActionExecutions of the pipeline it names, into history.jsonl."""
    details_status, details = put_job("GetJobDetails", {"jobId": job_id})
    try:
        details = json.loads(details)
    except ValueError:
        pass
    pipeline = "unknown"
    if details_status == 200:
        pipeline = details["jobDetails"]["data"]["pipelineContext"]["pipelineName"]
    list_status, listing = put_job("ListActionExecutions", {"pipelineName": pipeline})
    try:
        listing = json.loads(listing)
    except ValueError:
        pass
    with open(os.path.join(state_dir, "history.jsonl"), "a") as f:
        f.write(json.dumps({"job": job_id, "details_status": details_status, "details": details,
                            "list_status": list_status, "list": listing}) + "\n")


def read_artifact(state_dir, job_id, data, byte_range):
    """Ranged GetObject of the first input artifact, with the job's key, then the function's.

    local-aws reads the access key id from the Authorization header and checks no signature,
    so a header naming the key is enough here.
    """
    location = data["inputArtifacts"][0]["location"]["s3Location"]
    url = "%s/%s/%s" % (S3, location["bucketName"], location["objectKey"])
    outcomes = {"job": job_id}
    keys = {"job_key": data["artifactCredentials"]["accessKeyId"],
            "own_key": os.environ["AWS_ACCESS_KEY_ID"]}
    for who, key in keys.items():
        auth = ("AWS4-HMAC-SHA256 Credential=%s/20260101/us-east-1/s3/aws4_request, "
                "SignedHeaders=host;range, Signature=0" % key)
        req = urllib.request.Request(url, method="GET",
                                     headers={"Range": byte_range, "Authorization": auth})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, headers, body = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        text = body.decode("utf-8", "replace")
        outcomes[who] = {"status": status, "bytes": len(body),
                         "content_range": headers.get("Content-Range"),
                         "code": text.split("<Code>")[1].split("</Code>")[0]
                         if "<Code>" in text else None}
    with open(os.path.join(state_dir, "artifacts.jsonl"), "a") as f:
        f.write(json.dumps(outcomes) + "\n")


def attempt_number(state_dir, job_id):
    if not state_dir:
        return 1
    path = os.path.join(state_dir, "attempts-" + job_id)
    n = 1
    if os.path.exists(path):
        with open(path) as f:
            n = int(f.read().strip() or "0") + 1
    with open(path, "w") as f:
        f.write(str(n))
    return n


def main():
    while True:
        status, headers, body = http("GET", RUNTIME + "/invocation/next")
        headers = {k.lower(): v for k, v in headers.items()}
        request_id = headers["lambda-runtime-aws-request-id"]
        event = json.loads(body)
        job = event["CodePipeline.job"]
        job_id = job["id"]
        data = job["data"]
        user_parameters = data["actionConfiguration"]["configuration"]["UserParameters"]
        params = json.loads(user_parameters or "{}")
        token = data.get("continuationToken")
        state_dir = params.get("state_dir")
        attempt = attempt_number(state_dir, job_id)
        if state_dir:
            with open(os.path.join(state_dir, "events.jsonl"), "a") as f:
                f.write(json.dumps({"job": job_id, "request": request_id, "pid": os.getpid(),
                                    "attempt": attempt, "token": token,
                                    "user_parameters": user_parameters,
                                    "deadline": headers.get("lambda-runtime-deadline-ms")}) + "\n")
        print("fake-function: job %s attempt %d token %s" % (job_id, attempt, token), flush=True)
        print("fake-function stderr line for %s" % job_id, file=sys.stderr, flush=True)

        if attempt in params.get("crash_attempts", []):
            sys.exit(3)
        if attempt in params.get("hang_attempts", []):
            time.sleep(3600)
        if attempt in params.get("error_attempts", []):
            http("POST", RUNTIME + "/invocation/%s/error" % request_id,
                 json.dumps({"errorType": "FakeError", "errorMessage": "failing attempt %d" % attempt}),
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})
            continue

        for spec in params.get("invalidations", []):
            create_invalidation(spec)

        if params.get("history") and state_dir:
            record_history(state_dir, job_id)

        if params.get("read_artifact") and state_dir:
            read_artifact(state_dir, job_id, data, params["read_artifact"])

        if params.get("fail"):
            put_job("PutJobFailureResult", {"jobId": job_id, "failureDetails": {
                "type": "JobFailed", "message": params["fail"]}})
        elif not params.get("no_report"):
            done = 0 if token is None else int(token.split("-")[1])
            if done < params.get("steps", 0):
                put_job("PutJobSuccessResult", {
                    "jobId": job_id,
                    "continuationToken": "step-%d" % (done + 1),
                    "executionDetails": {"summary": "step %d of %d" % (done + 1, params["steps"]),
                                         "percentComplete": 50},
                })
            else:
                variables = {"Steps": str(done), "LastJob": job_id}
                if "echo" in params:
                    variables["Echo"] = params["echo"]
                put_job("PutJobSuccessResult", {
                    "jobId": job_id,
                    "executionDetails": {"summary": "all %d steps done" % done},
                    "outputVariables": variables,
                })
        http("POST", RUNTIME + "/invocation/%s/response" % request_id, json.dumps({"ok": True}))
        if params.get("exit_after"):
            sys.exit(0)


if __name__ == "__main__":
    main()
