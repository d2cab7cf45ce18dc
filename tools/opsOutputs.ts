/**
 * The stack outputs `npm run ops` reads (index.ts exports them), typed and validated once when
 * they are loaded: a wrong type is a clear error (exit 2) naming the key, never a silent fallback.
 * The ops tests feed this the outputs of the real program (the offline plan of dev and prod).
 */
import { z } from "zod";

const name = z.string().min(1);
const s3Prefix = z.string().regex(/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/, "must be a key prefix without leading or trailing /");

export const opsOutputsSchema = z
    .object({
        /** The stack the outputs belong to; ops refuses outputs of another stack than --stack. */
        stack: name.optional(),
        region: name.optional(),
        bakeRunbookName: name.optional(),
        imagingRunbookName: name.optional(),
        backupDocumentName: name.optional(),
        restoreDocumentName: name.optional(),
        backupBucketName: name.optional(),
        logsBucketName: name.optional(),
        /** The tag the backup association targets (besides `Stack=<stack>`): config `webTier.backupTag`. */
        backupTag: z.object({ key: name, value: z.string() }).optional(),
        /** Key prefix of the snapshots in the backup bucket, e.g. `backups/dev`. */
        backupPrefix: s3Prefix.optional(),
        /** Key prefixes of backup and restore command output in the logs bucket. */
        backupLogPrefix: s3Prefix.optional(),
        restoreLogPrefix: s3Prefix.optional(),
        /** `prod` makes `ops deploy` roll out one instance at a time, stopping at the first failure. */
        environment: name.optional(),
        /** The web tier's group (`ops deploy` and `db-bootstrap` target its instances), absent in single mode. */
        autoScalingGroupName: name.optional(),
        /** The single-mode instance, absent in asg mode. */
        webInstanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, "must be an EC2 instance id (i-...)").optional(),
        /** The stack's release bucket and the key prefix of its releases, e.g. `releases/dev`. */
        releaseBucketName: name.optional(),
        releasePrefix: s3Prefix.optional(),
        /** The web tier's deploy Command document (components/ssm/deploy.sh). */
        deployDocumentName: name.optional(),
        /** The database's db-bootstrap Command document, absent without a database. */
        dbBootstrapDocumentName: name.optional(),
        /** The restore drill's Command document (`ops drill` sends it), its runbook and association, absent with backup.drill.enabled false. */
        drillDocumentName: name.optional(),
        drillRunbookName: name.optional(),
        drillAssociationId: name.optional(),
        /** Key prefix of the drill's command output in the logs bucket, e.g. `ssm/drill/dev`. */
        drillLogPrefix: s3Prefix.optional(),
        /** CloudWatch namespace of BackupSuccess, RestoreDrillSuccess and RestoreDrillSeconds. */
        backupMetricsNamespace: name.optional(),
    })
    // The stack exports much more (network ids, database endpoint...): only these are ops' business.
    .loose();

export type OpsOutputs = z.infer<typeof opsOutputsSchema>;

/** Validates parsed JSON as stack outputs; throws an Error naming every bad key. */
export function parseOpsOutputs(value: unknown): OpsOutputs {
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
    const result = opsOutputsSchema.safeParse(value);
    if (!result.success) {
        throw new Error(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message} (got ${JSON.stringify(pick(value, i.path))})`).join("; "));
    }
    return result.data;
}

function pick(value: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined), value);
}
