/**
 * RDS tier (mandatory): storage encrypted, never publicly accessible, automated backups kept for at
 * least a day, and deletion protection in production.
 */

import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { RuleMetadata, UNKNOWN, bool, environmentFromTags, get, isProduction, isSet, msg, num } from "./util";

export const RDS_INSTANCE_TYPE = "aws:rds/instance:Instance";
export const RDS_CLUSTER_TYPE = "aws:rds/cluster:Cluster";
export const RDS_CLUSTER_INSTANCE_TYPE = "aws:rds/clusterInstance:ClusterInstance";

function kind(type: string): string {
    return type === RDS_CLUSTER_TYPE ? "RDS Cluster" : type === RDS_CLUSTER_INSTANCE_TYPE ? "RDS ClusterInstance" : "RDS Instance";
}

/** Read replicas inherit encryption and need no backups of their own. */
function isReplica(args: ResourceValidationArgs): boolean {
    return isSet(get(args.props, "replicateSourceDb")) || isSet(get(args.props, "replicationSourceIdentifier"));
}

export const storageEncrypted: ResourceValidationPolicy = {
    name: "rds-storage-encrypted",
    description: "RDS instances and clusters encrypt their storage (storageEncrypted = true).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set storageEncrypted: true (and optionally kmsKeyId). Existing unencrypted databases must be " +
        "migrated through an encrypted snapshot copy.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== RDS_INSTANCE_TYPE && args.type !== RDS_CLUSTER_TYPE) {
            return;
        }
        if (isReplica(args)) {
            return;
        }
        // Aurora Serverless v1 clusters are always encrypted.
        if (args.type === RDS_CLUSTER_TYPE && get(args.props, "engineMode") === "serverless") {
            return;
        }
        const enc = bool(get(args.props, "storageEncrypted"));
        if (enc === true || enc === UNKNOWN) {
            return;
        }
        reportViolation(msg(`${kind(args.type)} '${args.name}' does not encrypt its storage (storageEncrypted is ${enc === false ? "false" : "not set"}).`,
            "set storageEncrypted: true (optionally kmsKeyId: key.arn); for an existing database restore from an encrypted snapshot copy."),
        args.urn);
    },
};

export const notPublic: ResourceValidationPolicy = {
    name: "rds-not-public",
    description: "RDS instances (and cluster instances) are not publicly accessible.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Set publiclyAccessible: false and place the database in private subnets (dbSubnetGroupName).",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== RDS_INSTANCE_TYPE && args.type !== RDS_CLUSTER_INSTANCE_TYPE) {
            return;
        }
        if (bool(get(args.props, "publiclyAccessible")) === true) {
            reportViolation(msg(`${kind(args.type)} '${args.name}' is publicly accessible (publiclyAccessible = true).`,
                "set publiclyAccessible: false, use a DB subnet group of private subnets and reach it from inside the VPC."),
            args.urn);
        }
    },
};

export const backupRetention: ResourceValidationPolicy = {
    name: "rds-backup-retention",
    description: "RDS instances and clusters keep automated backups for at least 1 day (backupRetentionPeriod >= 1).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set backupRetentionPeriod to 1..35 days (7 or more recommended in production).",
    configSchema: {
        properties: {
            minimumDays: { type: "integer", minimum: 1, maximum: 35, default: 1 },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== RDS_INSTANCE_TYPE && args.type !== RDS_CLUSTER_TYPE) {
            return;
        }
        if (isReplica(args)) {
            return;
        }
        const min = Number(args.getConfig<{ minimumDays?: number }>().minimumDays ?? 1) || 1;
        const raw = num(get(args.props, "backupRetentionPeriod"));
        if (raw === UNKNOWN) {
            return;
        }
        // Provider defaults: aws.rds.Instance 0 (no backups), aws.rds.Cluster 1.
        const days = raw ?? (args.type === RDS_CLUSTER_TYPE ? 1 : 0);
        if (days < min) {
            const now = raw === undefined ? `not set (defaults to ${days})` : `${days}`;
            reportViolation(msg(`${kind(args.type)} '${args.name}' keeps automated backups for less than ${min} day(s): backupRetentionPeriod is ${now}.`,
                `set backupRetentionPeriod: ${Math.max(min, 7)} (any value from ${min} to 35 days).`), args.urn);
        }
    },
};

/** The environment a resource belongs to: its `tags.Environment`, then `tagsAll.Environment`, then
 *  the provider's `defaultTags.tags.Environment`, then the policy config key `environment`. */
export function environmentOf(args: ResourceValidationArgs): string | undefined {
    return environmentFromTags(get(args.props, "tags")) ??
        environmentFromTags(get(args.props, "tagsAll")) ??
        environmentFromTags(get(args.provider?.props, "defaultTags", "tags")) ??
        (() => {
            const env = args.getConfig<{ environment?: unknown }>().environment;
            return typeof env === "string" ? env : undefined;
        })();
}

export const deletionProtectionInProduction: ResourceValidationPolicy = {
    name: "rds-deletion-protection-in-production",
    description: "Production RDS instances and clusters (tags.Environment = prod) have deletion protection enabled.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set deletionProtection: true on production databases.",
    configSchema: {
        properties: {
            environment: { type: "string", description: "Environment of the stack (dev|staging|prod) when resources are not tagged." },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== RDS_INSTANCE_TYPE && args.type !== RDS_CLUSTER_TYPE) {
            return;
        }
        const env = environmentOf(args);
        if (!isProduction(env)) {
            return;
        }
        const dp = bool(get(args.props, "deletionProtection"));
        if (dp === true || dp === UNKNOWN) {
            return;
        }
        reportViolation(msg(`${kind(args.type)} '${args.name}' is in production (Environment=${env}) but deletionProtection is ${dp === false ? "false" : "not set"}.`,
            "set deletionProtection: true (and keep skipFinalSnapshot: false with a finalSnapshotIdentifier)."), args.urn);
    },
};

export const rdsPolicies = [storageEncrypted, notPublic, backupRetention, deletionProtectionInProduction];

export const rdsMetadata: RuleMetadata[] = rdsPolicies.map(p => ({
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel!,
    severity: p.severity!,
    concern: "rds",
    kind: "resource",
    remediation: p.remediationSteps!,
}));
