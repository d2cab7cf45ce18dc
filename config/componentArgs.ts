/**
 * The mapper from a validated StackConfig to each component's Args: the one place where the
 * stack's environment turns into component settings (prod: deletion protection, `protect`,
 * a stricter instance refresh...). The components know nothing of environments or stack
 * files; index.ts adds the wiring (ids, ARNs and roles of other components) and builds them.
 *
 * Every setting is passed explicitly, even where it equals the component's own default, so a
 * change of a library default never changes a stack: the stack file and the environment
 * profiles (config/*.ts) decide.
 */
import type { StackConfig } from "../config";
import type { AmiFactoryArgs } from "../components/amiFactory";
import type { BackupArgs } from "../components/backup";
import type { DatabaseArgs } from "../components/database";
import type { MonitoringArgs } from "../components/monitoring";
import type { WebTierArgs } from "../components/webTier";

/** WebTier's settings for the stack (without the network, buckets and certificate, which index.ts wires). */
export function webTierArgs(config: StackConfig): Pick<
    WebTierArgs,
    | "stack"
    | "mode"
    | "architecture"
    | "instanceType"
    | "minSize"
    | "maxSize"
    | "desiredCapacity"
    | "rootVolumeGb"
    | "appPort"
    | "healthCheckPath"
    | "cpuTargetPercent"
    | "detailedMonitoring"
    | "amiParameterName"
    | "backupTag"
    | "snapshots"
    | "requireHttps"
    | "deletionProtection"
    | "minHealthyPercent"
    | "deregistrationDelaySeconds"
> {
    const web = config.webTier;
    const prod = config.isProduction;
    return {
        stack: config.stack,
        mode: web.mode,
        architecture: web.architecture,
        instanceType: web.instanceType,
        minSize: web.minSize,
        maxSize: web.maxSize,
        desiredCapacity: web.desiredCapacity,
        rootVolumeGb: web.rootVolumeGb,
        appPort: web.appPort,
        healthCheckPath: web.healthCheckPath,
        cpuTargetPercent: web.cpuTargetPercent,
        detailedMonitoring: web.detailedMonitoring,
        amiParameterName: web.amiParameterName,
        backupTag: web.backupTag,
        snapshots: web.snapshots,
        // prod never forwards plain HTTP from the internet; elsewhere HTTP is allowed until a certificate exists.
        requireHttps: prod,
        deletionProtection: prod,
        // prod keeps 90% serving while instances are replaced; elsewhere half is enough and refreshes are faster.
        minHealthyPercent: prod ? 90 : 50,
        // Long enough for in-flight requests in prod, short elsewhere so a rolling refresh is not slow.
        deregistrationDelaySeconds: prod ? 60 : 15,
    };
}

/** Database's settings for the stack (without the subnets, security group and app role, which index.ts wires). */
export function databaseArgs(config: StackConfig): Omit<DatabaseArgs, "isolatedSubnetIds" | "securityGroupId" | "appRole" | "permissionsBoundary"> {
    const { enabled: _enabled, ...db } = config.database;
    const prod = config.isProduction;
    return {
        ...db,
        stack: config.stack,
        project: config.project,
        // prod data is protected from deletion: RDS deletion protection, Pulumi `protect`, and the
        // automated backups kept after a delete. Elsewhere a stack can be torn down (the final snapshot stays).
        deletionProtection: prod,
        protect: prod,
        keepAutomatedBackups: prod,
        tags: config.tags,
    };
}

/** AmiFactory's schedules and retention for the stack (index.ts wires the web tier, subnets and buckets). */
export function amiFactoryArgs(config: StackConfig): Pick<AmiFactoryArgs, "stack" | "region" | "bakeSchedule" | "imagingSchedule" | "keepBakedImages" | "keepInstanceImages" | "packages" | "noReboot" | "instanceRefresh" | "imagingTag" | "architecture" | "rootVolumeGb" | "tags"> {
    const { enabled: _enabled, ...factory } = config.amiFactory;
    return {
        ...factory,
        stack: config.stack,
        region: config.region,
        architecture: config.webTier.architecture,
        rootVolumeGb: config.webTier.rootVolumeGb,
        tags: config.tags,
    };
}

/** Backup's schedule, directories and drill for the stack (index.ts wires the buckets and the instance role). */
export function backupArgs(config: StackConfig): Pick<BackupArgs, "stack" | "directories" | "excludes" | "schedule" | "fullEvery" | "compressionLevel" | "maxConcurrency" | "maxErrors" | "timeoutSeconds" | "drill"> {
    const b = config.backup;
    // The lifecycle and object-lock settings of the section are the backup bucket's (index.ts).
    return {
        stack: config.stack,
        directories: b.directories,
        excludes: b.excludes,
        schedule: b.schedule,
        fullEvery: b.fullEvery,
        compressionLevel: b.compressionLevel,
        maxConcurrency: b.maxConcurrency,
        maxErrors: b.maxErrors,
        timeoutSeconds: b.timeoutSeconds,
        drill: b.drill,
    };
}

/** Monitoring's thresholds and budget for the stack (index.ts wires what it watches). */
export function monitoringArgs(config: StackConfig): Pick<MonitoringArgs, "stack" | "region" | "alarmEmails" | "tags" | keyof StackConfig["monitoring"]> {
    return { ...config.monitoring, stack: config.stack, region: config.region, alarmEmails: config.alarmEmails, tags: config.tags };
}
