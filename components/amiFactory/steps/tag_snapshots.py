"""Tags the snapshots of a new image (the bake runbook's TagImageSnapshots step).

aws:createImage cannot tag, and the retention's DeleteSnapshot is allowed only on snapshots
carrying the stack's tag (the service role's policy): untagged snapshots would outlive their image.
"""
import boto3


def handler(events, context):
    ec2 = boto3.client("ec2")
    image = ec2.describe_images(ImageIds=[events["ImageId"]])["Images"][0]
    snapshots = [m["Ebs"]["SnapshotId"] for m in image.get("BlockDeviceMappings", []) if "SnapshotId" in m.get("Ebs", {})]
    tags = [{"Key": k, "Value": v} for k, v in sorted(events["Tags"].items())]
    if snapshots:
        ec2.create_tags(Resources=snapshots, Tags=tags)
    return {"SnapshotIds": snapshots}
