/** The least-privilege role the bake and imaging runbooks run as (SSM Automation's service role). */
import { BUILDER_TAG } from "./bakeRunbook";

export interface ServiceRolePolicyOptions {
    partition: string;
    region: string;
    account: string;
    stack: string;
    instanceRoleArn: string;
    subnetIds: string[];
    securityGroupId: string;
    bakePrepareDocumentName: string;
    sourceAmiParameter: string;
    amiParameterArn: string;
    /** Present when the runbook may start an instance refresh. */
    autoScalingGroupName?: string;
    imagingTag: { key: string; value: string };
}

/** The automation service role's permissions (pure: exported for tests). */
export function serviceRolePolicy(o: ServiceRolePolicyOptions): Record<string, unknown> {
    const ec2 = (resource: string, global = false) => `arn:${o.partition}:ec2:${o.region}:${global ? "" : o.account}:${resource}`;
    const builder = { [`ec2:ResourceTag/${BUILDER_TAG.key}`]: BUILDER_TAG.value, "ec2:ResourceTag/Stack": o.stack };
    const statements: Record<string, unknown>[] = [
        {
            // Describe/List calls have no resource-level permissions in IAM: "*" is the only valid resource.
            Sid: "DescribeOnly",
            Effect: "Allow",
            Action: [
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeSnapshots",
                "ec2:DescribeTags",
                "ssm:DescribeInstanceInformation",
                "ssm:ListCommands",
                "ssm:ListCommandInvocations",
            ],
            Resource: "*",
        },
        {
            Sid: "PassInstanceRoleToBuilder",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: o.instanceRoleArn,
            Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
        },
        {
            // Base images: Amazon's (AL2023) or this account's own bakes (layered bakes).
            Sid: "LaunchBuilderImage",
            Effect: "Allow",
            Action: "ec2:RunInstances",
            Resource: ec2("image/*", true),
            Condition: { StringEquals: { "ec2:Owner": ["amazon", o.account] } },
        },
        {
            Sid: "LaunchBuilderNetwork",
            Effect: "Allow",
            Action: "ec2:RunInstances",
            Resource: [...o.subnetIds.map((s) => ec2(`subnet/${s}`)), ec2(`security-group/${o.securityGroupId}`)],
        },
        {
            Sid: "LaunchBuilderInterface",
            Effect: "Allow",
            Action: "ec2:RunInstances",
            Resource: ec2("network-interface/*"),
            Condition: { StringEquals: { "ec2:Subnet": o.subnetIds.map((s) => ec2(`subnet/${s}`)) } },
        },
        {
            Sid: "LaunchTaggedBuilder",
            Effect: "Allow",
            Action: "ec2:RunInstances",
            Resource: [ec2("instance/*"), ec2("volume/*")],
            Condition: { StringEquals: { [`aws:RequestTag/${BUILDER_TAG.key}`]: BUILDER_TAG.value, "aws:RequestTag/Stack": o.stack } },
        },
        {
            Sid: "TagBuilderAtLaunch",
            Effect: "Allow",
            Action: "ec2:CreateTags",
            Resource: [ec2("instance/*"), ec2("volume/*")],
            Condition: { StringEquals: { "ec2:CreateAction": "RunInstances" } },
        },
        {
            Sid: "BuilderLifecycle",
            Effect: "Allow",
            Action: ["ec2:StopInstances", "ec2:TerminateInstances", "ec2:CreateImage"],
            Resource: ec2("instance/*"),
            Condition: { StringEquals: builder },
        },
        {
            Sid: "ImageTaggedInstances",
            Effect: "Allow",
            Action: "ec2:CreateImage",
            Resource: ec2("instance/*"),
            Condition: { StringEquals: { [`ec2:ResourceTag/${o.imagingTag.key}`]: o.imagingTag.value, "ec2:ResourceTag/Stack": o.stack } },
        },
        {
            // The image and snapshots CreateImage makes: new resources, guarded by the instance statements above
            // (aws:createImage cannot request tags, so no aws:RequestTag condition is possible here).
            Sid: "CreateImageOutputs",
            Effect: "Allow",
            Action: "ec2:CreateImage",
            Resource: [ec2("image/*", true), ec2("snapshot/*", true)],
        },
        {
            Sid: "TagOwnImages",
            Effect: "Allow",
            Action: "ec2:CreateTags",
            Resource: [ec2("image/*", true), ec2("snapshot/*", true)],
            Condition: { StringEquals: { "aws:RequestTag/Stack": o.stack } },
        },
        {
            Sid: "RetireOwnImages",
            Effect: "Allow",
            Action: ["ec2:DeregisterImage", "ec2:DeleteSnapshot"],
            Resource: [ec2("image/*", true), ec2("snapshot/*", true)],
            Condition: { StringEquals: { "ec2:ResourceTag/Stack": o.stack } },
        },
        {
            Sid: "SendBakePrepareDocument",
            Effect: "Allow",
            Action: "ssm:SendCommand",
            Resource: `arn:${o.partition}:ssm:${o.region}:${o.account}:document/${o.bakePrepareDocumentName}`,
        },
        {
            Sid: "SendCommandToBuilder",
            Effect: "Allow",
            Action: "ssm:SendCommand",
            Resource: ec2("instance/*"),
            Condition: { StringEquals: { [`ssm:resourceTag/${BUILDER_TAG.key}`]: BUILDER_TAG.value, "ssm:resourceTag/Stack": o.stack } },
        },
        {
            Sid: "ReadBaseImageParameters",
            Effect: "Allow",
            Action: "ssm:GetParameter",
            // Public parameters live in no account: their ARN has an empty account field.
            Resource: [`arn:${o.partition}:ssm:${o.region}::parameter${o.sourceAmiParameter}`, o.amiParameterArn],
        },
        {
            Sid: "PublishAmi",
            Effect: "Allow",
            Action: "ssm:PutParameter",
            Resource: o.amiParameterArn,
        },
    ];
    if (o.autoScalingGroupName !== undefined) {
        statements.push({
            // Group ARNs carry a generated UUID; IAM's documented form matches it with "*" and names the group exactly.
            // The refresh's alarms need nothing more of the caller: the Service Authorization Reference lists
            // no dependent actions for StartInstanceRefresh, and Auto Scaling reads the alarms with its own
            // service-linked role (AutoScalingServiceRolePolicy holds cloudwatch:DescribeAlarms).
            Sid: "RefreshWebTier",
            Effect: "Allow",
            Action: "autoscaling:StartInstanceRefresh",
            Resource: `arn:${o.partition}:autoscaling:${o.region}:${o.account}:autoScalingGroup:*:autoScalingGroupName/${o.autoScalingGroupName}`,
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** Trust policy: SSM Automation in this account only (confused-deputy guard). */
export function serviceRoleTrustPolicy(partition: string, region: string, account: string): Record<string, unknown> {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Service: "ssm.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: {
                    StringEquals: { "aws:SourceAccount": account },
                    ArnLike: { "aws:SourceArn": `arn:${partition}:ssm:${region}:${account}:automation-execution/*` },
                },
            },
        ],
    };
}

