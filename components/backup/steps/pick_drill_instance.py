"""Picks the one instance a restore drill runs on (the drill runbook's PickInstance step).

DescribeInstanceInformation refuses a tag filter combined with any other filter type ("Tag
filters can't be combined with other filter types": AWS Systems Manager API Reference,
DescribeInstanceInformation, Filters,
https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html),
so the tags select the stack's backed-up instances and this step keeps those whose agent is
Online itself. It waits for one (an instance being replaced at that moment), then fails, which
fails the execution and alerts: a drill that found nowhere to run is not a drill that passed.

The lowest instance id wins, so a retried execution picks the same instance while it lives.

Payload: Filters (tag filters only, ANDed), WaitSeconds, PollSeconds.
"""
import time

import boto3


def online_instances(ssm, filters):
    found = []
    for page in ssm.get_paginator("describe_instance_information").paginate(Filters=filters):
        for info in page["InstanceInformationList"]:
            if info.get("PingStatus") == "Online":
                found.append(info["InstanceId"])
    return sorted(found)


def handler(events, context):
    filters = events["Filters"]
    bad = [f["Key"] for f in filters if not f["Key"].startswith("tag:")]
    if bad:
        raise ValueError("only tag filters may be given (DescribeInstanceInformation cannot combine them with %s)" % ", ".join(bad))
    wait = int(events.get("WaitSeconds", 540))
    poll = max(1, int(events.get("PollSeconds", 30)))
    ssm = boto3.client("ssm")
    deadline = time.monotonic() + wait
    while True:
        ids = online_instances(ssm, filters)
        if ids:
            return {"InstanceId": ids[0], "OnlineInstances": len(ids)}
        if time.monotonic() >= deadline:
            raise RuntimeError(
                "no instance matching %s has an Online SSM agent after %d seconds: nothing to run the restore drill on"
                % (", ".join("%s=%s" % (f["Key"][4:], "|".join(f["Values"])) for f in filters), wait)
            )
        time.sleep(poll)
