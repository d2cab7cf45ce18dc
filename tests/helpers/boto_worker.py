"""boto3 for the tests, one process per moto server (tests/helpers/moto.ts starts it).

Reads batches from stdin, one JSON object per line, and answers each with one JSON line:

    {"calls": [...], "credentials": {"AccessKeyId": ..., "SecretAccessKey": ...} (optional)}
    -> [{"ok": true, "result": ...} | {"ok": false, "code": ..., "message": ..., "status": ...}, ...]

A call is one of
- {"service": "ec2", "op": "create_image", "params": {...}}: a boto3 client call against the
  endpoint in the environment (AWS_ENDPOINT_URL: moto); a parameter {"$result": N, "path": [...]}
  stands for that part of call N's result in the same batch;
- {"sleep": SECONDS}: a pause (EC2 and moto date images to the second);
- {"step": FILE, "payload": {...}, "options": [...]}: runs a runbook step's Python
  (components/amiFactory/steps/*.py) as aws:executeScript does: the file loaded afresh,
  handler(payload, None) called; the result is {"result": <return value>} or {"error": "..."},
  with what the handler printed in "printed". Options:
  --without-snapshot-tag-specifications: moto 5.2.1 answers CreateImage with "snapshot"
    TagSpecifications with 500 (not implemented; EC2 accepts them: "CreateImage",
    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html), so they are
    dropped from the step's CreateImage calls, and only from those;
  --fail-create-image-for=INSTANCE_ID: the step's CreateImage of that instance raises (an
    injected failure).

One process for all calls: boto3 and a client take about half a second to start, a call to
moto a few milliseconds.
"""
import contextlib
import importlib.util
import io
import json
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# One attempt: moto answers an operation it does not implement with 500, which boto3 would retry
# with back-off for seconds; nothing here is throttled or flaky.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
real_client = boto3.client
clients = {}


def client(service, credentials=None):
    key = (service, (credentials or {}).get("AccessKeyId"))
    if key not in clients:
        extra = {}
        if credentials:
            extra = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"]}
        clients[key] = real_client(service, config=ONE_ATTEMPT, **extra)
    return clients[key]


def resolve(value, results):
    if isinstance(value, dict) and "$result" in value:
        found = results[value["$result"]]["result"]
        for step in value.get("path", []):
            found = found[step]
        return found
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    return value


def step_client_factory(options):
    drop_snapshot_tags = "--without-snapshot-tag-specifications" in options
    fail_for = {o.split("=", 1)[1] for o in options if o.startswith("--fail-create-image-for=")}

    def factory(*args, **kwargs):
        c = real_client(*args, **kwargs)
        create_image = c.create_image

        def patched_create_image(**kw):
            if kw.get("InstanceId") in fail_for:
                raise Exception("injected CreateImage failure for " + kw["InstanceId"])
            if drop_snapshot_tags:
                kw["TagSpecifications"] = [t for t in kw.get("TagSpecifications", []) if t["ResourceType"] != "snapshot"]
            return create_image(**kw)

        c.create_image = patched_create_image
        return c

    return factory


def run_step(path, payload, options):
    spec = importlib.util.spec_from_file_location("step", path)
    module = importlib.util.module_from_spec(spec)
    printed = io.StringIO()
    boto3.client = step_client_factory(options)
    try:
        with contextlib.redirect_stdout(printed):
            spec.loader.exec_module(module)
            outcome = {"result": module.handler(payload, None)}
    except Exception as err:  # the step fails: what aws:executeScript reports
        outcome = {"error": "%s: %s" % (type(err).__name__, err)}
    finally:
        boto3.client = real_client
    outcome["printed"] = printed.getvalue()
    return outcome


def run(batch):
    out = []
    for call in batch["calls"]:
        if "sleep" in call:
            time.sleep(call["sleep"])
            out.append({"ok": True, "result": None})
        elif "step" in call:
            out.append({"ok": True, "result": run_step(call["step"], call["payload"], call.get("options", []))})
        else:
            try:
                result = getattr(client(call["service"], batch.get("credentials")), call["op"])(**resolve(call.get("params", {}), out))
                result.pop("ResponseMetadata", None)
                out.append({"ok": True, "result": result})
            except ClientError as err:
                error = err.response.get("Error", {})
                status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                out.append({"ok": False, "code": error.get("Code", ""), "message": error.get("Message", ""), "status": status})
    return out


for line in sys.stdin:
    if line.strip():
        sys.stdout.write(json.dumps(run(json.loads(line)), default=str) + "\n")
        sys.stdout.flush()
