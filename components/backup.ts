import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { BackupConfig } from "../config";
import type { Grantee } from "./bucket";
import type { SsmDocumentContent, SsmParameter } from "./ssmDocument";

/** A bucket given either as a component with a `bucketName` (e.g. PrivateBucket) or as the name itself. */
export type BucketRef = pulumi.Input<string> | { readonly bucketName: pulumi.Input<string> };

export interface BackupArgs {
    /** The stack's `backup` config section: directories, excludes, schedule, rate control, timeout. Required. */
    config: BackupConfig;
    /** Stack name: the key prefix `backups/<stack>` and the log prefixes `ssm/backup|restore/<stack>`. Required. */
    stack: string;
    /**
     * The bucket snapshots go to (the stack's `backupBucket` PrivateBucket: versioning,
     * lifecycle, optional object lock and replication are its business). Required.
     */
    backupBucket: BucketRef;
    /**
     * The bucket Run Command output goes to (the stack's `logsBucket`). Required. Must be a
     * PrivateBucket (with `arn` and `grantWrite`) when `outputWriter` is given.
     */
    logsBucket: BucketRef | LogsBucket;
    /**
     * The instance role: the SSM agent uploads command output with the instance's credentials,
     * so this role gets `s3:PutObject` on the two output prefixes (and
     * `s3:GetEncryptionConfiguration`, which the agent checks before uploading). Default none:
     * the caller grants it, or output is lost (the commands still run).
     */
    outputWriter?: Grantee;
    /** Instances carrying this tag get the scheduled backup (config `webTier.backupTag`). Required. */
    backupTag: { key: string; value: string };
    /** Extra tags on the documents and the association. Default none. */
    tags?: Record<string, string>;
}

/** What granting output uploads needs of the logs bucket (PrivateBucket has it). */
export interface LogsBucket {
    readonly bucketName: pulumi.Input<string>;
    readonly arn: pulumi.Input<string>;
    grantWrite(grantee: Grantee, prefix?: string): unknown;
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
export const SCRIPT_DIR = path.join(__dirname, "ssm");
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
    /** `latest` or a snapshot id as backup.sh writes it: UTC start time `YYYYMMDDTHHMMSS.mmmZ`. */
    snapshot: "^(latest|[0-9]{8}T[0-9]{6}\\.[0-9]{3}Z)$",
} as const;

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
    /** Key prefix of every snapshot: `backups/<stack>` (then `<instance-id>/<slug>/...`). */
    readonly backupPrefix: string;
    /** Key prefix in the logs bucket for the association's command output. */
    readonly backupLogPrefix: string;
    /** Key prefix in the logs bucket ad-hoc restores should use (OutputS3KeyPrefix). */
    readonly restoreLogPrefix: string;

    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:backup:Backup", name, {}, opts);

        const { config, stack } = args;
        const tags = args.tags ?? {};
        const backupPrefix = stackBackupPrefix(stack);
        this.backupPrefix = backupPrefix;
        this.backupLogPrefix = `ssm/backup/${stack}`;
        this.restoreLogPrefix = `ssm/restore/${stack}`;

        // Fail at preview, naming the config key, rather than with a document SSM rejects or
        // a default the document's own pattern would refuse.
        const problems: string[] = [];
        const must = (value: string, pattern: string, what: string) => {
            if (!new RegExp(pattern).test(value)) problems.push(`${what} = ${JSON.stringify(value)} must match ${pattern}`);
        };
        must(backupPrefix, PATTERNS.prefix, "stack name (used in the backup prefix)");
        config.directories.forEach((d, i) => must(d, PATTERNS.directory, `backup.directories[${i}]`));
        config.excludes.forEach((e, i) => must(e, PATTERNS.excludes, `backup.excludes[${i}] (a tar glob, no commas)`));
        must(String(config.fullEvery), PATTERNS.fullEvery, "backup.fullEvery");
        must(String(config.compressionLevel), PATTERNS.compressionLevel, "backup.compressionLevel");
        if (config.directories.length === 0) problems.push("backup.directories must name at least one directory");
        if (!/^[\w.:/=+@-]{1,128}$/.test(args.backupTag.key)) problems.push(`backupTag.key = ${JSON.stringify(args.backupTag.key)} is not a valid EC2 tag key`);
        if (args.backupTag.key === STACK_TAG) problems.push(`backupTag.key must not be "${STACK_TAG}": the association already selects this stack's instances by that tag`);
        const logsBucket = args.logsBucket;
        const isLogsBucket = (b: unknown): b is LogsBucket => typeof b === "object" && b !== null && "grantWrite" in b && "arn" in b;
        if (args.outputWriter && !isLogsBucket(logsBucket)) {
            problems.push("logsBucket must be a PrivateBucket (not a name) when outputWriter is given: the grant needs its ARN");
        }
        if (problems.length > 0) {
            throw new Error(`Backup "${name}": ${problems.join("; ")}`);
        }

        const backupBucketName = bucketNameOf(args.backupBucket);
        const logsBucketName = bucketNameOf(args.logsBucket);
        const backupScript = readScript("backup.sh");
        const restoreScript = readScript("restore.sh");
        const library = readScript("lib.sh");
        const defaults = {
            Directories: config.directories.join(" "),
            Excludes: config.excludes.join(","),
            FullEvery: String(config.fullEvery),
            CompressionLevel: String(config.compressionLevel),
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
                // No run on every `pulumi up` that touches the association: only on the schedule.
                // AWS rejects the flag with rate() expressions.
                applyOnlyAtCronInterval: config.schedule.startsWith("cron(") ? true : undefined,
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

        if (args.outputWriter && isLogsBucket(logsBucket)) {
            logsBucket.grantWrite(args.outputWriter, `${this.backupLogPrefix}/`);
            logsBucket.grantWrite(args.outputWriter, `${this.restoreLogPrefix}/`);
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
        });
    }
}

/** The backup association's name (config/names.ts checks it against AWS's limits). */
export function backupAssociationName(stack: string): string {
    return `platform-${stack}-backup`;
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

function bucketNameOf(ref: BucketRef): pulumi.Input<string> {
    return typeof ref === "object" && ref !== null && "bucketName" in ref ? ref.bucketName : (ref as pulumi.Input<string>);
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
                `exec bash ${dir}/backup.sh --bucket '{{ Bucket }}' --prefix '{{ Prefix }}' --full-every '{{ FullEvery }}' --level '{{ CompressionLevel }}' "$@"`,
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
