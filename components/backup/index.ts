import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BucketLike, Grantee, PolicyDocument } from "../bucket";
import { serviceTrustPolicy } from "../iam";
import { associationScheduleProblem } from "../ssmSchedule";
import type { SsmDocumentContent, SsmParameter, SsmStep } from "../ssmDocument";
import { backupAssociationName, drillAssociationName } from "./names";

export { backupAssociationName, drillAssociationName } from "./names";

export { DRILL_EXIT_CODES } from "./exitCodes";

/** The restore drill: a scheduled restore of the latest backup into scratch space, verified and reported. */
export interface BackupDrillArgs {
    /** Run the drill on its schedule (the documents exist either way). @default true */
    enabled?: boolean;
    /** State Manager schedule of the drill runbook (see associationScheduleProblem); its "has not run" alarm allows twice its interval. @default "cron(30 6 * * ? *)" */
    schedule?: string;
    /** Command timeout, seconds: the whole drill of every directory of every instance (300 to 172800). @default 7200 */
    timeoutSeconds?: number;
    /** `auto`: restore when the scratch file system has room, else stream through verification; `extract` or `stream` always. @default "auto" */
    mode?: "auto" | "extract" | "stream";
    /** Free space the drill leaves to the instance's own work, bytes. @default 1 GiB */
    reserveBytes?: number;
}

/** The defaults Backup applies (exported for callers that derive from them). */
export const BACKUP_DEFAULTS = {
    directories: ["/var/www", "/etc/platform"] as readonly string[],
    excludes: ["*.tmp", "cache/*"] as readonly string[],
    /** Daily at 02:00 UTC. */
    schedule: "cron(0 2 * * ? *)",
    fullEvery: 7,
    compressionLevel: 3,
    maxConcurrency: "50%",
    maxErrors: "10%",
    timeoutSeconds: 3600,
    drill: { enabled: true, schedule: "cron(30 6 * * ? *)", timeoutSeconds: 7200, mode: "auto", reserveBytes: 1024 ** 3 } as Required<BackupDrillArgs>,
} as const;

/** Every setting of BackupArgs with its default applied. */
export interface BackupSettings {
    directories: string[];
    excludes: string[];
    schedule: string;
    fullEvery: number;
    compressionLevel: number;
    maxConcurrency: string;
    maxErrors: string;
    timeoutSeconds: number;
    drill: Required<BackupDrillArgs>;
}

/** BackupArgs' settings with BACKUP_DEFAULTS applied (pure). */
export function backupSettings(args: Partial<Omit<BackupSettings, "drill">> & { drill?: BackupDrillArgs }): BackupSettings {
    const d = BACKUP_DEFAULTS;
    const drill = Object.fromEntries(Object.entries(args.drill ?? {}).filter(([, v]) => v !== undefined)) as BackupDrillArgs;
    return {
        directories: [...(args.directories ?? d.directories)],
        excludes: [...(args.excludes ?? d.excludes)],
        schedule: args.schedule ?? d.schedule,
        fullEvery: args.fullEvery ?? d.fullEvery,
        compressionLevel: args.compressionLevel ?? d.compressionLevel,
        maxConcurrency: args.maxConcurrency ?? d.maxConcurrency,
        maxErrors: args.maxErrors ?? d.maxErrors,
        timeoutSeconds: args.timeoutSeconds ?? d.timeoutSeconds,
        drill: { ...d.drill, ...drill },
    };
}

export interface BackupArgs {
    /** Absolute directories backed up on every tagged instance (letters, digits, `._/-`). @default ["/var/www", "/etc/platform"] */
    directories?: string[];
    /** tar globs left out of every backup (no commas). @default ["*.tmp", "cache/*"] */
    excludes?: string[];
    /** State Manager schedule of the backup association (cron or rate; see associationScheduleProblem). @default "cron(0 2 * * ? *)" (daily, 02:00 UTC) */
    schedule?: string;
    /** Every Nth backup of a directory is a full one; the others are incremental. @default 7 */
    fullEvery?: number;
    /** zstd compression level (1-19). @default 3 */
    compressionLevel?: number;
    /** How many tagged instances back up at once (a number or a percentage). @default "50%" */
    maxConcurrency?: string;
    /** Failed instances after which the association stops (a number or a percentage). @default "10%" */
    maxErrors?: string;
    /** Command timeout of one backup run, seconds. @default 3600 */
    timeoutSeconds?: number;
    /** The restore drill (each field defaults on its own). @default daily at 06:30 UTC, auto mode, 1 GiB reserve, 2 h timeout */
    drill?: BackupDrillArgs;
    /** Stack name: the key prefix `backups/<stack>` and the log prefixes `ssm/backup|restore|drill/<stack>`. Required. */
    stack: string;
    /**
     * The bucket snapshots go to (versioning, lifecycle, optional object lock and replication are
     * its business). The instances need read-write under `stackBackupPrefix(stack)/`, which the
     * caller grants (the stack does, on the web tier's grantee). Required.
     */
    backupBucket: BucketLike;
    /** The bucket Run Command output goes to (`ssm/backup|restore|drill/<stack>/`). Required. */
    logsBucket: BucketLike;
    /**
     * The instance role: the SSM agent uploads command output with the instance's credentials,
     * so this grantee gets `s3:PutObject` on the output prefixes (and
     * `s3:GetEncryptionConfiguration`, which the agent checks before uploading). @default none:
     * the caller grants it, or output is lost (the commands still run)
     */
    outputWriter?: Grantee;
    /** Instances carrying this tag (and `Stack=<stack>`) get the scheduled backup. Required. */
    backupTag: { key: string; value: string };
    /**
     * The instance role the backup and the drill run with (the SSM agent uses the instance's
     * credentials): gets `cloudwatch:PutMetricData` in `metricsNamespace` only. @default none: the
     * caller grants it, or the scripts cannot publish their metrics (exit 11) and the freshness
     * alarms fire
     */
    metricsPublisher?: Grantee;
    /** CloudWatch namespace of BackupSuccess, RestoreDrillSuccess and RestoreDrillSeconds. @default "Platform/Backups" */
    metricsNamespace?: string;
    /** Extra tags on the documents and the association. @default none */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) on the one role created here, the drill
     * runbook's (IAM User Guide, "Permissions boundaries for IAM entities"): a deploy role that
     * may create roles only with a boundary (the CI bootstrap's) needs it. @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

/**
 * The key prefix of a stack's backups in the backup bucket (no trailing slash): snapshots go to
 * `<prefix>/<instance-id>/<directory slug>/`. Backup is its one owner; whoever grants the
 * instances their access to it (the stack) asks here.
 */
export function stackBackupPrefix(stack: string): string {
    return `backups/${stack}`;
}

/** Where the scripts live in this repository. */
export const SCRIPT_DIR = path.join(__dirname, "..", "ssm");
/** Where the documents write the scripts on the instance, and the heredoc terminator that embeds them. */
export const INSTANCE_SCRIPT_DIR = "/var/lib/platform-backup/_bin";
export const HEREDOC_TERMINATOR = "PLATFORM_EOF";

/**
 * Parameter patterns. Every value is substituted by SSM into shell text, so each pattern
 * admits only characters that are inert inside single quotes (no `'`, no newline); the
 * runCommand additionally single-quotes every substitution, so even an engine whose `$`
 * tolerates a trailing newline cannot break out. Stricter than the scripts, which validate again.
 */
export const PATTERNS = {
    bucket: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    prefix: "^[A-Za-z0-9/_.-]*$",
    /** One or more absolute paths separated by spaces and/or commas. */
    directories: "^/[A-Za-z0-9._/-]*([ ,]+/[A-Za-z0-9._/-]*)*$",
    directory: "^/[A-Za-z0-9._/-]*$",
    /** An absolute path or empty (= the script's default). */
    optionalPath: "^(/[A-Za-z0-9._/-]*)?$",
    /** Comma-separated tar globs, or empty. */
    excludes: "^([A-Za-z0-9._*?\\[\\]/-]+(,[A-Za-z0-9._*?\\[\\]/-]+)*)?$",
    fullEvery: "^[1-9][0-9]{0,2}$",
    compressionLevel: "^([1-9]|1[0-9])$",
    instanceId: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
    /** Live instance ids, separated by spaces or commas; empty: every instance under the prefix. */
    instanceIds: "^([A-Za-z0-9][A-Za-z0-9._-]{0,63}([ ,]+[A-Za-z0-9][A-Za-z0-9._-]{0,63})*)?$",
    /** `latest` or a snapshot id as backup.sh writes it: UTC start time `YYYYMMDDTHHMMSS.mmmZ`. */
    snapshot: "^(latest|[0-9]{8}T[0-9]{6}\\.[0-9]{3}Z)$",
    /** A stack name as the scripts accept it (the Stack dimension of the metrics). */
    stack: "^[A-Za-z0-9._-]{1,128}$",
    /** A CloudWatch namespace (PutMetricData: no ":"; the scripts also refuse the reserved AWS/), nothing shell-special. */
    metricsNamespace: "^[A-Za-z0-9._/#-]{1,255}$",
    reserveBytes: "^[0-9]{1,18}$",
} as const;

/** Where the backup and the drill publish their metrics unless told otherwise. */
export const METRICS_NAMESPACE = "Platform/Backups";

/**
 * The only CloudWatch permission the instances need: PutMetricData in one namespace.
 * PutMetricData supports no resource type, so its Resource is "*", and its one condition key is
 * `cloudwatch:namespace` ("Filters actions based on the presence of optional namespace values"):
 * Service Authorization Reference, "Actions, resources, and condition keys for Amazon CloudWatch",
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html;
 * CloudWatch User Guide, "Using condition keys to limit access to CloudWatch namespaces",
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html.
 */
export function metricsPolicyDocument(namespace: string = METRICS_NAMESPACE): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "PublishBackupMetrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": namespace } } }],
    };
}

/**
 * Scheduled, verified directory backups to S3 through SSM State Manager, and an on-demand
 * restore, with no agent or package to install: two Command documents embed
 * `components/ssm/backup.sh` and `restore.sh` verbatim (read at program time; see
 * components/ssm/README.md for their arguments and exit codes), and an association runs the
 * backup document on every instance tagged with `backupTag` on the configured schedule.
 *
 * Network: the instances need no NAT gateway for this. S3 traffic goes through the VPC's S3
 * gateway endpoint (Network), and the SSM agent reaches SSM through the interface endpoints
 * (Network `interfaceEndpoints`) or NAT when those are off.
 *
 * Permissions: the instance role needs the backup prefix (`s3:GetObject`/`PutObject`/
 * `DeleteObject` on `backups/<stack>/*`, `s3:ListBucket`) — the web tier grants that — and,
 * for command output, `s3:PutObject` on `ssm/backup/<stack>/*` and `ssm/restore/<stack>/*` of
 * the logs bucket plus `s3:GetEncryptionConfiguration` on it: granted here when `outputWriter`
 * is given.
 *
 * Ad-hoc runs (the ops CLI does this): `aws ssm send-command --document-name
 * <restoreDocumentName> --instance-ids i-... --parameters InstanceId=i-old,Directory=/var/www
 * --output-s3-bucket-name <logs bucket> --output-s3-key-prefix ssm/restore/<stack>`. Output of
 * a Run Command is not sent to S3 unless the caller asks (OutputS3BucketName), only the
 * association sets it on its own.
 */
export class Backup extends pulumi.ComponentResource {
    readonly backupDocumentName: pulumi.Output<string>;
    readonly restoreDocumentName: pulumi.Output<string>;
    readonly associationId: pulumi.Output<string>;
    /** The drill's Command document, its runbook (picks one instance) and the association scheduling it (absent with drill.enabled false). */
    readonly drillDocumentName?: pulumi.Output<string>;
    readonly drillRunbookName?: pulumi.Output<string>;
    readonly drillAssociationId?: pulumi.Output<string>;
    /** Key prefix in the logs bucket for the drill's command output. */
    readonly drillLogPrefix: string;
    /** Namespace of the backup and drill metrics. */
    readonly metricsNamespace: string;
    /** Key prefix of every snapshot: `backups/<stack>` (then `<instance-id>/<slug>/...`). */
    readonly backupPrefix: string;
    /** Key prefix in the logs bucket for the association's command output. */
    readonly backupLogPrefix: string;
    /** Key prefix in the logs bucket ad-hoc restores should use (OutputS3KeyPrefix). */
    readonly restoreLogPrefix: string;
    /** The settings in effect (the Args with their defaults applied). */
    readonly settings: BackupSettings;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:backup:Backup", name, {}, opts);

        const config = backupSettings(args);
        const stack = args.stack;
        this.settings = config;
        const tags = args.tags ?? {};
        const backupPrefix = stackBackupPrefix(stack);
        this.backupPrefix = backupPrefix;
        this.backupLogPrefix = `ssm/backup/${stack}`;
        this.restoreLogPrefix = `ssm/restore/${stack}`;
        this.drillLogPrefix = `ssm/drill/${stack}`;
        const namespace = args.metricsNamespace ?? METRICS_NAMESPACE;
        this.metricsNamespace = namespace;

        // Fail at preview, naming the config key, rather than with a document SSM rejects or
        // a default the document's own pattern would refuse.
        const problems: string[] = [];
        const must = (value: string, pattern: string, what: string) => {
            if (!new RegExp(pattern).test(value)) problems.push(`${what} = ${JSON.stringify(value)} must match ${pattern}`);
        };
        must(backupPrefix, PATTERNS.prefix, "stack name (used in the backup prefix)");
        config.directories.forEach((d, i) => must(d, PATTERNS.directory, `directories[${i}]`));
        config.excludes.forEach((e, i) => must(e, PATTERNS.excludes, `excludes[${i}] (a tar glob, no commas)`));
        must(String(config.fullEvery), PATTERNS.fullEvery, "fullEvery");
        must(String(config.compressionLevel), PATTERNS.compressionLevel, "compressionLevel");
        must(stack, PATTERNS.stack, "stack name");
        must(namespace, PATTERNS.metricsNamespace, "metricsNamespace");
        if (namespace.startsWith("AWS/")) problems.push(`metricsNamespace = ${JSON.stringify(namespace)}: the AWS/ prefix is reserved for AWS services`);
        must(String(config.drill.reserveBytes), PATTERNS.reserveBytes, "drill.reserveBytes");
        if (config.directories.length === 0) problems.push("directories must name at least one directory");
        for (const [key, expression, enabled] of [["schedule", config.schedule, true], ["drill.schedule", config.drill.schedule, config.drill.enabled]] as const) {
            const problem = enabled ? associationScheduleProblem(expression) : undefined;
            if (problem) problems.push(`${key} = ${JSON.stringify(expression)}: ${problem}`);
        }
        if (!/^[\w.:/=+@-]{1,128}$/.test(args.backupTag.key)) problems.push(`backupTag.key = ${JSON.stringify(args.backupTag.key)} is not a valid EC2 tag key`);
        if (args.backupTag.key === STACK_TAG) problems.push(`backupTag.key must not be "${STACK_TAG}": the association already selects this stack's instances by that tag`);
        const logsBucket = args.logsBucket;
        if (problems.length > 0) {
            throw new Error(`Backup "${name}": ${problems.join("; ")}`);
        }

        const backupBucketName = args.backupBucket.bucketName;
        const logsBucketName = args.logsBucket.bucketName;
        const backupScript = readScript("backup.sh");
        const restoreScript = readScript("restore.sh");
        const library = readScript("lib.sh");
        const defaults = {
            Directories: config.directories.join(" "),
            Excludes: config.excludes.join(","),
            FullEvery: String(config.fullEvery),
            CompressionLevel: String(config.compressionLevel),
            Stack: stack,
            MetricsNamespace: namespace,
        };

        const backupDocument = new aws.ssm.Document(
            `${name}-backup`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.jsonStringify(pulumi.output(backupBucketName).apply((bucket) => backupDocumentContent({ script: backupScript, library, bucket, prefix: backupPrefix, timeoutSeconds: config.timeoutSeconds, ...defaults }))),
                tags,
            },
            { parent: this },
        );
        const restoreDocument = new aws.ssm.Document(
            `${name}-restore`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.jsonStringify(pulumi.output(backupBucketName).apply((bucket) => restoreDocumentContent({ script: restoreScript, library, bucket, prefix: backupPrefix, timeoutSeconds: config.timeoutSeconds }))),
                tags,
            },
            { parent: this },
        );

        const association = new aws.ssm.Association(
            `${name}-schedule`,
            {
                associationName: backupAssociationName(stack),
                name: backupDocument.name,
                // Pinned, so a script change shows up as an association update in the diff.
                documentVersion: backupDocument.latestVersion,
                scheduleExpression: config.schedule,
                // Runs at creation, on each instance as it joins the targets (a new stack, an Auto
                // Scaling replacement) and after an update (a new backup.sh), then on the schedule:
                // "By default, when you create a new association, the system runs it immediately after
                // it is created and then according to the schedule you specified and when target
                // changes are detected" (AWS Systems Manager API Reference, CreateAssociation,
                // ApplyOnlyAtCronInterval, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html).
                // So a new stack's backup-stale alarms see a first backup minutes after `pulumi up`,
                // not up to a day later, and a replacement instance is not left unprotected until
                // the next night. (A backup is idempotent and incremental: an extra run costs one
                // small archive.) The drill association keeps ApplyOnlyAtCronInterval: at creation
                // there is nothing to restore yet. With rate() the flag is refused, and false is
                // the default: left unset.
                applyOnlyAtCronInterval: config.schedule.startsWith("cron(") ? false : undefined,
                // Tag targets are ANDed: the backup tag alone would also select every other stack's
                // instances in the account (dev and prod share one), so the Stack tag (on every
                // instance through the launch template / instance tags) narrows it to this stack.
                targets: backupTargets(stack, args.backupTag),
                maxConcurrency: config.maxConcurrency,
                maxErrors: config.maxErrors,
                complianceSeverity: "HIGH",
                // A failed backup marks the instance non-compliant in State Manager / Config.
                syncCompliance: "AUTO",
                outputLocation: { s3BucketName: logsBucketName, s3KeyPrefix: this.backupLogPrefix },
                parameters: {
                    Bucket: backupBucketName,
                    Prefix: backupPrefix,
                    ...defaults,
                    FailOnChange: "false",
                },
                tags,
            },
            { parent: this },
        );

        if (config.drill.enabled) {
            const drill = this.createDrill(name, args, backupBucketName, logsBucketName, library, restoreScript, namespace);
            this.drillDocumentName = drill.documentName;
            this.drillRunbookName = drill.runbookName;
            this.drillAssociationId = drill.associationId;
        }

        if (args.metricsPublisher) {
            new aws.iam.RolePolicy(`${name}-metrics`, { role: args.metricsPublisher.role.id, policy: JSON.stringify(metricsPolicyDocument(namespace)) }, { parent: this });
        }

        if (args.outputWriter) {
            logsBucket.grantWrite(args.outputWriter, `${this.backupLogPrefix}/`);
            logsBucket.grantWrite(args.outputWriter, `${this.restoreLogPrefix}/`);
            if (config.drill.enabled) logsBucket.grantWrite(args.outputWriter, `${this.drillLogPrefix}/`);
            new aws.iam.RolePolicy(
                `${name}-output-encryption`,
                {
                    role: args.outputWriter.role.id,
                    policy: pulumi.jsonStringify({
                        Version: "2012-10-17",
                        Statement: [{ Sid: "OutputBucketEncryption", Effect: "Allow", Action: "s3:GetEncryptionConfiguration", Resource: logsBucket.arn }],
                    }),
                },
                { parent: this },
            );
        }

        this.backupDocumentName = backupDocument.name;
        this.restoreDocumentName = restoreDocument.name;
        this.associationId = association.associationId;
        this.registerOutputs({
            backupDocumentName: this.backupDocumentName,
            restoreDocumentName: this.restoreDocumentName,
            associationId: this.associationId,
            backupPrefix,
            drillDocumentName: this.drillDocumentName,
            drillRunbookName: this.drillRunbookName,
            drillAssociationId: this.drillAssociationId,
            metricsNamespace: namespace,
        });
    }

    /**
     * The restore drill: a Command document (drill.sh with the restore.sh it runs and lib.sh), a
     * runbook that picks ONE online instance of this stack and runs the document on it, the role
     * the runbook runs as, and the association that starts the runbook on the drill schedule.
     *
     * Why a runbook: State Manager cannot target "one of the tagged instances". Tag targets run the
     * document on every match (MaxConcurrency only limits how many at once), so each web instance
     * would drill every directory of every instance, N times the work and N results; and a lock to
     * let only the first one work would need a conditional write the instances' CLI does not have,
     * while the others would still report success for a drill they skipped. The runbook instead
     * waits for an online instance carrying this stack's tags (DescribeInstanceInformation with the
     * Stack and backup tag filters; PingStatus Online judged by its Python step, since the API
     * takes no other filter with tag filters), takes the lowest id, and runs the drill there
     * once; its failure fails the execution (the automation-failed alert) and the command (the
     * command-failed alert).
     */
    private createDrill(
        name: string,
        args: BackupArgs,
        backupBucketName: pulumi.Input<string>,
        logsBucketName: pulumi.Input<string>,
        library: string,
        restoreScript: string,
        namespace: string,
    ): { documentName: pulumi.Output<string>; runbookName: pulumi.Output<string>; associationId: pulumi.Output<string> } {
        const config = this.settings;
        const stack = args.stack;
        const tags = args.tags ?? {};
        const drillScript = readScript("drill.sh");
        const document = new aws.ssm.Document(
            `${name}-drill`,
            {
                documentType: "Command",
                documentFormat: "JSON",
                targetType: "/AWS::EC2::Instance",
                content: pulumi.jsonStringify(
                    pulumi.output(backupBucketName).apply((bucket) =>
                        drillDocumentContent({
                            script: drillScript,
                            restoreScript,
                            library,
                            bucket,
                            prefix: this.backupPrefix,
                            stack,
                            namespace,
                            directories: config.directories,
                            mode: config.drill.mode,
                            reserveBytes: config.drill.reserveBytes,
                            timeoutSeconds: config.drill.timeoutSeconds,
                        }),
                    ),
                ),
                tags,
            },
            { parent: this },
        );
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const role = new aws.iam.Role(
            `${name}-drill-automation`,
            {
                description: `SSM Automation: runs the ${stack} restore drill on one instance`,
                // Only Automation executions of this account and region may assume it (confused deputy).
                assumeRolePolicy: serviceTrustPolicy("ssm.amazonaws.com", { sourceAccount: account, sourceArn: pulumi.interpolate`arn:${partition}:ssm:${region}:${account}:automation-execution/*` }),
                permissionsBoundary: args.permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        const rolePolicy = new aws.iam.RolePolicy(
            `${name}-drill-automation`,
            {
                role: role.id,
                policy: pulumi
                    .all([partition, region, account, document.name, logsBucketName])
                    .apply(([p, r, a, documentName, logs]) =>
                        JSON.stringify(drillAutomationPolicy({ partition: p, region: r, account: a, stack, backupTag: args.backupTag, drillDocumentName: documentName, logsBucketName: logs })),
                    ),
            },
            { parent: this },
        );
        const runbook = new aws.ssm.Document(
            `${name}-drill-runbook`,
            {
                documentType: "Automation",
                documentFormat: "JSON",
                content: pulumi
                    .all([role.arn, document.name, logsBucketName])
                    .apply(([serviceRoleArn, documentName, logs]) =>
                        JSON.stringify(
                            drillRunbookContent({ stack, serviceRoleArn, drillDocumentName: documentName, backupTag: args.backupTag, logsBucketName: logs, logPrefix: this.drillLogPrefix, timeoutSeconds: config.drill.timeoutSeconds }),
                            null,
                            2,
                        ),
                    ),
                tags,
            },
            { parent: this },
        );
        const schedule = config.drill.schedule;
        const association = new aws.ssm.Association(
            `${name}-drill-schedule`,
            {
                associationName: drillAssociationName(stack),
                name: runbook.name,
                documentVersion: runbook.latestVersion,
                scheduleExpression: schedule,
                // Only on the schedule: run at creation it would find no snapshot (the backups start
                // with the instances) and fail. After the first deploy, `npm run ops -- drill`
                // (README, "The first week") gives the drill alarms their first result.
                applyOnlyAtCronInterval: schedule.startsWith("cron(") ? true : undefined,
                parameters: { AutomationAssumeRole: role.arn },
                tags,
            },
            // The first scheduled run must find the role's permissions in place.
            { parent: this, dependsOn: [rolePolicy] },
        );
        return { documentName: document.name, runbookName: runbook.name, associationId: association.associationId };
    }
}

/** The tag every instance of a stack carries (the provider's default tags and the web tier's launch tags). */
export const STACK_TAG = "Stack";

/**
 * The association's targets: the backup tag AND this stack's tag. State Manager joins several
 * tag targets with AND ("Targets" in the CreateAssociation API reference; "Understanding
 * targets and rate controls in State Manager associations").
 */
export function backupTargets(stack: string, backupTag: { key: string; value: string }): Array<{ key: string; values: string[] }> {
    return [
        { key: `tag:${backupTag.key}`, values: [backupTag.value] },
        { key: `tag:${STACK_TAG}`, values: [stack] },
    ];
}


/** Reads a script and proves the quoted heredoc reproduces it byte for byte. */
export function readScript(file: string): string {
    const text = fs.readFileSync(path.join(SCRIPT_DIR, file), "utf8");
    const lines = text.split("\n");
    if (!text.endsWith("\n")) {
        throw new Error(`components/ssm/${file} must end with a newline (a heredoc always ends with one, so the copy on the instance would differ)`);
    }
    if (lines.includes(HEREDOC_TERMINATOR)) {
        throw new Error(`components/ssm/${file} contains the line ${HEREDOC_TERMINATOR}, which would end the heredoc that embeds it; rename the terminator`);
    }
    if (text.includes("{{")) {
        throw new Error(`components/ssm/${file} contains "{{", which SSM would treat as a parameter reference; write it differently`);
    }
    return text;
}

/**
 * The shell lines that install each file as `<scriptDir>/<file>`, in order (the shared
 * library before the script that sources it). Each is written to a temp file and renamed: a
 * backup still running from the previous schedule keeps reading its own copy (bash reads a
 * script as it goes, rewriting it in place would corrupt that run). `_bin` is never a
 * backup.sh slug (`_` is always followed by two hex digits there), so the scripts cannot
 * collide with the per-directory state kept next to them.
 */
function installLines(scriptDir: string, files: Array<{ file: string; text: string }>): string[] {
    const lines = [
        "set -eu",
        `mkdir -p -m 0700 ${path.posix.dirname(scriptDir)} ${scriptDir}`,
        'tmp=""',
        // Not run after a successful exec (and by then every temp file has been renamed).
        `trap 'rm -f "$tmp"' EXIT`,
    ];
    for (const { file, text } of files) {
        const target = `${scriptDir}/${file}`;
        lines.push(`tmp=$(mktemp ${target}.XXXXXX)`, `cat > "$tmp" <<'${HEREDOC_TERMINATOR}'`, ...text.slice(0, -1).split("\n"), HEREDOC_TERMINATOR, `mv -f "$tmp" ${target}`);
    }
    return lines;
}

function param(type: string, description: string, constraint: { allowedPattern: string } | { allowedValues: string[] }, defaultValue?: string): SsmParameter {
    return { type, description, ...(defaultValue === undefined ? {} : { default: defaultValue }), ...constraint };
}

function runShellScriptStep(stepName: string, timeoutSeconds: number, runCommand: string[]) {
    return {
        action: "aws:runShellScript",
        name: stepName,
        // The agent knows only `platformType` here; any other operand fails the step.
        precondition: { StringEquals: ["platformType", "Linux"] },
        inputs: { timeoutSeconds, runCommand },
    };
}

export interface BackupDocumentOptions {
    /** The script text (readScript("backup.sh")). */
    script: string;
    /** The helpers it sources (readScript("lib.sh")), installed beside it. */
    library: string;
    /** Where the instance keeps the scripts. Default INSTANCE_SCRIPT_DIR (tests point it elsewhere). */
    scriptDir?: string;
    bucket: string;
    prefix: string;
    timeoutSeconds: number;
    Directories: string;
    Excludes: string;
    FullEvery: string;
    CompressionLevel: string;
    /** The Stack dimension of the BackupSuccess metric. */
    Stack: string;
    MetricsNamespace: string;
}

/** The backup Command document (pure: exported for tests and the ops CLI). */
export function backupDocumentContent(o: BackupDocumentOptions): SsmDocumentContent {
    const dir = o.scriptDir ?? INSTANCE_SCRIPT_DIR;
    return {
        schemaVersion: "2.2",
        description: "platform: back up directories to S3 as verified tar|zstd snapshots with incremental chains (components/ssm/backup.sh). Exit codes: see components/ssm/README.md.",
        parameters: {
            Bucket: param("String", "S3 bucket for the snapshots.", { allowedPattern: PATTERNS.bucket }, o.bucket),
            Prefix: param("String", "Key prefix; snapshots go to <Prefix>/<instance-id>/<slug>/.", { allowedPattern: PATTERNS.prefix }, o.prefix),
            Directories: param("String", "Absolute paths to back up, separated by spaces or commas.", { allowedPattern: PATTERNS.directories }, o.Directories),
            Excludes: param("String", "Comma-separated GNU tar --exclude globs (may be empty).", { allowedPattern: PATTERNS.excludes }, o.Excludes),
            FullEvery: param("String", "A full backup every N runs, incrementals in between.", { allowedPattern: PATTERNS.fullEvery }, o.FullEvery),
            CompressionLevel: param("String", "zstd level 1-19.", { allowedPattern: PATTERNS.compressionLevel }, o.CompressionLevel),
            FailOnChange: param("String", "true: exit 10 (failed) when files changed while being read; false: succeed with warnings.", { allowedValues: ["false", "true"] }, "false"),
            Stack: param("String", "The Stack dimension of the BackupSuccess metric each committed snapshot publishes.", { allowedPattern: PATTERNS.stack }, o.Stack),
            MetricsNamespace: param("String", "CloudWatch namespace of that metric.", { allowedPattern: PATTERNS.metricsNamespace }, o.MetricsNamespace),
        },
        mainSteps: [
            runShellScriptStep("backup", o.timeoutSeconds, [
                ...installLines(dir, [{ file: "lib.sh", text: o.library }, { file: "backup.sh", text: o.script }]),
                // Values are assigned in single quotes (the patterns exclude quotes), then split
                // with globbing off: the exclude globs must reach tar, not the shell.
                "excludes='{{ Excludes }}'",
                "directories='{{ Directories }}'",
                "set -f",
                "set --",
                "IFS=','",
                'for pattern in $excludes; do set -- "$@" --exclude "$pattern"; done',
                "if [ '{{ FailOnChange }}' = true ]; then set -- \"$@\" --fail-on-change; fi",
                'set -- "$@" --',
                "IFS=' ,'",
                'for dir in $directories; do set -- "$@" "$dir"; done',
                `exec bash ${dir}/backup.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --full-every '{{ FullEvery }}' --level '{{ CompressionLevel }}' --stack '{{ Stack }}' --metrics-namespace '{{ MetricsNamespace }}' "$@"`,
            ]),
        ],
    };
}

export interface RestoreDocumentOptions {
    /** The script text (readScript("restore.sh")). */
    script: string;
    /** The helpers it sources (readScript("lib.sh")), installed beside it. */
    library: string;
    /** Where the instance keeps the scripts. Default INSTANCE_SCRIPT_DIR. */
    scriptDir?: string;
    bucket: string;
    prefix: string;
    timeoutSeconds: number;
}

/** The restore Command document (pure: exported for tests and the ops CLI). */
export function restoreDocumentContent(o: RestoreDocumentOptions): SsmDocumentContent {
    const dir = o.scriptDir ?? INSTANCE_SCRIPT_DIR;
    return {
        schemaVersion: "2.2",
        description: "platform: restore one directory from a backup snapshot (components/ssm/restore.sh). The target becomes an exact copy of the snapshot: files not in it are DELETED. Exit codes: see components/ssm/README.md.",
        parameters: {
            Bucket: param("String", "S3 bucket holding the snapshots.", { allowedPattern: PATTERNS.bucket }, o.bucket),
            Prefix: param("String", "Key prefix the backup used.", { allowedPattern: PATTERNS.prefix }, o.prefix),
            InstanceId: param("String", "Instance whose backup to restore (it may be gone: the instance id in the key, not the target).", { allowedPattern: PATTERNS.instanceId }),
            Directory: param("String", "The directory as it was backed up, e.g. /var/www.", { allowedPattern: PATTERNS.directory }),
            Snapshot: param("String", "Snapshot id (YYYYMMDDTHHMMSS.mmmZ) or latest.", { allowedPattern: PATTERNS.snapshot }, "latest"),
            Target: param("String", "Where to restore; empty: Directory itself. Everything in it not in the snapshot is deleted.", { allowedPattern: PATTERNS.optionalPath }, ""),
            WorkDir: param("String", "Staging directory for the downloaded archives; empty: the target's parent.", { allowedPattern: PATTERNS.optionalPath }, ""),
        },
        mainSteps: [
            runShellScriptStep("restore", o.timeoutSeconds, [
                ...installLines(dir, [{ file: "lib.sh", text: o.library }, { file: "restore.sh", text: o.script }]),
                "set --",
                "target='{{ Target }}'",
                "work_dir='{{ WorkDir }}'",
                'if [ -n "$target" ]; then set -- "$@" --target "$target"; fi',
                'if [ -n "$work_dir" ]; then set -- "$@" --work-dir "$work_dir"; fi',
                `exec bash ${dir}/restore.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --instance-id '{{ InstanceId }}' --directory '{{ Directory }}' --snapshot '{{ Snapshot }}' "$@"`,
            ]),
        ],
    };
}

export interface DrillDocumentOptions {
    /** readScript("drill.sh"), readScript("restore.sh") (the drill runs it) and readScript("lib.sh"). */
    script: string;
    restoreScript: string;
    library: string;
    /** Where the instance keeps the scripts. Default INSTANCE_SCRIPT_DIR. */
    scriptDir?: string;
    bucket: string;
    prefix: string;
    stack: string;
    namespace: string;
    /** The directories the stack backs up: each must have a snapshot (drill.sh --expect). */
    directories: string[];
    mode: "auto" | "extract" | "stream";
    reserveBytes: number;
    timeoutSeconds: number;
}

/** The drill Command document (pure: exported for tests and the ops CLI). */
export function drillDocumentContent(o: DrillDocumentOptions): SsmDocumentContent {
    const dir = o.scriptDir ?? INSTANCE_SCRIPT_DIR;
    return {
        schemaVersion: "2.2",
        description:
            "platform: restore drill (components/ssm/drill.sh): restores the latest snapshot of every backed-up directory of every instance under Prefix into a scratch directory (or streams it through verification when there is no room), checks it against the manifests, removes it, publishes RestoreDrillSuccess and RestoreDrillSeconds. Exit codes: see components/ssm/README.md.",
        parameters: {
            Bucket: param("String", "S3 bucket holding the snapshots.", { allowedPattern: PATTERNS.bucket }, o.bucket),
            Prefix: param("String", "The stack's backup prefix: every <Prefix>/<instance>/<slug>/latest is drilled.", { allowedPattern: PATTERNS.prefix }, o.prefix),
            Stack: param("String", "The Stack dimension of the metrics.", { allowedPattern: PATTERNS.stack }, o.stack),
            MetricsNamespace: param("String", "CloudWatch namespace of the metrics.", { allowedPattern: PATTERNS.metricsNamespace }, o.namespace),
            Directories: param("String", "The directories the stack backs up (spaces or commas): one without a snapshot fails the drill.", { allowedPattern: PATTERNS.directories }, o.directories.join(" ")),
            Instances: param(
                "String",
                "The stack's live instances (spaces or commas; the runbook and ops pass them): only their backups are drilled. A terminated instance's chain expires under the lifecycle rules and is not the fleet's restore proof. Empty: every instance under Prefix.",
                { allowedPattern: PATTERNS.instanceIds },
                "",
            ),
            Mode: param("String", "auto: restore when the scratch file system has room, else stream through verification; extract; stream.", { allowedValues: ["auto", "extract", "stream"] }, o.mode),
            ScratchDir: param("String", "Where restores go; empty: /var/lib/platform-backup/_drill.", { allowedPattern: PATTERNS.optionalPath }, ""),
            ReserveBytes: param("String", "Free space the drill leaves to the instance (bytes).", { allowedPattern: PATTERNS.reserveBytes }, String(o.reserveBytes)),
        },
        mainSteps: [
            runShellScriptStep("drill", o.timeoutSeconds, [
                ...installLines(dir, [
                    { file: "lib.sh", text: o.library },
                    { file: "restore.sh", text: o.restoreScript },
                    { file: "drill.sh", text: o.script },
                ]),
                "directories='{{ Directories }}'",
                "instances='{{ Instances }}'",
                "scratch='{{ ScratchDir }}'",
                "set -f",
                "set --",
                "IFS=' ,'",
                'for dir in $directories; do set -- "$@" --expect "$dir"; done',
                'for id in $instances; do set -- "$@" --instance "$id"; done',
                'if [ -n "$scratch" ]; then set -- "$@" --scratch-dir "$scratch"; fi',
                `exec bash ${dir}/drill.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --stack '{{ Stack }}' --metrics-namespace '{{ MetricsNamespace }}' --mode '{{ Mode }}' --reserve-bytes '{{ ReserveBytes }}' "$@"`,
            ]),
        ],
    };
}

/**
 * DescribeInstanceInformation filters for the instances a drill may run on: this stack's
 * backed-up instances. Tags only: the API refuses a tag filter combined with another filter type
 * ("Tag filters can't be combined with other filter types": AWS Systems Manager API Reference,
 * DescribeInstanceInformation, https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html),
 * so PingStatus is judged by the step that reads the answer (pick_drill_instance.py).
 */
export function drillInstanceFilters(stack: string, backupTag: { key: string; value: string }): Array<{ Key: string; Values: string[] }> {
    return [
        { Key: `tag:${STACK_TAG}`, Values: [stack] },
        { Key: `tag:${backupTag.key}`, Values: [backupTag.value] },
    ];
}

/** The drill runbook's Python steps (aws:executeScript handlers): run by tests/drillRunbook.test.ts, embedded byte for byte. */
export const DRILL_STEP_SCRIPT_PATHS = { pickInstance: path.join(__dirname, "steps", "pick_drill_instance.py") } as const;

function readDrillStep(file: string): string {
    const text = fs.readFileSync(file, "utf8");
    // SSM substitutes `{{ ... }}` in every string of a document, the Script input included.
    if (text.includes("{{")) throw new Error(`${path.basename(file)} must not contain '{{' (SSM would treat it as a parameter reference)`);
    return text;
}

/**
 * How long PickInstance waits for an online instance: aws:executeScript runs at most 600 seconds
 * ("Systems Manager Automation actions reference", aws:executeScript, timeoutSeconds,
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-executeScript.html),
 * so the wait ends in time for the step's own error to be the execution's reason.
 */
export const DRILL_PICK_WAIT_SECONDS = 540;

export interface DrillRunbookOptions {
    stack: string;
    serviceRoleArn: string;
    drillDocumentName: string;
    backupTag: { key: string; value: string };
    logsBucketName: string;
    logPrefix: string;
    timeoutSeconds: number;
}

/**
 * The drill runbook: wait (up to DRILL_PICK_WAIT_SECONDS: an instance being replaced at that
 * moment) for an online instance of the stack, take the lowest id, run the drill document on it
 * with every instance the same listing returned (DescribeInstanceInformation lists no stopped or
 * terminated instance: AWS Systems Manager API Reference, DescribeInstanceInformation,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html),
 * so the drill covers every live instance's directories and no dead instance's. Schema 0.3.
 */
export function drillRunbookContent(o: DrillRunbookOptions): SsmDocumentContent {
    const filters = drillInstanceFilters(o.stack, o.backupTag);
    const mainSteps: SsmStep[] = [
        {
            name: "PickInstance",
            action: "aws:executeScript",
            timeoutSeconds: 600,
            onFailure: "Abort",
            inputs: {
                Runtime: "python3.11",
                Handler: "handler",
                Script: readDrillStep(DRILL_STEP_SCRIPT_PATHS.pickInstance),
                InputPayload: { Filters: filters, WaitSeconds: DRILL_PICK_WAIT_SECONDS, PollSeconds: 30 },
            },
            outputs: [
                { Name: "InstanceId", Selector: "$.Payload.InstanceId", Type: "String" },
                { Name: "LiveInstances", Selector: "$.Payload.LiveInstances", Type: "String" },
            ],
            nextStep: "RunDrill",
        },
        {
            name: "RunDrill",
            action: "aws:runCommand",
            timeoutSeconds: o.timeoutSeconds + 300,
            onFailure: "Abort",
            inputs: {
                DocumentName: o.drillDocumentName,
                InstanceIds: ["{{ PickInstance.InstanceId }}"],
                // Only the live instances' backups are drilled (drill.sh --instance).
                Parameters: { Instances: "{{ PickInstance.LiveInstances }}" },
                OutputS3BucketName: o.logsBucketName,
                OutputS3KeyPrefix: o.logPrefix,
                TimeoutSeconds: o.timeoutSeconds,
                Comment: "restore drill {{ automation:EXECUTION_ID }}",
            },
            isEnd: true,
        },
    ];
    return {
        schemaVersion: "0.3",
        description: `Restore drill of the ${o.stack} backups: runs the drill document on one online instance of the stack (tags ${STACK_TAG}=${o.stack} and ${o.backupTag.key}=${o.backupTag.value}).`,
        assumeRole: "{{ AutomationAssumeRole }}",
        parameters: {
            AutomationAssumeRole: { type: "String", description: "Role the automation runs as.", default: o.serviceRoleArn, allowedPattern: "^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$" },
        },
        mainSteps,
        outputs: ["PickInstance.InstanceId", "RunDrill.Status"],
    };
}

/**
 * What the drill runbook's role may do: find the instances (DescribeInstanceInformation supports
 * no resource type: "*"), send the drill document and nothing else, only to this stack's
 * backed-up instances (SendCommand is authorized on the document, on the instance, which the
 * `ssm:resourceTag/<key>` condition narrows, and on the output bucket, an optional resource type of
 * SendCommand that a request with OutputS3BucketName names), and follow the command it sent (ListCommands and
 * ListCommandInvocations, also on "*" only): Service Authorization Reference, "Actions, resources,
 * and condition keys for AWS Systems Manager",
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html.
 */
export function drillAutomationPolicy(o: {
    partition: string;
    region: string;
    account: string;
    stack: string;
    backupTag: { key: string; value: string };
    drillDocumentName: string;
    logsBucketName: string;
}): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "FindAndFollow", Effect: "Allow", Action: ["ssm:DescribeInstanceInformation", "ssm:ListCommands", "ssm:ListCommandInvocations"], Resource: "*" },
            {
                Sid: "SendDrillDocument",
                Effect: "Allow",
                Action: "ssm:SendCommand",
                Resource: [`arn:${o.partition}:ssm:${o.region}:${o.account}:document/${o.drillDocumentName}`, `arn:${o.partition}:s3:::${o.logsBucketName}`],
            },
            {
                Sid: "SendToThisStacksInstances",
                Effect: "Allow",
                Action: "ssm:SendCommand",
                Resource: `arn:${o.partition}:ec2:${o.region}:${o.account}:instance/*`,
                Condition: { StringEquals: { [`ssm:resourceTag/${STACK_TAG}`]: o.stack, [`ssm:resourceTag/${o.backupTag.key}`]: o.backupTag.value } },
            },
        ],
    };
}

/**
 * A directory as the scripts name it after lib.sh norm_path ("//", "/./" and a trailing "/"
 * removed): the Directory dimension backup.sh and drill.sh publish, so what the alarms watch.
 */
export function normalizeBackupPath(p: string): string {
    const parts = p.split("/").filter((c) => c !== "" && c !== ".");
    return `/${parts.join("/")}`;
}

/** backup.sh's slug of an absolute path (components/ssm/lib.sh slugify, after norm_path): the alarm names use it. */
export function pathToSlug(p: string): string {
    const rest = normalizeBackupPath(p).replace(/^\//, "");
    if (rest === "") return "-";
    let out = "";
    for (const byte of Buffer.from(rest, "utf8")) {
        const c = String.fromCharCode(byte);
        if (byte === 0x2f) out += "-";
        else if (/^[A-Za-z0-9.]$/.test(c)) out += c;
        else out += `_${byte.toString(16).padStart(2, "0")}`;
    }
    return out;
}
