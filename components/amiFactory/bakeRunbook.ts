/**
 * The bake: the `bake-prepare` Command document that turns a builder into a web image, and the
 * Automation runbook that launches the builder, runs it, images it, publishes the image and
 * terminates the builder on every path.
 */
import * as fs from "fs";
import * as path from "path";
import type { SsmDocumentContent, SsmStep } from "../ssmDocument";
import { backupToolPaths } from "../backupTools";
import { AppOptions, DEPLOY_SCRIPT_PATH, RELEASE_VERSION_PATTERN, ReleaseSource, appSetupLines } from "../app";
import type { InstanceRefreshPreferences } from "../webTier";
import { readStepScript, readTerminateBuilderScript, STEP_SCRIPT_PATHS } from "./stepScripts";

/** The bake-prepare script, embedded verbatim in the Command document. */
export const BAKE_PREPARE_SCRIPT_PATH = path.join(__dirname, "..", "ssm", "bake-prepare.sh");
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

