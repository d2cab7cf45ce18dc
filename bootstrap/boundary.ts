/**
 * The permissions boundary of one stack's workload roles (IAM User Guide, "Permissions boundaries
 * for IAM entities", https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):
 * a managed policy the bootstrap creates per stack, `policy/ci/<project>-<stack>-boundary`, that
 * every role the stack creates must carry (the deploy role's iam:CreateRole, PutRolePolicy,
 * AttachRolePolicy and PutRolePermissionsBoundary require it, policies.ts). A role's effective
 * permissions are what both its own policies and its boundary allow, so whatever inline policy a
 * deploy role (a branch of dev, with no reviewers) writes on a role it creates, the role can do
 * no more than this:
 * - the actions the stack's own roles use (their inline policies in the plan, and the AWS
 *   managed policies the stack attaches), and iam:PassRole only of the stack's roles, only to the
 *   services they trust;
 * - never an IAM write, any STS call, or Organizations / Account changes;
 * - never anything tagged for another stack (or tagging something as another stack's), the CI
 *   roles and GitHub's identity provider, the Pulumi state, or any stack's secrets key.
 * What it cannot tell apart is what carries no tag and no stack-specific name: objects in another
 * stack's auto-named buckets (`backups-*`) match the same action and pattern; separate accounts
 * per environment are the boundary for those (README "CI/CD").
 */
import { CI_ROLE_PATH } from "./naming";
import type { AccountContext, PolicyDocument, StackFacts, Statement } from "./policies";
import { ciPermissionsBoundaryArn } from "../config/iam";

/**
 * The actions of the AWS managed policies the program attaches to its roles, per the AWS Managed
 * Policy Reference Guide (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/):
 * AmazonSSMManagedInstanceCore (version v2), AWSDataLifecycleManagerServiceRole (v10),
 * AmazonRDSEnhancedMonitoringRole (v1). A new version of one that adds an action is held to this
 * list by the boundary until the list is updated (the action then fails with AccessDenied
 * naming the boundary): keep it in step when AWS updates a policy.
 */
export const MANAGED_POLICY_ACTIONS: Record<string, string[]> = {
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": [
        "ssm:DescribeAssociation", "ssm:DescribeDocument", "ssm:GetDeployablePatchSnapshotForInstance", "ssm:GetDocument", "ssm:GetManifest",
        "ssm:GetParameter", "ssm:GetParameters", "ssm:ListAssociations", "ssm:ListInstanceAssociations", "ssm:PutComplianceItems",
        "ssm:PutConfigurePackageResult", "ssm:PutInventory", "ssm:UpdateAssociationStatus", "ssm:UpdateInstanceAssociationStatus",
        "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
        "ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply",
    ],
    "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole": [
        "ec2:CopySnapshot", "ec2:CreateSnapshot", "ec2:CreateSnapshots", "ec2:DeleteSnapshot", "ec2:DescribeAvailabilityZones",
        "ec2:DescribeFastSnapshotRestores", "ec2:DescribeInstances", "ec2:DescribeSnapshotAttribute", "ec2:DescribeSnapshotTierStatus",
        "ec2:DescribeSnapshots", "ec2:DescribeVolumes", "ec2:DisableFastSnapshotRestores", "ec2:EnableFastSnapshotRestores",
        "ec2:ModifySnapshotAttribute", "ec2:ModifySnapshotTier", "ec2:CreateTags", "events:DeleteRule", "events:DescribeRule",
        "events:DisableRule", "events:EnableRule", "events:ListTargetsByRule", "events:PutRule", "events:PutTargets", "events:RemoveTargets",
    ],
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole": [
        "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:GetLogEvents", "logs:PutLogEvents",
    ],
};

/**
 * Every IAM action that changes something, by verb (the Service Authorization Reference's IAM
 * actions that are not Read or List all start with one of these; tests/ciPermissions.test.ts
 * checks that against the reference), iam:PassRole excepted: it changes nothing and is held to
 * the stack's roles and services below.
 */
export const IAM_WRITE_VERBS = ["Accept", "Add", "Associate", "Attach", "Change", "Create", "Deactivate", "Delete", "Detach", "Disable", "Enable", "Put", "Reject", "Remove", "Reset", "Resync", "Send", "Set", "Tag", "Untag", "Update", "Upload"];

function uniqueSorted(values: Iterable<string>): string[] {
    return [...new Set(values)].sort();
}

/** The boundary policy's ARN for a stack (the name the program derives with `iam.permissionsBoundary: ci`). */
export function boundaryArn(facts: StackFacts, ctx: AccountContext): string {
    return ciPermissionsBoundaryArn(ctx.partition, ctx.account, facts.project, facts.stack);
}

/** The boundary policy of one stack's workload roles. */
export function boundaryPolicy(facts: StackFacts, ctx: AccountContext, roleArns: string[]): PolicyDocument {
    const { partition, account } = ctx;
    const managed = facts.managedPolicyArns.flatMap((arn) => {
        const actions = MANAGED_POLICY_ACTIONS[arn.replace(/^arn:aws[\w-]*:/, "arn:aws:")];
        if (!actions) throw new Error(`bootstrap/boundary.ts: no actions listed for the managed policy ${arn} that stack ${facts.stack} attaches: add them (AWS Managed Policy Reference Guide) before its boundary can be generated`);
        return actions;
    });
    const used = uniqueSorted([...facts.workloadActions, ...managed]);
    const passes = used.includes("iam:PassRole");
    const statements: Statement[] = [
        { Sid: "WhatTheStacksRolesUse", Effect: "Allow", Action: used.filter((a) => a !== "iam:PassRole"), Resource: ["*"] },
    ];
    if (passes && facts.passedServices.length > 0) {
        statements.push({ Sid: "PassOnlyTheStacksRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: roleArns, Condition: { StringEquals: { "iam:PassedToService": uniqueSorted(facts.passedServices) } } });
    }
    const bootstrapOwned = [
        ...(ctx.state ? [`arn:${partition}:s3:::${ctx.state.bucket}`, `arn:${partition}:s3:::${ctx.state.bucket}/*`, ctx.state.keyArn] : []),
        ...Object.values(ctx.secretsKeyArns ?? {}),
    ];
    statements.push(
        {
            Sid: "NoIdentityOrAccountChanges",
            Effect: "Deny",
            Action: [...IAM_WRITE_VERBS.map((v) => `iam:${v}*`), "sts:*", "organizations:*", "account:*"],
            Resource: ["*"],
        },
        {
            Sid: "NoCiIdentity",
            Effect: "Deny",
            Action: ["iam:*"],
            Resource: [`arn:${partition}:iam::${account}:role${CI_ROLE_PATH}*`, `arn:${partition}:iam::${account}:policy${CI_ROLE_PATH}*`, `arn:${partition}:iam::${account}:oidc-provider/*`],
        },
        {
            Sid: "NoOtherStacksResources",
            Effect: "Deny",
            Action: ["*"],
            Resource: ["*"],
            Condition: { StringNotEquals: { "aws:ResourceTag/Stack": facts.stack }, Null: { "aws:ResourceTag/Stack": "false" } },
        },
        {
            Sid: "NoOtherStacksTags",
            Effect: "Deny",
            Action: ["*"],
            Resource: ["*"],
            Condition: { StringNotEquals: { "aws:RequestTag/Stack": facts.stack }, Null: { "aws:RequestTag/Stack": "false" } },
        },
    );
    if (bootstrapOwned.length > 0) statements.push({ Sid: "NoStateOrSecretsKeys", Effect: "Deny", Action: ["*"], Resource: uniqueSorted(bootstrapOwned) });
    return { Version: "2012-10-17", Statement: statements };
}
