"""Images every tagged instance of the stack (the imaging runbook's one step).

Keeps the newest `Keep` available images per instance (tags Stack, CreatedBy, InstanceId) and
deregisters older ones with their snapshots. One failed CreateImage does not stop the others,
but fails the step at the end.
"""
import time
import boto3


def snapshots_of(image):
    return [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if "SnapshotId" in m.get("Ebs", {})]


def handler(events, context):
    ec2 = boto3.client("ec2")
    stack = events["Stack"]
    keep = int(events["Keep"])
    no_reboot = str(events["NoReboot"]).lower() == "true"
    filters = [
        {"Name": "tag:" + events["TagKey"], "Values": [events["TagValue"]]},
        {"Name": "tag:Stack", "Values": [stack]},
        {"Name": "instance-state-name", "Values": ["running", "stopped"]},
    ]
    instances = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            instances.extend(i["InstanceId"] for i in reservation["Instances"])
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    created, deregistered, deleted, failed = [], [], [], []
    for instance_id in sorted(instances):
        tags = [
            {"Key": "InstanceId", "Value": instance_id},
            {"Key": "Stack", "Value": stack},
            {"Key": "CreatedBy", "Value": events["CreatedBy"]},
            {"Key": "Name", "Value": stack + "-" + instance_id + "-" + stamp},
        ]
        try:
            image = ec2.create_image(
                InstanceId=instance_id,
                Name=stack + "-" + instance_id + "-" + stamp,
                Description="Scheduled image of " + instance_id,
                NoReboot=no_reboot,
                TagSpecifications=[{"ResourceType": "image", "Tags": tags}, {"ResourceType": "snapshot", "Tags": tags}],
            )
            created.append(image["ImageId"])
        except Exception as err:  # one instance must not stop the others
            print("create_image failed for", instance_id, err)
            failed.append(instance_id)
            continue
        # Only available images count: the one just started is pending, and a failed new
        # image must never cost an old good one.
        own = [
            {"Name": "tag:Stack", "Values": [stack]},
            {"Name": "tag:CreatedBy", "Values": [events["CreatedBy"]]},
            {"Name": "tag:InstanceId", "Values": [instance_id]},
            {"Name": "state", "Values": ["available"]},
        ]
        images = ec2.describe_images(Owners=["self"], Filters=own)["Images"]
        images.sort(key=lambda i: i["CreationDate"], reverse=True)
        for old in images[keep:]:
            ec2.deregister_image(ImageId=old["ImageId"])
            deregistered.append(old["ImageId"])
            for snapshot in snapshots_of(old):
                ec2.delete_snapshot(SnapshotId=snapshot)
                deleted.append(snapshot)
    print("created", created, "deregistered", deregistered, "deleted snapshots", deleted, "failed", failed)
    if failed:
        raise Exception("imaging failed for " + ", ".join(failed))
    return {"Created": created, "Deregistered": deregistered, "DeletedSnapshots": deleted}
