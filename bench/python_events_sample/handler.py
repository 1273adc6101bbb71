"""The S3-events baseline of docs/benchmarks.md: the Lambda that users copy today to invalidate
uploads, with its mistakes kept on purpose so that the benchmark measures what they cost.

- It reads only Records[0].
- It uses the key as it arrives, still form-encoded ("my+file.html" for "my file.html").
- It creates one invalidation per record on each distribution named in the environment.
- Its CallerReference is "lambda-" + key, so a second upload of the same key gets the first
  upload's invalidation back and nothing new is invalidated.
- It neither retries TooManyInvalidationsInProgress nor reports it: the error ends the
  invocation, Lambda's asynchronous retries try twice more, then the event is dropped.

S3 invokes it directly (asynchronous invocation, one notification per upload). It runs under
awslambdaric, AWS's runtime interface client from PyPI:

    python -m awslambdaric handler.handler

with AWS_LAMBDA_RUNTIME_API set; boto3 reads AWS_ENDPOINT_URL_CLOUDFRONT.
"""

import os

import boto3

cloudfront = boto3.client("cloudfront")

DISTRIBUTIONS = [
    d for d in (os.environ.get("DISTRIBUTION_ID"), os.environ.get("SECOND_DISTRIBUTION_ID")) if d
]


def handler(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    for distribution in DISTRIBUTIONS:
        cloudfront.create_invalidation(
            DistributionId=distribution,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/" + key]},
                "CallerReference": "lambda-" + key,
            },
        )
    return {"statusCode": 200}
