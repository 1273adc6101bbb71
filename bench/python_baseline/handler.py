"""The Python baseline of docs/benchmarks.md: a CodePipeline Lambda invoke action that invalidates
CloudFront paths, written the way such functions usually are.

The common shape: boto3 clients created at import time (so a warm invocation reuses them), the
UserParameters JSON parsed by hand, one CreateInvalidation with the job id as CallerReference,
GetInvalidation until Completed, then PutJobSuccessResult (or PutJobFailureResult). It polls with
cf-invalidate's schedule (10 % of the time waited, between 1 s and 20 s) and hands CodePipeline a
continuation token 3 s before the deadline, so that the benchmark compares runtimes, not
strategies.

It runs under awslambdaric, AWS's runtime interface client from PyPI, as in a container image:

    python -m awslambdaric handler.handler

with AWS_LAMBDA_RUNTIME_API set. boto3 reads AWS_ENDPOINT_URL_CLOUDFRONT and
AWS_ENDPOINT_URL_CODEPIPELINE (botocore >= 1.31), which the harness points at local-aws.
"""

import json
import time

import boto3

cloudfront = boto3.client("cloudfront")
codepipeline = boto3.client("codepipeline")

REPORT_MARGIN_S = 3.0


def poll_gap(waited_s):
    return min(max(waited_s / 10.0, 1.0), 20.0)


def handler(event, context):
    job = event["CodePipeline.job"]
    job_id = job["id"]
    data = job["data"]
    try:
        token = data.get("continuationToken")
        if token:
            state = json.loads(token)
        else:
            params = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])
            paths = params.get("paths", ["/*"])
            created = cloudfront.create_invalidation(
                DistributionId=params["distributionId"],
                InvalidationBatch={
                    "Paths": {"Quantity": len(paths), "Items": paths},
                    "CallerReference": job_id,
                },
            )["Invalidation"]
            state = {
                "distributionId": params["distributionId"],
                "id": created["Id"],
                "start": time.time(),
                "done": created["Status"] == "Completed",
            }
        while not state["done"]:
            gap = poll_gap(time.time() - state["start"])
            if context.get_remaining_time_in_millis() / 1000.0 < REPORT_MARGIN_S + gap:
                codepipeline.put_job_success_result(
                    jobId=job_id, continuationToken=json.dumps(state)
                )
                return
            time.sleep(gap)
            status = cloudfront.get_invalidation(
                DistributionId=state["distributionId"], Id=state["id"]
            )["Invalidation"]["Status"]
            state["done"] = status == "Completed"
        codepipeline.put_job_success_result(
            jobId=job_id,
            executionDetails={
                "summary": "Invalidation %s completed on %s" % (state["id"], state["distributionId"])
            },
        )
    except Exception as error:  # the job must end with a result whatever went wrong
        codepipeline.put_job_failure_result(
            jobId=job_id,
            failureDetails={"type": "JobFailed", "message": str(error)[:5000] or "failed"},
        )
