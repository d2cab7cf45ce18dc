import { z } from "zod";
import { checks, section } from "./types";

export type Engine = "postgres" | "mysql" | "mariadb";

/** What each engine offers: versions (major[.minor]), instance class families, port, log exports. */
/** Retention periods CloudWatch Logs accepts, in days (PutRetentionPolicy, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html). */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export const ENGINES: Record<Engine, { versions: RegExp; versionHint: string; classFamilies: readonly string[]; port: number; logs: readonly string[]; defaultVersion: string }> = {
    postgres: {
        versions: /^(13|14|15|16|17)(\.\d+)?$/,
        versionHint: "13 to 17, optionally with a minor version (e.g. 16 or 16.4)",
        classFamilies: ["db.t3", "db.t4g", "db.m5", "db.m6g", "db.m6i", "db.m7g", "db.r5", "db.r6g", "db.r6i", "db.r7g"],
        port: 5432,
        logs: ["postgresql", "upgrade"],
        defaultVersion: "16",
    },
    mysql: {
        versions: /^8\.(0|4)(\.\d+)?$/,
        versionHint: "8.0 or 8.4, optionally with a patch version (e.g. 8.0.39)",
        classFamilies: ["db.t3", "db.t4g", "db.m5", "db.m6g", "db.m6i", "db.m7g", "db.r5", "db.r6g", "db.r6i", "db.r7g"],
        port: 3306,
        logs: ["error", "general", "slowquery"],
        defaultVersion: "8.0",
    },
    mariadb: {
        versions: /^(10\.6|10\.11|11\.4)(\.\d+)?$/,
        versionHint: "10.6, 10.11 or 11.4, optionally with a patch version",
        classFamilies: ["db.t3", "db.t4g", "db.m5", "db.m6g", "db.m6i", "db.m7g", "db.r5", "db.r6g", "db.r6i", "db.r7g"],
        port: 3306,
        logs: ["error", "general", "slowquery"],
        defaultVersion: "10.11",
    },
};

export function isEngine(name: string): name is Engine {
    return Object.prototype.hasOwnProperty.call(ENGINES, name);
}

/** gp3 storage minimum for RDS (GiB). */
export const MIN_STORAGE_GB = 20;

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** Minutes since Monday 00:00 for a `ddd:hh:mm` or (daily) `hh:mm` time. */
function parseTime(text: string): { day: number | null; minute: number } {
    const parts = text.split(":");
    const day = parts.length === 3 ? DAYS.indexOf(parts[0].toLowerCase()) : null;
    const [h, m] = parts.slice(-2).map(Number);
    return { day, minute: h * 60 + m };
}

/** Weekly minute intervals [start, end) covered by a window; a daily window covers every day. */
export function windowIntervals(window: string): Array<[number, number]> {
    const [from, to] = window.split("-").map(parseTime);
    const week = 7 * 1440;
    const days = from.day === null ? [0, 1, 2, 3, 4, 5, 6] : [from.day];
    return days.map((day) => {
        const start = day * 1440 + from.minute;
        const endDay = from.day === null ? day + (to.minute < from.minute ? 1 : 0) : (to.day as number) + ((to.day as number) < (from.day as number) ? 7 : 0);
        let end = endDay * 1440 + to.minute;
        if (end <= start) end += week;
        return [start, end];
    });
}

export function windowsOverlap(a: string, b: string): boolean {
    const week = 7 * 1440;
    const shifted = (iv: Array<[number, number]>) => iv.flatMap(([s, e]) => [[s, e], [s + week, e + week], [s - week, e - week]] as Array<[number, number]>);
    const bi = shifted(windowIntervals(b));
    return windowIntervals(a).some(([s, e]) => bi.some(([s2, e2]) => s < e2 && s2 < e));
}

export function windowMinutes(window: string): number {
    const [[s, e]] = windowIntervals(window);
    return e - s;
}

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
        (db) => !isEngine(db.engine) && { path: "engine", message: `unknown engine; allowed: ${Object.keys(ENGINES).join(", ")}` },
        // An unknown engine still has its version and class checked against every engine, so the other keys are reported too.
        (db) => {
            if (isEngine(db.engine)) {
                const engine = ENGINES[db.engine];
                return !engine.versions.test(db.engineVersion) && { path: "engineVersion", message: `is not a ${db.engine} version; allowed: ${engine.versionHint}` };
            }
            return (
                !Object.values(ENGINES).some((e) => e.versions.test(db.engineVersion)) && {
                    path: "engineVersion",
                    message: `is not a version of any supported engine; allowed: ${Object.entries(ENGINES).map(([n, e]) => `${n} ${e.versionHint}`).join("; ")}`,
                }
            );
        },
        (db) => {
            const family = db.instanceClass.split(".").slice(0, 2).join(".");
            if (isEngine(db.engine)) {
                const engine = ENGINES[db.engine];
                return !engine.classFamilies.includes(family) && { path: "instanceClass", message: `${family}.* is not offered for current ${db.engine}; allowed families: ${engine.classFamilies.join(", ")}` };
            }
            return !Object.values(ENGINES).some((e) => e.classFamilies.includes(family)) && { path: "instanceClass", message: `${family}.* is not offered for any supported engine` };
        },
        (db) => db.allocatedStorageGb < MIN_STORAGE_GB && { path: "allocatedStorageGb", message: `must be at least ${MIN_STORAGE_GB} GiB, the gp3 minimum for ${db.engine}` },
        (db) => db.maxAllocatedStorageGb < db.allocatedStorageGb && { path: "maxAllocatedStorageGb", message: `must be at least allocatedStorageGb (${db.allocatedStorageGb})` },
        (db, { environment }) => environment === "prod" && db.backupRetentionDays < 14 && { path: "backupRetentionDays", message: "must be at least 14 days in prod" },
        (db) => /^\d/.test(db.backupWindow) && windowMinutes(db.backupWindow) < 30 && { path: "backupWindow", message: "must be at least 30 minutes long" },
        (db) => /^[a-z]/.test(db.maintenanceWindow) && windowMinutes(db.maintenanceWindow) < 30 && { path: "maintenanceWindow", message: "must be at least 30 minutes long" },
        (db) =>
            /^\d/.test(db.backupWindow) &&
            /^[a-z]/.test(db.maintenanceWindow) &&
            windowsOverlap(db.backupWindow, db.maintenanceWindow) && { path: "maintenanceWindow", message: `overlaps the backup window ${db.backupWindow}; RDS requires them to be disjoint` },
    ),
});
