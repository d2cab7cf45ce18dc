"""Bake retention (the bake runbook's ApplyRetention step, aws:executeScript).

Keeps the newest `Keep` available images of this stack baked by the runbook (tags Stack and
CreatedBy) and deregisters the rest, deleting their snapshots: a deregistered image leaves its
snapshots behind, billed, until they are deleted. The image being published (`CurrentImageId`)
is never deregistered, whatever the dates say. Other stacks' images are not selected.
"""
import boto3


def handler(events, context):
    ec2 = boto3.client("ec2")
    keep = int(events["Keep"])
    filters = [
        {"Name": "tag:Stack", "Values": [events["Stack"]]},
        {"Name": "tag:CreatedBy", "Values": [events["CreatedBy"]]},
    ]
    images = []
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"], Filters=filters):
        images.extend(page["Images"])
    available = sorted((i for i in images if i["State"] == "available"), key=lambda i: i["CreationDate"], reverse=True)
    protected = {events.get("CurrentImageId", "")}
    deregistered, deleted = [], []
    for image in available[keep:]:
        if image["ImageId"] in protected:
            continue
        snapshots = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if "SnapshotId" in m.get("Ebs", {})]
        ec2.deregister_image(ImageId=image["ImageId"])
        deregistered.append(image["ImageId"])
        for snapshot in snapshots:
            ec2.delete_snapshot(SnapshotId=snapshot)
            deleted.append(snapshot)
    print("kept", [i["ImageId"] for i in available[:keep]], "deregistered", deregistered, "deleted snapshots", deleted)
    return {"Deregistered": deregistered, "DeletedSnapshots": deleted}
