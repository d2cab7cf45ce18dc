import { z } from "zod";
import { freshnessWindow } from "../components/freshness";
import { absolutePath, associationSchedule, checks, Finding, section } from "./types";

const region = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "must be an AWS region such as us-west-2");

const objectLock = z
    .object({
        enabled: z.boolean(),
        /** GOVERNANCE lets privileged users lift a retention; COMPLIANCE lets no one, not even root. */
        mode: z.enum(["GOVERNANCE", "COMPLIANCE"]),
        days: z.number().int().min(1).max(36500),
    })
    .strict();

/** Settings shared by every PrivateBucket the stack makes. */
const bucketsSchema = z
    .object({
        /** `s3` for SSE-S3 (AES256), `kms` for SSE-KMS with a key the stack creates (or kmsKeyArn). */
        encryption: z.enum(["s3", "kms"]),
        /** Existing KMS key for SSE-KMS; the stack creates one when encryption is `kms` and this is absent. */
        kmsKeyArn: z.string().regex(/^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, "must be a KMS key ARN").optional(),
        /**
         * Deny uploads that ask for another server-side encryption than the buckets' (another
         * algorithm, or a customer-provided key); uploads naming none get the default encryption.
         */
        denyUnencryptedUploads: z.boolean(),
        /** Expire noncurrent object versions after N days. */
        noncurrentVersionExpirationDays: z.number().int().min(1).max(36500),
        /** Abort incomplete multipart uploads after N days. */
        abortIncompleteMultipartDays: z.number().int().min(1).max(365),
        /** Replicate the backup bucket into a second region. */
        replicationRegion: region.optional(),
        /** Delete S3 server access logs and ALB access logs (the `logs` bucket) after N days. */
        logsExpireAfterDays: z.number().int().min(1).max(36500),
    })
    .strict();

export const bucketsSection = section({
    key: "buckets",
    schema: bucketsSchema,
    defaults: (environment): z.input<typeof bucketsSchema> => ({
        encryption: environment === "prod" ? "kms" : "s3",
        denyUnencryptedUploads: false,
        noncurrentVersionExpirationDays: environment === "prod" ? 90 : 7,
        abortIncompleteMultipartDays: 7,
        logsExpireAfterDays: environment === "prod" ? 365 : 90,
    }),
    check: checks<z.output<typeof bucketsSchema>>(
        (buckets) => buckets.kmsKeyArn !== undefined && buckets.encryption !== "kms" && { path: "kmsKeyArn", message: 'needs encryption "kms" (SSE-S3 buckets use no KMS key)' },
    ),
});

/** The nightly restore drill (components/ssm/drill.sh through its runbook). */
const drillSchema = z
    .object({
        enabled: z.boolean(),
        /** State Manager schedule of the drill runbook; its "has not run" alarm allows twice its interval. */
        schedule: associationSchedule,
        /** Command timeout, seconds: the whole drill of every directory of every instance. */
        timeoutSeconds: z.number().int().min(300).max(172800),
        /** auto: restore when the scratch file system has room, else stream through verification. */
        mode: z.enum(["auto", "extract", "stream"]),
        /** Free space the drill leaves to the instance's own work, bytes. */
        reserveBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    })
    .strict();

const backupSchema = z
    .object({
        enabled: z.boolean(),
        /** Directories on the instances to back up. */
        directories: z.array(absolutePath).min(1, "must name at least one directory"),
        /** tar exclude patterns (glob). */
        excludes: z.array(z.string().regex(/^[A-Za-z0-9._*?\[\]\/-]+$/, "must be a glob of letters, digits and . _ * ? [ ] / -")),
        /** State Manager schedule (cron or rate expression). */
        schedule: associationSchedule,
        /** A full backup every N runs; incrementals in between. */
        fullEvery: z.number().int().min(1).max(100),
        /** zstd compression level. */
        compressionLevel: z.number().int().min(1).max(19),
        /** Move snapshots to Standard-IA after N days. */
        infrequentAccessAfterDays: z.number().int().min(30, "must be at least 30 (S3's minimum for Standard-IA)"),
        /** Move snapshots to Glacier Instant Retrieval after N days. */
        glacierAfterDays: z.number().int().min(1),
        /** Delete snapshots after N days (0 keeps them forever). */
        expireAfterDays: z.number().int().min(0),
        objectLock,
        /** State Manager rate control. */
        maxConcurrency: z.string().regex(/^(\d+|\d{1,2}%|100%)$/, 'must be a number or a percentage such as "50%"'),
        maxErrors: z.string().regex(/^(\d+|\d{1,2}%|100%)$/, 'must be a number or a percentage such as "10%"'),
        /** Command timeout, seconds. */
        timeoutSeconds: z.number().int().min(60).max(172800),
        drill: drillSchema,
    })
    .strict();

export const backupSection = section({
    key: "backup",
    schema: backupSchema,
    defaults: (environment): z.input<typeof backupSchema> => ({
        enabled: true,
        directories: ["/var/www", "/etc/platform"],
        excludes: ["*.tmp", "cache/*"],
        schedule: environment === "prod" ? "cron(0 */4 * * ? *)" : "cron(0 2 * * ? *)",
        fullEvery: 7,
        compressionLevel: 3,
        infrequentAccessAfterDays: 30,
        glacierAfterDays: 90,
        expireAfterDays: environment === "prod" ? 365 : 120,
        objectLock: { enabled: false, mode: "GOVERNANCE", days: 30 },
        maxConcurrency: "50%",
        maxErrors: "10%",
        timeoutSeconds: 3600,
        // Daily, after the night's backups (prod's 04:00 run, dev's 02:00 one).
        drill: { enabled: true, schedule: environment === "prod" ? "cron(30 5 * * ? *)" : "cron(30 6 * * ? *)", timeoutSeconds: 7200, mode: "auto", reserveBytes: 1024 ** 3 },
    }),
    check: checks<z.output<typeof backupSchema>>(
        (backup) => backup.glacierAfterDays <= backup.infrequentAccessAfterDays && { path: "glacierAfterDays", message: `must be greater than infrequentAccessAfterDays (${backup.infrequentAccessAfterDays})` },
        (backup) =>
            backup.expireAfterDays !== 0 &&
            backup.expireAfterDays <= backup.glacierAfterDays && { path: "expireAfterDays", message: `must be 0 (keep) or greater than glacierAfterDays (${backup.glacierAfterDays})` },
        (backup) =>
            backup.objectLock.enabled &&
            backup.expireAfterDays !== 0 &&
            backup.expireAfterDays < backup.objectLock.days && { path: "objectLock.days", message: `must not exceed expireAfterDays (${backup.expireAfterDays}): locked objects cannot expire` },
        (backup) => {
            const seen = new Set<string>();
            const twice: Finding[] = [];
            for (const dir of backup.directories) {
                if (seen.has(dir)) twice.push({ path: "directories", message: `lists ${dir} twice` });
                seen.add(dir);
            }
            return twice;
        },
        // The freshness alarms watch twice each schedule's interval, in a window CloudWatch can evaluate.
        (backup) => {
            const problems: Finding[] = [];
            for (const [path, expression] of [["schedule", backup.schedule], ["drill.schedule", backup.drill.schedule]] as const) {
                if (path === "drill.schedule" && !backup.drill.enabled) continue;
                const window = freshnessWindow(expression);
                if (typeof window === "string") problems.push({ path, message: window });
            }
            return problems;
        },
    ),
});
