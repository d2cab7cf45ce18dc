import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AmiFactoryConfig } from "../config";
import { al2023Parameter } from "../config/webTier";
import type { SsmDocumentContent, SsmStep } from "./ssmDocument";
import { backupToolPaths, checkBackupDirectories } from "./backupTools";
import { AppOptions, DEPLOY_SCRIPT_PATH, RELEASE_VERSION_PATTERN, ReleaseSource, appSetupLines, readDeployScript } from "./app";
import type { PrivateBucket } from "./bucket";
import type { InstanceRefreshPreferences } from "./webTier";

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

export interface AmiFactoryArgs {
    /** The validated `amiFactory` section (schedules, retention, packages, imaging tag). Required. */
    config: AmiFactoryConfig;
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
    bakeLogsBucket: PrivateBucket;
    /** Builder instance type. Default `t4g.small` (arm64) or `t3.small` (x86_64). */
    builderInstanceType?: string;
    /** Builder root volume (GiB, gp3, encrypted): the size of the baked image. Default 8 (AL2023's size). */
    rootVolumeGb?: number;
    /**
     * Directories the scheduled backup reads (the stack's `backup.directories`): the bake creates
     * them in the image, next to the backup scripts' tools, which every bake installs. Default none.
     */
    backupDirectories?: string[];
    /** Extra tags for the resources created here. Default none. */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) set on every IAM role created here: the most
     * those roles may ever do, whatever their own policies say (IAM User Guide, "Permissions
     * boundaries for IAM entities"). A deploy role that may create roles only with a boundary
     * (the CI bootstrap's) needs it. Default none.
     */
    permissionsBoundary?: pulumi.Input<string>;
}

/** The bake-prepare script, embedded verbatim in the Command document. */
export const BAKE_PREPARE_SCRIPT_PATH = path.join(__dirname, "ssm", "bake-prepare.sh");
/** Where the Command document writes the script on the builder before running it. */
export const BAKE_PREPARE_INSTANCE_PATH = "/root/platform-bake-prepare.sh";
export const BAKE_HEREDOC_TERMINATOR = "PLATFORM_BAKE_PREPARE_EOF";
/** Tag every builder instance and volume carries; IAM lets the runbook stop/terminate only these. */
export const BUILDER_TAG = { key: "Purpose", value: "ami-bake" } as const;
/** `CreatedBy` tag values of baked AMIs and instance images (retention selects by them). */
export const BAKED_BY = "platform-ami-bake";
export const IMAGED_BY = "platform-instance-imaging";
/** Step the bake runbook's failure, cancel and success paths all reach. */
export const TERMINATE_STEP = "TerminateBuilder";
/** The same termination, for a cancel that arrives while TerminateBuilder itself runs. */
export const TERMINATE_AFTER_CANCEL_STEP = "TerminateBuilderAfterCancel";
/** Tag naming the automation execution that launched a builder: what termination selects by. */
export const EXECUTION_TAG_KEY = "AutomationExecutionId";
/**
 * The runbooks' Python steps (aws:executeScript handlers), kept as files so that they can be
 * compiled and run in tests (tests/runbookSteps.test.ts runs each against moto) and embedded
 * into the documents byte for byte.
 */
export const STEPS_DIR = path.join(__dirname, "amiFactory", "steps");
export const STEP_SCRIPT_PATHS = {
    terminateBuilder: path.join(STEPS_DIR, "terminate_builder.py"),
    bakeRetention: path.join(STEPS_DIR, "bake_retention.py"),
    tagSnapshots: path.join(STEPS_DIR, "tag_snapshots.py"),
    instanceImaging: path.join(STEPS_DIR, "instance_imaging.py"),
} as const;
export const TERMINATE_BUILDER_SCRIPT_PATH = STEP_SCRIPT_PATHS.terminateBuilder;

/** A step's Python as the document embeds it: the file's bytes, refused if SSM would rewrite them. */
export function readStepScript(file: string): string {
    const text = fs.readFileSync(file, "utf8");
    // SSM substitutes `{{ ... }}` in every string of a document, the Script input included.
    if (text.includes("{{")) throw new Error(`${path.basename(file)} must not contain '{{' (SSM would treat it as a parameter reference)`);
    return text;
}

export function readTerminateBuilderScript(): string {
    return readStepScript(STEP_SCRIPT_PATHS.terminateBuilder);
}
/** Space-separated dnf names, or empty: substituted into shell inside single quotes, so no quotes or metacharacters. */
export const PACKAGES_PATTERN = "^$|^[A-Za-z0-9][A-Za-z0-9._+-]*( [A-Za-z0-9][A-Za-z0-9._+-]*)*$";
/** Root device of Amazon Linux 2023 images. */
const ROOT_DEVICE = "/dev/xvda";

export function readBakePrepareScript(): string {
    return fs.readFileSync(BAKE_PREPARE_SCRIPT_PATH, "utf8");
}

/** `Release` of the bake: `current` (the stack's current release, if one is set), a version, or `none`. */
export const BAKE_RELEASE_PATTERN = `^(none|current)$|${RELEASE_VERSION_PATTERN}`;

/** What the bake needs to bake the default app and a release (WebTier's app, its release location, deploy.sh). */
export interface BakeApp extends ReleaseSource {
    app: AppOptions;
    deployScript: string;
}

export interface BakePrepareOptions {
    /** Directories the scheduled backup reads: created in the image. Default none. */
    backupDirectories?: readonly string[];
    /** The default app and the release to bake (see BakeApp). Default none: no app is baked. */
    bakeApp?: BakeApp;
}

/**
 * The `bake-prepare` Command document (pure: exported for tests). With `bakeApp`, the builder
 * first gets the default app (components/app.ts, as user data installs it) and the `Release`
 * parameter's release, installed and health-checked by deploy.sh: a release that is not
 * healthy fails the bake. Every bake then installs the backup scripts' tools
 * (components/backupTools.ts) whatever `packages` says, and creates `backupDirectories`: an
 * image the backup cannot run on is not a usable image.
 */
export function bakePrepareDocumentContent(script: string, packages: string[], options: BakePrepareOptions = {}): SsmDocumentContent {
    const { bakeApp, backupDirectories = [] } = options;
    if (script.split("\n").includes(BAKE_HEREDOC_TERMINATOR)) throw new Error(`bake-prepare.sh must not contain a line "${BAKE_HEREDOC_TERMINATOR}" (it ends the heredoc)`);
    if (script.includes("{{")) throw new Error("bake-prepare.sh must not contain '{{' (SSM would treat it as a parameter reference)");
    return {
        schemaVersion: "2.2",
        description: "Prepares an AMI builder: OS updates, packages, SSM agent, then removes host keys, logs, cloud-init state, history and machine-id for imaging.",
        parameters: {
            Packages: { type: "String", description: "Space-separated dnf packages to install.", default: packages.join(" "), allowedPattern: PACKAGES_PATTERN },
            ...(bakeApp
                ? { Release: { type: "String", description: "Release baked into the image: current (the stack's current release, if set), a version, or none.", default: "current", allowedPattern: BAKE_RELEASE_PATTERN } }
                : {}),
        },
        mainSteps: [
            {
                action: "aws:runShellScript",
                name: "BakePrepare",
                precondition: { StringEquals: ["platformType", "Linux"] },
                inputs: {
                    timeoutSeconds: 3600,
                    runCommand: [
                        "set -euo pipefail",
                        ...(bakeApp
                            ? [
                                  ...appSetupLines(bakeApp.app, bakeApp.deployScript),
                                  "release='{{ Release }}'",
                                  'if [ "$release" != none ]; then',
                                  `  bash ${DEPLOY_SCRIPT_PATH} --bucket '${bakeApp.bucket}' --prefix '${bakeApp.prefix}' --port ${bakeApp.app.port} --health-path '${bakeApp.app.healthPath}' --release "$release" --missing-ok`,
                                  "fi",
                              ]
                            : []),
                        "umask 077",
                        // Quoted heredoc: the script reaches the file byte for byte, no expansion.
                        `cat > ${BAKE_PREPARE_INSTANCE_PATH} <<'${BAKE_HEREDOC_TERMINATOR}'`,
                        ...script.replace(/\n$/, "").split("\n"),
                        BAKE_HEREDOC_TERMINATOR,
                        `rc=0; bash ${BAKE_PREPARE_INSTANCE_PATH} --packages '{{ Packages }}' --backup-tools '${backupToolPaths().join(" ")}' --backup-directories '${backupDirectories.join(" ")}' || rc=$?`,
                        `rm -f ${BAKE_PREPARE_INSTANCE_PATH}`,
                        'exit "$rc"',
                    ],
                },
            },
        ],
    };
}

export interface BakeRunbookOptions {
    stack: string;
    serviceRoleArn: string;
    sourceAmiParameter: string;
    subnetId: string;
    securityGroupId: string;
    instanceProfileName: string;
    instanceType: string;
    rootVolumeGb: number;
    bakePrepareDocumentName: string;
    packages: string[];
    amiParameterName: string;
    /** Absent: no instance refresh step can run (the branch defaults to skipping it). */
    autoScalingGroupName?: string;
    instanceRefresh: boolean;
    /** The group's refresh preferences (WebTier.instanceRefreshPreferences). Required when the runbook may refresh. */
    instanceRefreshPreferences?: InstanceRefreshPreferences;
    keepImages: number;
    logsBucketName: string;
    logsPrefix: string;
    /** Python of the termination step. Default: components/amiFactory/steps/terminate_builder.py. */
    terminateScript?: string;
    /** The prepare document takes a `Release` (the web tier's app is baked). */
    bakesRelease?: boolean;
}

/**
 * The Preferences of the refresh a bake starts: the group's own (AWS keeps none on the group:
 * each StartInstanceRefresh call brings its own, else AWS's defaults and no alarms; API
 * Reference, StartInstanceRefresh: https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_StartInstanceRefresh.html),
 * except SkipMatching, which must be false: a bake changes no launch template version (the
 * ImageId is `resolve:ssm:`), and "if you enable skip matching, but none of these are changing,
 * the instance refresh will succeed immediately without replacing any instances" (EC2 Auto
 * Scaling User Guide, "Use an instance refresh with skip matching":
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh-skip-matching.html).
 * No AutoRollback: AWS refuses it with an SSM-parameter ImageId (RefreshPreferences).
 */
export function bakeRefreshPreferences(p: InstanceRefreshPreferences): Record<string, unknown> {
    return {
        MinHealthyPercentage: p.minHealthyPercentage,
        InstanceWarmup: p.instanceWarmupSeconds,
        SkipMatching: false,
        ...(p.alarmNames.length > 0 ? { AlarmSpecification: { Alarms: [...p.alarmNames] } } : {}),
    };
}

/** Keeps the newest N available images of this stack's kind; deregisters the rest and deletes their snapshots (components/amiFactory/steps/bake_retention.py). */
export const BAKE_RETENTION_SCRIPT = readStepScript(STEP_SCRIPT_PATHS.bakeRetention);

/** aws:createImage cannot tag; the snapshots need the Stack tag for the retention's scoped DeleteSnapshot (components/amiFactory/steps/tag_snapshots.py). */
export const TAG_SNAPSHOTS_SCRIPT = readStepScript(STEP_SCRIPT_PATHS.tagSnapshots);

const guarded = (step: SsmStep): SsmStep => ({ ...step, onFailure: `step:${TERMINATE_STEP}`, onCancel: `step:${TERMINATE_STEP}`, isCritical: true });

/** DescribeInstances filters (ANDed) that select exactly the builders of the running execution. */
export function builderFilters(stack: string): Array<{ Name: string; Values: string[] }> {
    return [
        { Name: `tag:${EXECUTION_TAG_KEY}`, Values: ["{{ automation:EXECUTION_ID }}"] },
        { Name: `tag:${BUILDER_TAG.key}`, Values: [BUILDER_TAG.value] },
        { Name: "tag:Stack", Values: [stack] },
    ];
}

/**
 * The bake runbook (pure: exported for tests). Failure semantics, from the SSM docs ("Properties
 * shared by all actions", https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html#automation-common):
 * a step with `onFailure: step:X` hands control to X, and because it stays `isCritical: true`
 * the execution still ends Failed; `onCancel: step:X` runs X after a cancel and the execution
 * ends Cancelled; `maxAttempts` retries a step before it counts as failed. So every step from
 * the launch on routes failure and cancel to TerminateBuilder, which finds the builder by the
 * tags it got at launch (this execution's id among them), not by the launch step's output (absent
 * when aws:runInstances launched but its wait failed), retries, and stays critical: a bake whose
 * builder could not be terminated ends Failed, never Success. tools/ssmDocuments.ts
 * `simulateAutomation` walks this graph with a failure and a cancel injected at every step.
 */
export function bakeRunbookContent(o: BakeRunbookOptions): SsmDocumentContent {
    const builderTags = [
        { Key: BUILDER_TAG.key, Value: BUILDER_TAG.value },
        { Key: "Stack", Value: o.stack },
        { Key: "Name", Value: `${o.stack}-ami-builder` },
        { Key: EXECUTION_TAG_KEY, Value: "{{ automation:EXECUTION_ID }}" },
    ];
    const terminate = (name: string): SsmStep => ({
        name,
        action: "aws:executeScript",
        timeoutSeconds: 600,
        maxAttempts: 3,
        // A builder still alive after every attempt fails the run (Abort, critical): the alert
        // says so, instead of a Success that leaves an instance running.
        onFailure: "Abort",
        isCritical: true,
        isEnd: true,
        inputs: {
            Runtime: "python3.11",
            Handler: "handler",
            Script: o.terminateScript ?? readTerminateBuilderScript(),
            InputPayload: { InstanceFilters: builderFilters(o.stack), Attempts: 5, RetryDelaySeconds: 5, WaitSeconds: 300 },
        },
        outputs: [{ Name: "Terminated", Selector: "$.Payload.Terminated", Type: "StringList" }],
    });
    const imageTags = {
        Stack: o.stack,
        CreatedBy: BAKED_BY,
        SourceAmi: "{{ ResolveSourceAmi.SourceAmiId }}",
        BakeTime: "{{ global:DATE_TIME }}",
        GitRevision: "{{ GitRevision }}",
        ...(o.bakesRelease ? { Release: "{{ Release }}" } : {}),
    };
    const refresh = o.instanceRefresh && o.autoScalingGroupName !== undefined;
    if (refresh && !o.instanceRefreshPreferences) {
        throw new Error("bake runbook: an instance refresh needs the group's refresh preferences (WebTier.instanceRefreshPreferences); AWS would otherwise run it with its defaults and no alarms");
    }
    const mainSteps: SsmStep[] = [
        {
            name: "ResolveSourceAmi",
            action: "aws:executeAwsApi",
            // Nothing launched yet: a failure here just ends the run.
            onFailure: "Abort",
            inputs: { Service: "ssm", Api: "GetParameter", Name: "{{ SourceAmiParameter }}" },
            outputs: [{ Name: "SourceAmiId", Selector: "$.Parameter.Value", Type: "String" }],
            nextStep: "LaunchBuilder",
        },
        guarded({
            name: "LaunchBuilder",
            action: "aws:runInstances",
            timeoutSeconds: 1200,
            inputs: {
                ImageId: "{{ ResolveSourceAmi.SourceAmiId }}",
                InstanceType: "{{ InstanceType }}",
                MinInstanceCount: 1,
                MaxInstanceCount: 1,
                SubnetId: "{{ SubnetId }}",
                SecurityGroupIds: [o.securityGroupId],
                IamInstanceProfileName: o.instanceProfileName,
                MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 1 },
                BlockDeviceMappings: [{ DeviceName: ROOT_DEVICE, Ebs: { VolumeSize: o.rootVolumeGb, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true } }],
                TagSpecifications: [
                    { ResourceType: "instance", Tags: builderTags },
                    { ResourceType: "volume", Tags: builderTags },
                ],
            },
            nextStep: "WaitForSsm",
        }),
        guarded({
            name: "WaitForSsm",
            action: "aws:waitForAwsResourceProperty",
            timeoutSeconds: 900,
            inputs: {
                Service: "ssm",
                Api: "DescribeInstanceInformation",
                InstanceInformationFilterList: [{ key: "InstanceIds", valueSet: ["{{ LaunchBuilder.InstanceIds }}"] }],
                PropertySelector: "$.InstanceInformationList[0].PingStatus",
                DesiredValues: ["Online"],
            },
            nextStep: "PrepareImage",
        }),
        guarded({
            name: "PrepareImage",
            action: "aws:runCommand",
            timeoutSeconds: 3600,
            inputs: {
                DocumentName: o.bakePrepareDocumentName,
                InstanceIds: ["{{ LaunchBuilder.InstanceIds }}"],
                Parameters: { Packages: "{{ Packages }}", ...(o.bakesRelease ? { Release: "{{ Release }}" } : {}) },
                OutputS3BucketName: o.logsBucketName,
                OutputS3KeyPrefix: o.logsPrefix,
                TimeoutSeconds: 3600,
                Comment: "AMI bake {{ automation:EXECUTION_ID }}",
            },
            nextStep: "StopBuilder",
        }),
        guarded({
            name: "StopBuilder",
            action: "aws:changeInstanceState",
            timeoutSeconds: 900,
            inputs: { InstanceIds: ["{{ LaunchBuilder.InstanceIds }}"], CheckStateOnly: false, DesiredState: "stopped" },
            nextStep: "CreateImage",
        }),
        guarded({
            name: "CreateImage",
            action: "aws:createImage",
            timeoutSeconds: 3600,
            inputs: {
                InstanceId: "{{ LaunchBuilder.InstanceIds }}",
                ImageName: `${o.stack}-web-{{ global:DATE_TIME }}`,
                ImageDescription: `${o.stack} web tier, baked by {{ automation:EXECUTION_ID }} from {{ ResolveSourceAmi.SourceAmiId }}`,
                // Already stopped: a consistent file system without a reboot.
                NoReboot: true,
            },
            nextStep: "TagImage",
        }),
        guarded({
            name: "TagImage",
            action: "aws:createTags",
            inputs: {
                ResourceType: "EC2",
                ResourceIds: ["{{ CreateImage.ImageId }}"],
                Tags: [...Object.entries(imageTags).map(([Key, Value]) => ({ Key, Value })), { Key: "Name", Value: `${o.stack}-web-{{ global:DATE_TIME }}` }],
            },
            nextStep: "TagImageSnapshots",
        }),
        guarded({
            name: "TagImageSnapshots",
            action: "aws:executeScript",
            inputs: { Runtime: "python3.11", Handler: "handler", Script: TAG_SNAPSHOTS_SCRIPT, InputPayload: { ImageId: "{{ CreateImage.ImageId }}", Tags: imageTags } },
            outputs: [{ Name: "SnapshotIds", Selector: "$.Payload.SnapshotIds", Type: "StringList" }],
            nextStep: "PublishAmi",
        }),
        guarded({
            name: "PublishAmi",
            action: "aws:executeAwsApi",
            inputs: {
                Service: "ssm",
                Api: "PutParameter",
                Name: o.amiParameterName,
                Value: "{{ CreateImage.ImageId }}",
                Type: "String",
                DataType: "aws:ec2:image",
                Overwrite: true,
            },
            outputs: [{ Name: "ParameterVersion", Selector: "$.Version", Type: "Integer" }],
            nextStep: "ChooseInstanceRefresh",
        }),
        guarded({
            name: "ChooseInstanceRefresh",
            action: "aws:branch",
            inputs: {
                Choices: [{ NextStep: "StartInstanceRefresh", Variable: "{{ InstanceRefresh }}", BooleanEquals: true }],
                Default: "ApplyRetention",
            },
        }),
        guarded({
            name: "StartInstanceRefresh",
            action: "aws:executeAwsApi",
            inputs: {
                Service: "autoscaling",
                Api: "StartInstanceRefresh",
                // Without a group (single mode) the branch never comes here: InstanceRefresh defaults to false.
                AutoScalingGroupName: o.autoScalingGroupName ?? "none",
                Strategy: "Rolling",
                ...(o.instanceRefreshPreferences ? { Preferences: bakeRefreshPreferences(o.instanceRefreshPreferences) } : {}),
            },
            outputs: [{ Name: "InstanceRefreshId", Selector: "$.InstanceRefreshId", Type: "String" }],
            nextStep: "ApplyRetention",
        }),
        guarded({
            name: "ApplyRetention",
            action: "aws:executeScript",
            inputs: {
                Runtime: "python3.11",
                Handler: "handler",
                Script: BAKE_RETENTION_SCRIPT,
                InputPayload: { Stack: o.stack, CreatedBy: BAKED_BY, Keep: "{{ KeepImages }}", CurrentImageId: "{{ CreateImage.ImageId }}" },
            },
            outputs: [{ Name: "Deregistered", Selector: "$.Payload.Deregistered", Type: "StringList" }],
            nextStep: TERMINATE_STEP,
        }),
        // A cancel that arrives during the termination itself gets a second, uninterrupted one.
        { ...terminate(TERMINATE_STEP), onCancel: `step:${TERMINATE_AFTER_CANCEL_STEP}` },
        terminate(TERMINATE_AFTER_CANCEL_STEP),
    ];
    return {
        schemaVersion: "0.3",
        description: `Bakes the ${o.stack} web tier AMI: builder from the base image, bake-prepare, image, publish to ${o.amiParameterName}${refresh ? ", instance refresh" : ""}, retention. The builder is terminated on every path.`,
        assumeRole: "{{ AutomationAssumeRole }}",
        parameters: {
            AutomationAssumeRole: { type: "String", description: "Role the automation runs as.", default: o.serviceRoleArn, allowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$" },
            SourceAmiParameter: { type: "String", description: "SSM parameter holding the base AMI id.", default: o.sourceAmiParameter, allowedPattern: "^/[A-Za-z0-9_./-]{1,2047}$" },
            SubnetId: { type: "String", description: "Subnet of the builder.", default: o.subnetId, allowedPattern: "^subnet-[0-9a-f]{8,17}$" },
            InstanceType: { type: "String", description: "Builder instance type (must match the base image's architecture).", default: o.instanceType, allowedPattern: "^[a-z][a-z0-9-]*\\.[a-z0-9]+$" },
            Packages: { type: "String", description: "Space-separated dnf packages to install.", default: o.packages.join(" "), allowedPattern: PACKAGES_PATTERN },
            GitRevision: { type: "String", description: "Revision recorded in the image's GitRevision tag.", default: "unspecified", allowedPattern: "^[A-Za-z0-9._/-]{1,128}$" },
            ...(o.bakesRelease
                ? { Release: { type: "String", description: "Release of the web app baked into the image: current (the stack's current release, if set), a version, or none.", default: "current", allowedPattern: BAKE_RELEASE_PATTERN } }
                : {}),
            InstanceRefresh: { type: "Boolean", description: "Start an instance refresh of the web tier's group after publishing.", default: refresh },
            KeepImages: { type: "Integer", description: "Baked AMIs to keep; older ones are deregistered with their snapshots.", default: o.keepImages },
        },
        mainSteps,
        outputs: ["CreateImage.ImageId"],
    };
}

export interface ImagingRunbookOptions {
    stack: string;
    serviceRoleArn: string;
    tag: { key: string; value: string };
    keepImages: number;
    noReboot: boolean;
}

/** Images every tagged instance of the stack and keeps the newest N available images per instance (components/amiFactory/steps/instance_imaging.py). */
export const IMAGING_SCRIPT = readStepScript(STEP_SCRIPT_PATHS.instanceImaging);

/** The instance imaging runbook (pure: exported for tests). */
export function imagingRunbookContent(o: ImagingRunbookOptions): SsmDocumentContent {
    return {
        schemaVersion: "0.3",
        description: `Images the ${o.stack} instances tagged ${o.tag.key}=${o.tag.value} and keeps the newest images per instance.`,
        assumeRole: "{{ AutomationAssumeRole }}",
        parameters: {
            AutomationAssumeRole: { type: "String", description: "Role the automation runs as.", default: o.serviceRoleArn, allowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$" },
            KeepImages: { type: "Integer", description: "Images to keep per instance.", default: o.keepImages },
            NoReboot: { type: "Boolean", description: "Image without rebooting (faster; the file system may be inconsistent).", default: o.noReboot },
        },
        mainSteps: [
            {
                name: "ImageTaggedInstances",
                action: "aws:executeScript",
                timeoutSeconds: 600,
                inputs: {
                    Runtime: "python3.11",
                    Handler: "handler",
                    Script: IMAGING_SCRIPT,
                    InputPayload: { Stack: o.stack, TagKey: o.tag.key, TagValue: o.tag.value, CreatedBy: IMAGED_BY, Keep: "{{ KeepImages }}", NoReboot: "{{ NoReboot }}" },
                },
                outputs: [{ Name: "Created", Selector: "$.Payload.Created", Type: "StringList" }],
                isEnd: true,
            },
        ],
        outputs: ["ImageTaggedInstances.Created"],
    };
}

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

const DOCUMENT_NAME = /^[A-Za-z0-9_.-]{3,128}$/;

/** The names the factory gives its SSM documents and associations (config/names.ts checks them against AWS's limits). */
export function amiFactoryNames(stack: string) {
    return {
        documents: { bakePrepare: `${stack}-web-bake-prepare`, bake: `${stack}-web-bake-ami`, imaging: `${stack}-instance-imaging` },
        associations: { bake: `${stack}-ami-bake`, imaging: `${stack}-instance-imaging` },
    };
}

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
        const cfg = args.config;
        const tags = args.tags ?? {};
        const problems: string[] = [];
        if (!DOCUMENT_NAME.test(`${args.stack}-web-bake-ami`)) problems.push(`stack "${args.stack}" must consist of letters, digits, '_', '.', '-' (it is part of the SSM document names)`);
        if (args.architecture !== "arm64" && args.architecture !== "x86_64") problems.push(`architecture must be "arm64" or "x86_64", not ${JSON.stringify(args.architecture)}`);
        if (["Stack", BUILDER_TAG.key].includes(cfg.imagingTag.key)) problems.push(`config amiFactory.imagingTag.key must not be "${cfg.imagingTag.key}" (the factory uses that tag itself); pick e.g. "Imaging"`);
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
        args.bakeLogsBucket.grantWrite(args.webTier.role, this.bakeLogsPrefix, `${name}-builder`);
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
