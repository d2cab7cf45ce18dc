import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { al2023Parameter } from "../webTier";
import { checkBackupDirectories } from "../backupTools";
import { associationScheduleProblem } from "../ssmSchedule";
import { AppOptions, readDeployScript } from "../app";
import type { BucketLike } from "../bucket";
import type { InstanceRefreshPreferences } from "../webTier";
import { BUILDER_TAG, bakePrepareDocumentContent, bakeRunbookContent, readBakePrepareScript } from "./bakeRunbook";
import { imagingRunbookContent } from "./imagingRunbook";
import { serviceRolePolicy, serviceRoleTrustPolicy } from "./servicePolicy";
import { amiFactoryNames } from "./names";

export { amiFactoryNames } from "./names";

export * from "./stepScripts";
export * from "./bakeRunbook";
export * from "./imagingRunbook";
export * from "./servicePolicy";

/** What the factory needs of the web tier (a `WebTier` satisfies it). */
export interface AmiFactoryWebTier {
    /** The instance role: passed to the builder (through the profile) and granted the bake-log writes. */
    readonly role: aws.iam.Role;
    readonly roleArn: pulumi.Input<string>;
    /** Instance profile the builder launches with (the same SSM and S3 access as the tier). */
    readonly instanceProfileName: pulumi.Input<string>;
    /** The group an instance refresh rolls after a bake; absent in `single` mode. */
    readonly autoScalingGroupName?: pulumi.Input<string>;
    /** How the group's refresh replaces instances: a bake's refresh passes the same. Required with the group. */
    readonly instanceRefreshPreferences?: InstanceRefreshPreferences;
    /** The SSM parameter the launch template resolves (`resolve:ssm:`); each bake writes its AMI id there. */
    readonly amiParameterName: pulumi.Input<string>;
    readonly amiParameterArn: pulumi.Input<string>;
    /** The default app (port, health path): baked into the image with a release. Absent: no app is baked. */
    readonly app?: AppOptions;
    /** The stack's release bucket and prefix (a release is baked from there). Required with `app`. */
    readonly releaseBucketName?: pulumi.Input<string>;
    readonly releasePrefix?: string;
}

/** The defaults AmiFactory applies (exported for callers that derive from them). */
export const AMI_FACTORY_DEFAULTS = {
    /** The first Sunday of every month, 03:00 UTC. */
    bakeSchedule: "cron(0 3 ? * SUN#1 *)",
    /** Saturdays, 04:00 UTC. */
    imagingSchedule: "cron(0 4 ? * SAT *)",
    keepBakedImages: 2,
    keepInstanceImages: 2,
    packages: ["nginx", "amazon-cloudwatch-agent"] as readonly string[],
    noReboot: false,
    instanceRefresh: true,
    imagingTag: { key: "Imaging", value: "true" },
} as const;

/** Every schedule and retention setting of AmiFactoryArgs with its default applied. */
export interface AmiFactorySettings {
    bakeSchedule: string;
    imagingSchedule: string;
    keepBakedImages: number;
    keepInstanceImages: number;
    packages: string[];
    noReboot: boolean;
    instanceRefresh: boolean;
    imagingTag: { key: string; value: string };
}

/** AmiFactoryArgs' settings with AMI_FACTORY_DEFAULTS applied (pure). */
export function amiFactorySettings(args: Partial<AmiFactorySettings>): AmiFactorySettings {
    const d = AMI_FACTORY_DEFAULTS;
    return {
        bakeSchedule: args.bakeSchedule ?? d.bakeSchedule,
        imagingSchedule: args.imagingSchedule ?? d.imagingSchedule,
        keepBakedImages: args.keepBakedImages ?? d.keepBakedImages,
        keepInstanceImages: args.keepInstanceImages ?? d.keepInstanceImages,
        packages: [...(args.packages ?? d.packages)],
        noReboot: args.noReboot ?? d.noReboot,
        instanceRefresh: args.instanceRefresh ?? d.instanceRefresh,
        imagingTag: args.imagingTag ?? { ...d.imagingTag },
    };
}

export interface AmiFactoryArgs {
    /**
     * When the bake runs (a State Manager association): cron only, and only what associations
     * accept (daily, weekly, the Nth weekday of the month, every 1/2/4/8/12 hours; see
     * associationScheduleProblem). @default "cron(0 3 ? * SUN#1 *)" (first Sunday of the month, 03:00 UTC)
     */
    bakeSchedule?: string;
    /** When instance imaging runs (cron, same rules). @default "cron(0 4 ? * SAT *)" */
    imagingSchedule?: string;
    /** Baked AMIs kept; older ones are deregistered with their snapshots. @default 2 */
    keepBakedImages?: number;
    /** Images kept per imaged instance. @default 2 */
    keepInstanceImages?: number;
    /** dnf packages installed into the baked image (the backup scripts' tools are always installed). @default ["nginx", "amazon-cloudwatch-agent"] */
    packages?: string[];
    /** Image instances without rebooting them (faster; the file system may be inconsistent). @default false */
    noReboot?: boolean;
    /** Start an instance refresh of the web tier's group after a bake. @default true */
    instanceRefresh?: boolean;
    /** Tag that selects the instances to image. @default { key: "Imaging", value: "true" } */
    imagingTag?: { key: string; value: string };
    /** Stack name: scopes document names, image tags and every IAM condition. Required. */
    stack: string;
    /** AWS region of the stack (for ARNs). Required. */
    region: string;
    /** The web tier's role, instance profile, group and AMI parameter. Required. */
    webTier: AmiFactoryWebTier;
    /** CPU architecture of the web tier (picks the base AL2023 image and the builder type). Required. */
    architecture: "arm64" | "x86_64";
    /**
     * Subnets the builder may launch in; the first is the runbook's default. Required (non-empty).
     * Private subnets when they have egress (NAT gateways or SSM interface endpoints); where the
     * private tier has none (the cheapest dev), public subnets, whose auto-assigned public
     * address lets the builder reach SSM and the package repositories for the length of a bake.
     */
    builderSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group of the builder (the app group: egress for dnf and SSM, no inbound). Required. */
    appSecurityGroupId: pulumi.Input<string>;
    /** Receives the output of `bake-prepare` runs under `ami-bake/<stack>/`. Required. */
    bakeLogsBucket: BucketLike;
    /** Builder instance type. @default `t4g.small` (arm64) or `t3.small` (x86_64) */
    builderInstanceType?: string;
    /** Builder root volume (GiB, gp3, encrypted): the size of the baked image. @default 8 (AL2023's size) */
    rootVolumeGb?: number;
    /**
     * Directories the scheduled backup reads (the stack's `backup.directories`): the bake creates
     * them in the image, next to the backup scripts' tools, which every bake installs. @default none
     */
    backupDirectories?: string[];
    /** Extra tags for the resources created here. @default none */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) set on every IAM role created here: the most
     * those roles may ever do, whatever their own policies say (IAM User Guide, "Permissions
     * boundaries for IAM entities"). A deploy role that may create roles only with a boundary
     * (the CI bootstrap's) needs it. @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;

/**
 * The AMI factory: a `bake-prepare` Command document, a bake runbook (builder instance from
 * the base AL2023 image -> bake-prepare -> image -> publish to the web tier's AMI parameter ->
 * optional instance refresh -> retention; the builder is terminated on every path), an
 * instance imaging runbook, State Manager associations that run both on their schedules, and
 * the least-privilege service role they run as.
 */
export class AmiFactory extends pulumi.ComponentResource {
    readonly bakeRunbookName: pulumi.Output<string>;
    readonly imagingRunbookName: pulumi.Output<string>;
    readonly bakePrepareDocumentName: pulumi.Output<string>;
    readonly serviceRoleArn: pulumi.Output<string>;
    readonly bakeAssociationId: pulumi.Output<string>;
    readonly imagingAssociationId: pulumi.Output<string>;
    /** Key prefix of bake-prepare output in the bake-logs bucket. */
    readonly bakeLogsPrefix: string;

    constructor(name: string, args: AmiFactoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:amiFactory:AmiFactory", name, {}, opts);
        const cfg = amiFactorySettings(args);
        const tags = args.tags ?? {};
        const problems: string[] = [];
        if (!DOCUMENT_NAME.test(`${args.stack}-web-bake-ami`)) problems.push(`stack "${args.stack}" must consist of letters, digits, '_', '.', '-' (it is part of the SSM document names)`);
        if (args.architecture !== "arm64" && args.architecture !== "x86_64") problems.push(`architecture must be "arm64" or "x86_64", not ${JSON.stringify(args.architecture)}`);
        if (["Stack", BUILDER_TAG.key].includes(cfg.imagingTag.key)) problems.push(`imagingTag.key must not be "${cfg.imagingTag.key}" (the factory uses that tag itself); pick e.g. "Imaging"`);
        for (const key of ["bakeSchedule", "imagingSchedule"] as const) {
            const problem = associationScheduleProblem(cfg[key], true);
            if (problem) problems.push(`${key} "${cfg[key]}" ${problem}`);
        }
        for (const key of ["keepBakedImages", "keepInstanceImages"] as const) {
            if (!Number.isInteger(cfg[key]) || cfg[key] < 1) problems.push(`${key} must be a whole number of at least 1, got ${cfg[key]}`);
        }
        if (args.rootVolumeGb !== undefined && (!Number.isInteger(args.rootVolumeGb) || args.rootVolumeGb < 8)) problems.push("rootVolumeGb must be an integer of at least 8 (the AL2023 image size)");
        try {
            checkBackupDirectories("backupDirectories", args.backupDirectories ?? []);
        } catch (err) {
            problems.push((err as Error).message);
        }
        if (problems.length) throw new Error(`AmiFactory "${name}": ${problems.join("; ")}`);

        const names = amiFactoryNames(args.stack);
        const instanceType = args.builderInstanceType ?? (args.architecture === "arm64" ? "t4g.small" : "t3.small");
        const sourceAmiParameter = al2023Parameter(args.architecture);
        this.bakeLogsPrefix = `ami-bake/${args.stack}/`;
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;

        const prepare = new aws.ssm.Document(
            `${name}-bake-prepare`,
            {
                name: names.documents.bakePrepare,
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.output(args.webTier.releaseBucketName).apply((bucket) => {
                    const web = args.webTier;
                    const bakeApp = web.app && bucket && web.releasePrefix ? { app: web.app, bucket, prefix: web.releasePrefix, deployScript: readDeployScript() } : undefined;
                    return JSON.stringify(bakePrepareDocumentContent(readBakePrepareScript(), cfg.packages, { backupDirectories: args.backupDirectories, bakeApp }), null, 2);
                }),
                tags,
            },
            { parent: this },
        );

        // The builder writes bake-prepare output with the instance role: the SSM agent uploads it from
        // the instance. The write grant carries kms:GenerateDataKey (and Decrypt, for multipart) on an
        // SSE-KMS bucket's key; the agent also reads the bucket's default encryption first
        // (GetBucketEncryption) to send matching SSE headers, which needs s3:GetEncryptionConfiguration
        // on the bucket itself ("Create an IAM instance profile for Systems Manager", the custom S3
        // policy: https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html).
        args.bakeLogsBucket.grantWrite({ name: `${name}-builder`, role: args.webTier.role }, this.bakeLogsPrefix);
        new aws.iam.RolePolicy(
            `${name}-builder-output-encryption`,
            {
                role: args.webTier.role.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [{ Sid: "OutputBucketEncryption", Effect: "Allow", Action: "s3:GetEncryptionConfiguration", Resource: args.bakeLogsBucket.arn }],
                }),
            },
            { parent: this },
        );

        const refreshGroup = cfg.instanceRefresh ? args.webTier.autoScalingGroupName : undefined;
        const role = new aws.iam.Role(
            `${name}-automation`,
            {
                description: `SSM Automation: bakes and images the ${args.stack} web tier AMIs`,
                assumeRolePolicy: pulumi.all([partition, identity.accountId]).apply(([p, account]) => JSON.stringify(serviceRoleTrustPolicy(p, args.region, account))),
                maxSessionDuration: 3600 * 4,
                permissionsBoundary: args.permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-automation`,
            {
                role: role.id,
                policy: pulumi
                    .all([partition, identity.accountId, args.webTier.roleArn, args.builderSubnetIds, args.appSecurityGroupId, prepare.name, args.webTier.amiParameterArn, pulumi.output(refreshGroup)])
                    .apply(([p, account, instanceRoleArn, subnetIds, securityGroupId, documentName, amiParameterArn, group]) =>
                        JSON.stringify(
                            serviceRolePolicy({
                                partition: p,
                                region: args.region,
                                account,
                                stack: args.stack,
                                instanceRoleArn,
                                subnetIds,
                                securityGroupId,
                                bakePrepareDocumentName: documentName,
                                sourceAmiParameter,
                                amiParameterArn,
                                autoScalingGroupName: group,
                                imagingTag: cfg.imagingTag,
                            }),
                        ),
                    ),
            },
            { parent: this },
        );

        const bake = new aws.ssm.Document(
            `${name}-bake`,
            {
                name: names.documents.bake,
                documentType: "Automation",
                documentFormat: "JSON",
                content: pulumi
                    .all([role.arn, args.builderSubnetIds, args.appSecurityGroupId, args.webTier.instanceProfileName, prepare.name, args.webTier.amiParameterName, pulumi.output(refreshGroup), args.bakeLogsBucket.bucketName])
                    .apply(([serviceRoleArn, subnetIds, securityGroupId, profile, documentName, parameterName, group, bucket]) => {
                        if (subnetIds.length === 0) throw new Error(`AmiFactory "${name}": builderSubnetIds is empty; the builder needs a subnet`);
                        return JSON.stringify(
                            bakeRunbookContent({
                                stack: args.stack,
                                serviceRoleArn,
                                sourceAmiParameter,
                                subnetId: subnetIds[0],
                                securityGroupId,
                                instanceProfileName: profile,
                                instanceType,
                                rootVolumeGb: args.rootVolumeGb ?? 8,
                                bakePrepareDocumentName: documentName,
                                packages: cfg.packages,
                                amiParameterName: parameterName,
                                autoScalingGroupName: group,
                                instanceRefresh: cfg.instanceRefresh,
                                instanceRefreshPreferences: args.webTier.instanceRefreshPreferences,
                                keepImages: cfg.keepBakedImages,
                                logsBucketName: bucket,
                                logsPrefix: this.bakeLogsPrefix.replace(/\/$/, ""),
                                bakesRelease: args.webTier.app !== undefined && args.webTier.releasePrefix !== undefined,
                            }),
                            null,
                            2,
                        );
                    }),
                tags,
            },
            { parent: this },
        );

        const imaging = new aws.ssm.Document(
            `${name}-imaging`,
            {
                name: names.documents.imaging,
                documentType: "Automation",
                documentFormat: "JSON",
                content: role.arn.apply((serviceRoleArn) =>
                    JSON.stringify(imagingRunbookContent({ stack: args.stack, serviceRoleArn, tag: cfg.imagingTag, keepImages: cfg.keepInstanceImages, noReboot: cfg.noReboot }), null, 2),
                ),
                tags,
            },
            { parent: this },
        );

        // applyOnlyAtCronInterval: a deploy must not start a bake or an imaging run; only the schedule does.
        const schedule = (suffix: string, document: aws.ssm.Document, expression: string) =>
            new aws.ssm.Association(
                `${name}-${suffix}-schedule`,
                {
                    associationName: `${args.stack}-${suffix}`,
                    name: document.name,
                    scheduleExpression: expression,
                    applyOnlyAtCronInterval: true,
                    complianceSeverity: "MEDIUM",
                    parameters: { AutomationAssumeRole: role.arn },
                    tags,
                },
                // The first scheduled run must find the role's permissions in place.
                { parent: this, dependsOn: [rolePolicy] },
            );
        const bakeAssociation = schedule("ami-bake", bake, cfg.bakeSchedule);
        const imagingAssociation = schedule("instance-imaging", imaging, cfg.imagingSchedule);

        this.bakeRunbookName = bake.name;
        this.imagingRunbookName = imaging.name;
        this.bakePrepareDocumentName = prepare.name;
        this.serviceRoleArn = role.arn;
        this.bakeAssociationId = bakeAssociation.associationId;
        this.imagingAssociationId = imagingAssociation.associationId;
        this.registerOutputs({
            bakeRunbookName: this.bakeRunbookName,
            imagingRunbookName: this.imagingRunbookName,
            bakePrepareDocumentName: this.bakePrepareDocumentName,
            serviceRoleArn: this.serviceRoleArn,
            bakeAssociationId: this.bakeAssociationId,
            imagingAssociationId: this.imagingAssociationId,
        });
    }
}
