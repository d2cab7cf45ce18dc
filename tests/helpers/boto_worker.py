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
    injected failure);
  --fail-terminate-instances=N: the step's first N TerminateInstances calls raise (injected);
  --no-sleep: time.sleep returns at once during the step (its retry delays and waits).
  The outcome also counts the step's TerminateInstances calls ("terminateCalls").

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
real_sleep_between_calls = time.sleep
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


def option_value(options, name, default=None):
    values = [o.split("=", 1)[1] for o in options if o.startswith(name + "=")]
    return values if default is None else (values[0] if values else default)


def step_client_factory(options, counts):
    drop_snapshot_tags = "--without-snapshot-tag-specifications" in options
    fail_for = set(option_value(options, "--fail-create-image-for"))
    fail_terminate = int(option_value(options, "--fail-terminate-instances", "0"))

    def factory(*args, **kwargs):
        c = real_client(*args, **kwargs)
        if args[:1] != ("ec2",) and kwargs.get("service_name") != "ec2":
            return c
        create_image, terminate_instances = c.create_image, c.terminate_instances

        def patched_create_image(**kw):
            if kw.get("InstanceId") in fail_for:
                raise Exception("injected CreateImage failure for " + kw["InstanceId"])
            if drop_snapshot_tags:
                kw["TagSpecifications"] = [t for t in kw.get("TagSpecifications", []) if t["ResourceType"] != "snapshot"]
            return create_image(**kw)

        def patched_terminate_instances(**kw):
            counts["terminateCalls"] += 1
            if counts["terminateCalls"] <= fail_terminate:
                raise Exception("RequestLimitExceeded (injected)")
            return terminate_instances(**kw)

        c.create_image, c.terminate_instances = patched_create_image, patched_terminate_instances
        return c

    return factory


def run_step(path, payload, options):
    spec = importlib.util.spec_from_file_location("step", path)
    module = importlib.util.module_from_spec(spec)
    printed = io.StringIO()
    counts = {"terminateCalls": 0}
    real_sleep = time.sleep
    boto3.client = step_client_factory(options, counts)
    if "--no-sleep" in options:
        time.sleep = lambda seconds: None
    try:
        with contextlib.redirect_stdout(printed):
            spec.loader.exec_module(module)
            outcome = {"result": module.handler(payload, None)}
    except Exception as err:  # the step fails: what aws:executeScript reports
        outcome = {"error": "%s: %s" % (type(err).__name__, err)}
    finally:
        boto3.client = real_client
        time.sleep = real_sleep
    outcome["printed"] = printed.getvalue()
    outcome.update(counts)
    return outcome


def run(batch):
    out = []
    for call in batch["calls"]:
        if "sleep" in call:
            real_sleep_between_calls(call["sleep"])
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
