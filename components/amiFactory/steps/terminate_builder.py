"""Terminates every AMI builder of one bake execution (the bake runbook's TerminateBuilder step).

The builder is found by the tags the runbook gave it at launch (the automation execution id,
Purpose and Stack), never by the launch step's InstanceIds output: that output is missing
when aws:runInstances launched the instance but its own wait failed or was cancelled.
TerminateInstances is retried; the step fails (and the execution with it) only when a
builder is still alive at the end, so a bake never reports Success with its builder running.

Payload: InstanceFilters (EC2 DescribeInstances filters, ANDed), Attempts, RetryDelaySeconds,
WaitSeconds.
"""
import time

import boto3

# Every state a builder can still cost money or come back from; "terminated" is gone.
ALIVE = ["pending", "running", "stopping", "stopped", "shutting-down"]


def builders(ec2, filters):
    found = {}
    state_filter = [{"Name": "instance-state-name", "Values": ALIVE}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=list(filters) + state_filter):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                found[instance["InstanceId"]] = instance["State"]["Name"]
    return found


def handler(events, context):
    ec2 = boto3.client("ec2")
    filters = events["InstanceFilters"]
    if not any(f["Name"].startswith("tag:") for f in filters):
        raise ValueError("InstanceFilters must select by tag: refusing to terminate untagged instances")
    attempts = int(events.get("Attempts", 5))
    delay = float(events.get("RetryDelaySeconds", 5))
    wait = float(events.get("WaitSeconds", 300))

    terminated, errors = set(), []
    for attempt in range(1, attempts + 1):
        # shutting-down cannot be undone: only the others still need a TerminateInstances.
        alive = sorted(i for i, state in builders(ec2, filters).items() if state != "shutting-down")
        if not alive:
            break
        try:
            ec2.terminate_instances(InstanceIds=alive)
            terminated.update(alive)
        except Exception as err:  # retried: one throttled or failed call must not leave a builder
            errors.append("attempt %d: %s" % (attempt, err))
            time.sleep(delay * attempt)

    deadline = time.time() + wait
    remaining = builders(ec2, filters)
    while any(state != "shutting-down" for state in remaining.values()) and time.time() < deadline:
        time.sleep(delay)
        remaining = builders(ec2, filters)
    still_alive = sorted(i for i, state in remaining.items() if state != "shutting-down")
    print("terminated", sorted(terminated), "errors", errors, "still alive", still_alive)
    if still_alive:
        raise Exception("builder(s) still alive after %d attempts: %s (%s)" % (attempts, ", ".join(still_alive), "; ".join(errors)))
    return {"Terminated": sorted(terminated), "Errors": errors}
