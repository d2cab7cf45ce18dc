/**
 * The database's settings as plain data: the engines RDS offers, the defaults, and RDS's and
 * CloudWatch Logs' rules for them. No Pulumi SDK here: config/database.ts checks a stack file
 * with the same rules before the program runs, and the Database component re-exports all of it.
 */
/** One setting that breaks an AWS rule: the Args field and why. */
export interface SettingProblem {
    path: string;
    message: string;
}

export type Engine = "postgres" | "mysql" | "mariadb";

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

/** The database settings of DatabaseArgs (everything but the wiring), each with its default. */
export interface DatabaseSettings {
    /** `postgres`, `mysql` or `mariadb`. @default "postgres" */
    engine: Engine;
    /** Engine version, major or major.minor; must belong to the engine (ENGINES[engine].versions). @default ENGINES[engine].defaultVersion */
    engineVersion: string;
    /** Instance class, e.g. `db.t4g.micro`; its family must be offered for the engine. @default "db.t4g.micro" */
    instanceClass: string;
    /** gp3 storage in GiB, at least MIN_STORAGE_GB. @default 20 */
    allocatedStorageGb: number;
    /** Storage autoscaling ceiling in GiB, at least allocatedStorageGb. @default 50 */
    maxAllocatedStorageGb: number;
    /** A synchronous standby in another zone (automatic failover). @default false */
    multiAz: boolean;
    /** Days RDS keeps automated backups (1-35; 0 would disable them). @default 7 */
    backupRetentionDays: number;
    /** Daily UTC backup window `hh:mm-hh:mm`, at least 30 minutes, disjoint from the maintenance window. @default "03:00-03:30" */
    backupWindow: string;
    /** Weekly UTC maintenance window `ddd:hh:mm-ddd:hh:mm`, at least 30 minutes. @default "sun:04:00-sun:05:00" */
    maintenanceWindow: string;
    /** Performance Insights (free retention, 7 days). @default false */
    performanceInsights: boolean;
    /** Enhanced monitoring interval in seconds (0, 1, 5, 10, 15, 30 or 60); 0 turns it off. @default 0 */
    monitoringIntervalSeconds: number;
    /** Initial database name. @default "app" */
    databaseName: string;
    /** Master user name (its password is managed by RDS in Secrets Manager). @default "platform_admin" */
    masterUsername: string;
    /** Database user the app role connects as with IAM authentication. @default "app_user" */
    iamUser: string;
    /** Retention of the log groups RDS exports to: one of LOG_RETENTION_DAYS. @default 30 */
    logRetentionDays: number;
    /** KMS key for those log groups (its key policy must admit logs.<region>.amazonaws.com). @default none: CloudWatch Logs' own encryption */
    logsKmsKeyArn?: string;
    /** Customer managed KMS key for storage, the master secret and Performance Insights. @default none: the AWS managed keys */
    kmsKeyArn?: string;
    /** RDS deletion protection: the instance cannot be deleted until it is turned off. @default true */
    deletionProtection: boolean;
    /**
     * Pulumi `protect` on the instance: Pulumi refuses to delete or replace it. Unprotected, a
     * replacing change deletes the old instance first (its identifier is fixed), leaving its final
     * snapshot. @default true
     */
    protect: boolean;
    /** Keep the automated backups after the instance is deleted (restorable until they expire). @default true */
    keepAutomatedBackups: boolean;
}

/** The defaults Database applies (safe ones: a forgotten setting never makes data easier to lose). */
export const DATABASE_DEFAULTS: Omit<DatabaseSettings, "engineVersion" | "logsKmsKeyArn" | "kmsKeyArn"> = {
    engine: "postgres",
    instanceClass: "db.t4g.micro",
    allocatedStorageGb: 20,
    maxAllocatedStorageGb: 50,
    multiAz: false,
    backupRetentionDays: 7,
    backupWindow: "03:00-03:30",
    maintenanceWindow: "sun:04:00-sun:05:00",
    performanceInsights: false,
    monitoringIntervalSeconds: 0,
    databaseName: "app",
    masterUsername: "platform_admin",
    iamUser: "app_user",
    logRetentionDays: 30,
    deletionProtection: true,
    protect: true,
    keepAutomatedBackups: true,
};


/** DatabaseArgs' settings with the defaults applied (pure). */
export function databaseSettings(args: Partial<DatabaseSettings>): DatabaseSettings {
    const defined = Object.fromEntries(Object.entries(args).filter(([k, v]) => v !== undefined && k in SETTING_KEYS)) as Partial<DatabaseSettings>;
    const engine = defined.engine ?? DATABASE_DEFAULTS.engine;
    return { ...DATABASE_DEFAULTS, engineVersion: isEngine(engine) ? ENGINES[engine].defaultVersion : "", ...defined, engine };
}

const SETTING_KEYS: Record<keyof DatabaseSettings, true> = {
    engine: true, engineVersion: true, instanceClass: true, allocatedStorageGb: true, maxAllocatedStorageGb: true, multiAz: true, backupRetentionDays: true,
    backupWindow: true, maintenanceWindow: true, performanceInsights: true, monitoringIntervalSeconds: true, databaseName: true, masterUsername: true,
    iamUser: true, logRetentionDays: true, logsKmsKeyArn: true, kmsKeyArn: true, deletionProtection: true, protect: true, keepAutomatedBackups: true,
};

const finding = (path: string, message: string): SettingProblem => ({ path, message });

/**
 * RDS's and CloudWatch Logs' rules for the settings, one rule per check (config/database.ts runs
 * the same checks on a stack file's `database` section, so both report the same words).
 */
export const DATABASE_SETTING_CHECKS: ReadonlyArray<(db: Pick<DatabaseSettings, "engine" | "engineVersion" | "instanceClass" | "allocatedStorageGb" | "maxAllocatedStorageGb" | "backupWindow" | "maintenanceWindow">) => SettingProblem | undefined | false> = [
    (db) => !isEngine(db.engine) && finding("engine", `unknown engine; allowed: ${Object.keys(ENGINES).join(", ")}`),
    // An unknown engine still has its version and class checked against every engine, so the other keys are reported too.
    (db) => {
        if (isEngine(db.engine)) {
            const engine = ENGINES[db.engine];
            return !engine.versions.test(db.engineVersion) && finding("engineVersion", `is not a ${db.engine} version; allowed: ${engine.versionHint}`);
        }
        return (
            !Object.values(ENGINES).some((e) => e.versions.test(db.engineVersion)) &&
            finding("engineVersion", `is not a version of any supported engine; allowed: ${Object.entries(ENGINES).map(([n, e]) => `${n} ${e.versionHint}`).join("; ")}`)
        );
    },
    (db) => {
        const family = db.instanceClass.split(".").slice(0, 2).join(".");
        if (isEngine(db.engine)) {
            const engine = ENGINES[db.engine];
            return !engine.classFamilies.includes(family) && finding("instanceClass", `${family}.* is not offered for current ${db.engine}; allowed families: ${engine.classFamilies.join(", ")}`);
        }
        return !Object.values(ENGINES).some((e) => e.classFamilies.includes(family)) && finding("instanceClass", `${family}.* is not offered for any supported engine`);
    },
    (db) => db.allocatedStorageGb < MIN_STORAGE_GB && finding("allocatedStorageGb", `must be at least ${MIN_STORAGE_GB} GiB, the gp3 minimum for ${db.engine}`),
    (db) => db.maxAllocatedStorageGb < db.allocatedStorageGb && finding("maxAllocatedStorageGb", `must be at least allocatedStorageGb (${db.allocatedStorageGb})`),
    (db) => /^\d/.test(db.backupWindow) && windowMinutes(db.backupWindow) < 30 && finding("backupWindow", "must be at least 30 minutes long"),
    (db) => /^[a-z]/.test(db.maintenanceWindow) && windowMinutes(db.maintenanceWindow) < 30 && finding("maintenanceWindow", "must be at least 30 minutes long"),
    (db) =>
        /^\d/.test(db.backupWindow) &&
        /^[a-z]/.test(db.maintenanceWindow) &&
        windowsOverlap(db.backupWindow, db.maintenanceWindow) &&
        finding("maintenanceWindow", `overlaps the backup window ${db.backupWindow}; RDS requires them to be disjoint`),
];
