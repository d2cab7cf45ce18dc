import { z } from "zod";
import { DATABASE_SETTING_CHECKS, ENGINES, Engine, LOG_RETENTION_DAYS } from "../components/databaseSettings";
import { checks, section } from "./types";

export { ENGINES, Engine, isEngine, LOG_RETENTION_DAYS, MIN_STORAGE_GB, windowIntervals, windowMinutes, windowsOverlap } from "../components/databaseSettings";

const databaseSchema = z
    .object({
        /** Create the RDS instance. */
        enabled: z.boolean(),
        /**
         * `postgres`, `mysql` or `mariadb`. Checked in `check` rather than with an enum so that an
         * unknown engine does not hide the other problems: one error names them all.
         */
        engine: z.string().transform((s) => s as Engine),
        /** Engine version (major or major.minor); must belong to the engine. */
        engineVersion: z.string(),
        /** Instance class, e.g. `db.t4g.micro`; must be offered for the engine. */
        instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, "must be an RDS instance class such as db.t4g.micro"),
        allocatedStorageGb: z.number().int().max(65536),
        /** Storage autoscaling ceiling; must be at least allocatedStorageGb. */
        maxAllocatedStorageGb: z.number().int().max(65536),
        multiAz: z.boolean(),
        backupRetentionDays: z.number().int().min(1, "must be at least 1 day (0 disables automated backups)").max(35),
        /** Daily UTC `hh:mm-hh:mm`, at least 30 minutes. */
        backupWindow: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/, "must be a daily UTC window hh:mm-hh:mm"),
        /** Weekly UTC `ddd:hh:mm-ddd:hh:mm`, at least 30 minutes. */
        maintenanceWindow: z
            .string()
            .regex(/^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/, "must be a weekly UTC window ddd:hh:mm-ddd:hh:mm"),
        performanceInsights: z.boolean(),
        /** Enhanced monitoring interval in seconds; 0 turns it off. */
        monitoringIntervalSeconds: z.union([z.literal(0), z.literal(1), z.literal(5), z.literal(10), z.literal(15), z.literal(30), z.literal(60)]),
        /** Initial database name. */
        databaseName: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, "must start with a letter and contain only letters, digits and _"),
        /** Master user name (its password is managed by RDS in Secrets Manager). */
        masterUsername: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, "must start with a letter, letters/digits/_ only, at most 16 characters"),
        /** Database user the web tier connects as with IAM authentication. */
        iamUser: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, "must start with a letter and contain only letters, digits and _"),
        /**
         * Retention of the log groups RDS exports to (`/aws/rds/instance/<identifier>/<log>`): one of
         * the values CloudWatch Logs accepts (PutRetentionPolicy API reference). Without it RDS
         * creates the groups itself, kept forever and outside the stack.
         */
        logRetentionDays: z
            .number()
            .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), `must be one of the retention periods CloudWatch Logs accepts: ${LOG_RETENTION_DAYS.join(", ")}`),
        /** KMS key for those log groups; its key policy must let logs.<region>.amazonaws.com use it. Default: CloudWatch Logs' own encryption. */
        logsKmsKeyArn: z.string().regex(/^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, "must be a KMS key ARN").optional(),
        /** Customer managed KMS key for storage and Performance Insights; the AWS managed key when absent. */
        kmsKeyArn: z.string().regex(/^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/, "must be a KMS key ARN").optional(),
    })
    .strict();

export const databaseSection = section({
    key: "database",
    schema: databaseSchema,
    defaults: (environment): z.input<typeof databaseSchema> => ({
        enabled: true,
        engine: "postgres",
        engineVersion: ENGINES.postgres.defaultVersion,
        instanceClass: environment === "prod" ? "db.t4g.small" : "db.t4g.micro",
        allocatedStorageGb: 20,
        maxAllocatedStorageGb: environment === "prod" ? 200 : 50,
        multiAz: environment === "prod",
        backupRetentionDays: environment === "prod" ? 14 : 1,
        logRetentionDays: environment === "prod" ? 365 : 30,
        backupWindow: "03:00-03:30",
        maintenanceWindow: "sun:04:00-sun:05:00",
        performanceInsights: environment === "prod",
        monitoringIntervalSeconds: environment === "prod" ? 60 : 0,
        databaseName: "app",
        masterUsername: "platform_admin",
        iamUser: "app_user",
    }),
    check: checks<z.output<typeof databaseSchema>>(
        // RDS's own rules (the component checks the same): engine, version, class, storage, windows.
        ...DATABASE_SETTING_CHECKS,
        (db, { environment }) => environment === "prod" && db.backupRetentionDays < 14 && { path: "backupRetentionDays", message: "must be at least 14 days in prod" },
    ),
});
