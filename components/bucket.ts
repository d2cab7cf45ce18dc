import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { serviceTrustPolicy } from "./iam";

export interface LifecycleArgs {
    /** Transition current objects to STANDARD_IA after N days (>= 30). @default none */
    infrequentAccessAfterDays?: number;
    /** Transition to GLACIER_IR after N days. @default none */
    glacierInstantAfterDays?: number;
    /** Transition to DEEP_ARCHIVE after N days. @default none */
    deepArchiveAfterDays?: number;
    /** Expire current objects after N days. @default never */
    expireAfterDays?: number;
    /** Expire noncurrent versions after N days. @default 30 */
    noncurrentVersionExpirationDays?: number;
    /** Abort incomplete multipart uploads after N days. @default 7 */
    abortIncompleteMultipartDays?: number;
    /** Limit the transitions/expiry to this key prefix. @default whole bucket */
    prefix?: string;
}

export interface PrivateBucketArgs {
    /** The bucket's name (globally unique; S3's naming rules apply, checked when given as a string). @default auto-named `<name>-<hex>` by Pulumi */
    bucketName?: pulumi.Input<string>;
    /** Protect from deletion (`protect` + `retainOnDelete`, no forceDestroy). @default false */
    protect?: boolean;
    /** "s3" (SSE-S3, AES256) or "kms" (SSE-KMS with bucket keys). @default "s3" */
    encryption?: "s3" | "kms";
    /** KMS key for "kms"; when absent with "kms" the component creates a key (rotation on, alias). @default none */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * Deny uploads that ask for another server-side encryption than the bucket's (another
     * algorithm, or SSE-C). Uploads naming none get the bucket's default encryption and are
     * admitted. @default false
     */
    denyUnencryptedUploads?: boolean;
    /** Versioning. @default true (required for replication and object lock) */
    versioning?: boolean;
    /** Transitions, expiry and housekeeping. @default only the abort-multipart (7 days) and noncurrent-expiry (30 days) rules */
    lifecycle?: LifecycleArgs;
    /** S3 Object Lock default retention (bucket created with objectLockEnabled). @default none */
    objectLock?: { mode: "GOVERNANCE" | "COMPLIANCE"; days: number };
    /**
     * Cross-region replication: a replica PrivateBucket in `region` via its own aws.Provider, with
     * its own IAM role (least privilege, exact ARNs). `defaultTags` become the replica provider's
     * default tags (the stack provider's default tags do not reach another provider). @default none
     */
    replication?: { region: string; defaultTags?: Record<string, string> };
    /** Server access logging target: the log bucket (a PrivateBucket with logDelivery) and a prefix. @default none (the log bucket itself) */
    accessLogs?: { bucket: PrivateBucket; prefix: string };
    /** Extra bucket-policy statements (e.g. CloudFront OAC read, log-delivery writes). @default none */
    policyStatements?: pulumi.Input<pulumi.Input<Record<string, any>>[]>;
    /** Allow this bucket to receive S3 server access logs and ALB access logs (log-delivery policy statements). @default false */
    logDelivery?: boolean;
    /** Extra tags for the bucket, its key and its replication role. @default none */
    tags?: Record<string, string>;
    /**
     * Permissions boundary (a managed policy ARN) on the replication role, when `replication` is
     * set (IAM User Guide, "Permissions boundaries for IAM entities"). @default none
     */
    permissionsBoundary?: pulumi.Input<string>;
}

/**
 * Who a grant is for: an IAM role, and the name the grant's resource is named after. The name is
 * part of the grant's logical name (`<bucket>-<grantee>-<kind>[-<prefix>]`), so it must be unique
 * among the bucket's grantees and stable: a new name is a new grant resource (a replacement).
 */
export interface Grantee {
    readonly name: string;
    readonly role: aws.iam.Role;
}

/**
 * What a component needs of a bucket: its name and ARN, and least-privilege grants that attach
 * exact-ARN inline policies to a role. PrivateBucket implements it; a component that takes a
 * BucketLike works with any bucket that can grant, and leaves the choice of grants to its caller.
 */
export interface BucketLike {
    readonly bucketName: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    /** Read (get, list) on the bucket or under `prefix`. */
    grantRead(grantee: Grantee, prefix?: string): pulumi.Resource;
    /** Write (put, multipart) on the bucket or under `prefix`: no read, no delete. */
    grantWrite(grantee: Grantee, prefix?: string): pulumi.Resource;
    /** Read, write and delete on the bucket or under `prefix`. */
    grantReadWrite(grantee: Grantee, prefix?: string): pulumi.Resource;
}

/** The three grant kinds; the kind is part of the grant's names. */
export type GrantKind = "read" | "write" | "readwrite";

/**
 * Regions that opened before August 2022: ALB access logs there are written by the regional
 * Elastic Load Balancing account (`aws.elb.getServiceAccount`), not by the service principal.
 * Newer regions know only the service principal, and the data source fails there.
 */
const LEGACY_ELB_REGIONS = new Set([
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
    "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-south-1", "eu-north-1", "me-south-1", "sa-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
]);

const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/**
 * A private S3 bucket that is safe by construction: every public access setting blocked, ACLs
 * disabled, encrypted by default (SSE-S3 or SSE-KMS with bucket keys), TLS-only bucket policy,
 * versioned, lifecycle housekeeping, optional object lock, cross-region replication and access
 * logging; plus least-privilege grant helpers that attach exact-ARN inline policies to roles.
 */
export class PrivateBucket extends pulumi.ComponentResource implements BucketLike {
    readonly bucket: aws.s3.Bucket;
    readonly bucketName: pulumi.Output<string>;
    readonly arn: pulumi.Output<string>;
    /** The SSE-KMS key (given or created); undefined for SSE-S3. */
    readonly kmsKeyArn?: pulumi.Output<string>;
    /** The key the component created (encryption "kms" without kmsKeyArn). */
    readonly kmsKey?: aws.kms.Key;
    /** The replica in the replication region (a PrivateBucket, so it can grant too). */
    readonly replica?: PrivateBucket;
    readonly encryption: "s3" | "kms";
    /** True when the bucket accepts S3 server access logs and ALB access logs. */
    readonly logDelivery: boolean;
    private readonly logicalName: string;
    private readonly grantNames = new Set<string>();

    constructor(name: string, args: PrivateBucketArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        const protect = args.protect ?? false;
        const encryption = args.encryption ?? "s3";
        const versioning = args.versioning ?? true;
        const logDelivery = args.logDelivery ?? false;
        const tags = args.tags ?? {};
        // Before registering anything: a bad argument must not leave half a bucket in the plan.
        validate(name, args, encryption, versioning, logDelivery);
        super("platform:bucket:PrivateBucket", name, {}, opts);
        this.logicalName = name;
        this.encryption = encryption;
        this.logDelivery = logDelivery;

        // Data-holding resources: protected, and kept in AWS if ever removed from the program.
        const dataOpts: pulumi.CustomResourceOptions = protect ? { parent: this, protect: true, retainOnDelete: true } : { parent: this };

        this.bucket = new aws.s3.Bucket(
            name,
            {
                ...(args.bucketName !== undefined ? { bucket: args.bucketName } : {}),
                // Object lock can only be switched on when the bucket is created.
                objectLockEnabled: args.objectLock ? true : undefined,
                forceDestroy: !protect,
                tags,
            },
            dataOpts,
        );
        this.bucketName = this.bucket.bucket;
        this.arn = this.bucket.arn;
        const bucketId = this.bucket.id;

        const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
            name,
            { bucket: bucketId, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        // ACLs off: the bucket owner owns every object, access is decided by policies alone.
        const ownership = new aws.s3.BucketOwnershipControls(name, { bucket: bucketId, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });

        if (encryption === "kms") {
            if (args.kmsKeyArn !== undefined) {
                this.kmsKeyArn = pulumi.output(args.kmsKeyArn);
            } else {
                this.kmsKey = new aws.kms.Key(
                    name,
                    { description: `SSE-KMS for the ${name} bucket`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
                    dataOpts,
                );
                // Aliases are per account and region: the project and stack keep stacks apart.
                new aws.kms.Alias(name, { name: `alias/${pulumi.getProject()}-${pulumi.getStack()}-${name}`, targetKeyId: this.kmsKey.keyId }, { parent: this });
                this.kmsKeyArn = this.kmsKey.arn;
            }
        }
        const sse = new aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            {
                bucket: bucketId,
                rules: [
                    encryption === "kms"
                        ? // Bucket keys cut KMS requests (and their cost) by orders of magnitude.
                          { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKeyArn }, bucketKeyEnabled: true }
                        : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                ],
            },
            { parent: this },
        );

        const versioningConfig = versioning
            ? new aws.s3.BucketVersioning(name, { bucket: bucketId, versioningConfiguration: { status: "Enabled" } }, { parent: this })
            : undefined;

        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const statements: pulumi.Input<Record<string, any>>[] = [
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [this.arn, pulumi.interpolate`${this.arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ];
        if (args.denyUnencryptedUploads) {
            // Since January 2023 S3 encrypts every new object with the bucket's default encryption
            // when the request names none (Amazon S3 User Guide, "Setting default server-side
            // encryption behavior for Amazon S3 buckets",
            // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html), and
            // AWS recommends relying on it rather than overriding it per request (S3 API Reference,
            // PutBucketEncryption). Bucket policies are evaluated before default encryption, so a
            // Deny on a missing header would refuse every upload of backup.sh and ops deploy, which
            // rely on the default. What a Deny still adds is refusing requests that ask for
            // something else: another algorithm than the bucket's, or a customer-provided key
            // (SSE-C: the platform could never read the object back).
            statements.push(
                {
                    Sid: "DenyWrongEncryption",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:PutObject",
                    Resource: pulumi.interpolate`${this.arn}/*`,
                    Condition: {
                        Null: { "s3:x-amz-server-side-encryption": "false" },
                        StringNotEquals: { "s3:x-amz-server-side-encryption": encryption === "kms" ? "aws:kms" : "AES256" },
                    },
                },
                {
                    Sid: "DenyCustomerProvidedKeys",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:PutObject",
                    Resource: pulumi.interpolate`${this.arn}/*`,
                    Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
                },
            );
        }
        const groups: pulumi.Input<pulumi.Input<Record<string, any>>[]>[] = [statements];
        if (logDelivery) groups.push(this.logDeliveryStatements(account));
        groups.push(args.policyStatements ?? []);
        new aws.s3.BucketPolicy(
            name,
            {
                bucket: bucketId,
                policy: pulumi.output(groups).apply((gs) => JSON.stringify({ Version: "2012-10-17", Statement: gs.flat() })),
            },
            // With the block in place first, S3 never sees a policy on an unprotected bucket; and a
            // policy put while the block is being created fails with AccessDenied.
            { parent: this, dependsOn: [publicAccessBlock, ownership] },
        );

        this.createLifecycle(name, args.lifecycle ?? {}, bucketId, versioningConfig);

        if (args.objectLock) {
            new aws.s3.BucketObjectLockConfiguration(
                name,
                { bucket: bucketId, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: args.objectLock.mode, days: args.objectLock.days } } },
                { parent: this, dependsOn: versioningConfig ? [versioningConfig] : [] },
            );
        }

        if (args.accessLogs) {
            new aws.s3.BucketLogging(
                name,
                { bucket: bucketId, targetBucket: args.accessLogs.bucket.bucketName, targetPrefix: args.accessLogs.prefix },
                // The log bucket's policy must admit the logging service before S3 tests delivery.
                { parent: this, dependsOn: [args.accessLogs.bucket] },
            );
        }

        if (args.replication) {
            this.replica = this.createReplication(name, args, account, protect, encryption, tags, [versioningConfig!, sse]);
        }

        this.registerOutputs({
            bucketName: this.bucketName,
            arn: this.arn,
            kmsKeyArn: this.kmsKeyArn,
            replicaBucketName: this.replica?.bucketName,
            replicaArn: this.replica?.arn,
        });
    }

    /**
     * Least-privilege read: s3:GetObject and s3:GetObjectVersion on `arn/prefix*`, s3:ListBucket on
     * the bucket (limited by `s3:prefix` when a prefix is given), kms:Decrypt through S3 on the key
     * for SSE-KMS. The RolePolicy is a child of this bucket component, named
     * `<bucket>-<grantee name>-read[-<prefix>]` (the IAM policy name drops the grantee part: it
     * only has to be unique within the role).
     */
    grantRead(grantee: Grantee, prefix?: string): aws.iam.RolePolicy {
        return this.grant("read", grantee, prefix);
    }

    /** s3:PutObject, s3:AbortMultipartUpload, s3:ListMultipartUploadParts on `arn/prefix*`; kms:GenerateDataKey and kms:Decrypt (multipart) on the key for SSE-KMS. No read, no delete. */
    grantWrite(grantee: Grantee, prefix?: string): aws.iam.RolePolicy {
        return this.grant("write", grantee, prefix);
    }

    /** grantRead and grantWrite in one policy, plus s3:DeleteObject on the prefix. */
    grantReadWrite(grantee: Grantee, prefix?: string): aws.iam.RolePolicy {
        return this.grant("readwrite", grantee, prefix);
    }

    private grant(kind: GrantKind, grantee: Grantee, prefix: string | undefined): aws.iam.RolePolicy {
        if (!grantee || typeof grantee.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(grantee.name) || !grantee.role) {
            throw new Error(`PrivateBucket "${this.logicalName}": grant${kindLabel(kind)} needs a grantee { name, role } whose name is letters, digits, '_', '.', '-' (it names the grant), got ${JSON.stringify(grantee?.name)}`);
        }
        const roleName = grantee.name;
        if (prefix !== undefined) validatePrefix(`PrivateBucket "${this.logicalName}": grant${kindLabel(kind)} prefix`, prefix);
        const suffix = prefix ? `-${slug(prefix)}` : "";
        const logical = `${this.logicalName}-${roleName}-${kind}${suffix}`;
        if (this.grantNames.has(logical)) {
            throw new Error(`PrivateBucket "${this.logicalName}": a ${kind} grant to "${roleName}" on prefix "${prefix ?? ""}" already exists (or one whose prefix gives the same name); grant once`);
        }
        this.grantNames.add(logical);
        return new aws.iam.RolePolicy(
            logical,
            { name: `${this.logicalName}-${kind}${suffix}`.slice(0, 128), role: grantee.role.id, policy: grantPolicy(kind, this.arn, prefix, this.kmsKeyArn) },
            { parent: this },
        );
    }

    /** S3 server access logs (logging.s3) and ALB access logs may write here, from this account only. */
    private logDeliveryStatements(account: pulumi.Output<string>): pulumi.Output<Record<string, any>[]> {
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const albLogs = pulumi.interpolate`${this.arn}/*AWSLogs/${account}/*`;
        const statements: pulumi.Input<Record<string, any>>[] = [
            {
                Sid: "S3ServerAccessLogsDelivery",
                Effect: "Allow",
                Principal: { Service: "logging.s3.amazonaws.com" },
                Action: "s3:PutObject",
                Resource: pulumi.interpolate`${this.arn}/*`,
                Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
            // ALB keys are <prefix>/AWSLogs/<account>/...: the account in the key keeps other accounts' load balancers out.
            { Sid: "AlbAccessLogsDelivery", Effect: "Allow", Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" }, Action: "s3:PutObject", Resource: albLogs },
        ];
        const legacy = region.apply((r) =>
            LEGACY_ELB_REGIONS.has(r)
                ? aws.elb
                      .getServiceAccountOutput({}, { parent: this })
                      .arn.apply((elbAccount) => [{ Sid: "AlbAccessLogsDeliveryLegacyRegion", Effect: "Allow", Principal: { AWS: elbAccount }, Action: "s3:PutObject", Resource: albLogs }])
                : pulumi.output([] as Record<string, any>[]),
        );
        return pulumi.all([pulumi.output(statements), legacy]).apply(([s, l]) => [...s, ...l]);
    }

    private createLifecycle(name: string, lifecycle: LifecycleArgs, bucketId: pulumi.Output<string>, versioningConfig: aws.s3.BucketVersioning | undefined): void {
        const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
            { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: lifecycle.abortIncompleteMultipartDays ?? 7 } },
            { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: lifecycle.noncurrentVersionExpirationDays ?? 30 } },
        ];
        const transitions: Array<{ days: number; storageClass: string }> = [];
        if (lifecycle.infrequentAccessAfterDays !== undefined) transitions.push({ days: lifecycle.infrequentAccessAfterDays, storageClass: "STANDARD_IA" });
        if (lifecycle.glacierInstantAfterDays !== undefined) transitions.push({ days: lifecycle.glacierInstantAfterDays, storageClass: "GLACIER_IR" });
        if (lifecycle.deepArchiveAfterDays !== undefined) transitions.push({ days: lifecycle.deepArchiveAfterDays, storageClass: "DEEP_ARCHIVE" });
        const expire = lifecycle.expireAfterDays !== undefined && lifecycle.expireAfterDays > 0 ? lifecycle.expireAfterDays : undefined;
        if (transitions.length > 0 || expire !== undefined) {
            rules.push({
                id: "tiering-and-expiry",
                status: "Enabled",
                filter: lifecycle.prefix ? { prefix: lifecycle.prefix } : {},
                ...(transitions.length > 0 ? { transitions } : {}),
                ...(expire !== undefined ? { expiration: { days: expire } } : {}),
            });
        }
        // Rules on noncurrent versions need versioning to be configured first.
        new aws.s3.BucketLifecycleConfiguration(name, { bucket: bucketId, rules }, { parent: this, dependsOn: versioningConfig ? [versioningConfig] : [] });
    }

    private createReplication(
        name: string,
        args: PrivateBucketArgs,
        account: pulumi.Output<string>,
        protect: boolean,
        encryption: "s3" | "kms",
        tags: Record<string, string>,
        sourceReady: pulumi.Resource[],
    ): PrivateBucket {
        const replication = args.replication!;
        const provider = new aws.Provider(`${name}-replica`, { region: replication.region as aws.Region, defaultTags: { tags: replication.defaultTags ?? tags } }, { parent: this });
        // The replica keeps what the source keeps: same encryption kind (its own key: KMS keys are
        // regional), lifecycle and object lock (locked objects replicate only into locked buckets).
        const replica = new PrivateBucket(
            `${name}-replica`,
            {
                protect,
                encryption,
                denyUnencryptedUploads: args.denyUnencryptedUploads,
                versioning: true,
                lifecycle: args.lifecycle,
                objectLock: args.objectLock,
                tags,
            },
            { parent: this, providers: [provider] },
        );

        const role = new aws.iam.Role(
            `${name}-replication`,
            {
                description: `S3 replication of ${name} into ${replication.region}`,
                assumeRolePolicy: serviceTrustPolicy("s3.amazonaws.com", { sourceAccount: account }),
                permissionsBoundary: args.permissionsBoundary,
                tags,
            },
            { parent: this },
        );
        const statements: pulumi.Input<Record<string, any>>[] = [
            { Sid: "SourceBucket", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: this.arn },
            {
                Sid: "SourceObjects",
                Effect: "Allow",
                Action: [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                    // Retention and legal hold travel with locked objects.
                    ...(args.objectLock ? ["s3:GetObjectRetention", "s3:GetObjectLegalHold"] : []),
                ],
                Resource: pulumi.interpolate`${this.arn}/*`,
            },
            { Sid: "ReplicaObjects", Effect: "Allow", Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource: pulumi.interpolate`${replica.arn}/*` },
        ];
        if (encryption === "kms") {
            statements.push(
                { Sid: "DecryptSource", Effect: "Allow", Action: "kms:Decrypt", Resource: this.kmsKeyArn!, Condition: { StringEquals: { "kms:ViaService": viaS3(this.kmsKeyArn!) } } },
                {
                    Sid: "EncryptReplica",
                    Effect: "Allow",
                    Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                    Resource: replica.kmsKeyArn!,
                    Condition: { StringEquals: { "kms:ViaService": viaS3(replica.kmsKeyArn!) } },
                },
            );
        }
        const policy = new aws.iam.RolePolicy(
            `${name}-replication`,
            { name: `${name}-replication`, role: role.id, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements }) },
            { parent: this },
        );

        new aws.s3.BucketReplicationConfig(
            name,
            {
                bucket: this.bucket.id,
                role: role.arn,
                rules: [
                    {
                        id: "replicate-everything",
                        status: "Enabled",
                        filter: {},
                        deleteMarkerReplication: { status: "Enabled" },
                        destination: {
                            bucket: replica.arn,
                            ...(encryption === "kms" ? { encryptionConfiguration: { replicaKmsKeyId: replica.kmsKeyArn! } } : {}),
                        },
                        ...(encryption === "kms" ? { sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } } } : {}),
                    },
                ],
            },
            // S3 checks versioning on both sides and the role's access when the rule is put.
            { parent: this, dependsOn: [...sourceReady, replica, policy] },
        );
        return replica;
    }
}

/** The inline policy document of a grant, as JSON text (see grantPolicyDocument). */
export function grantPolicy(kind: GrantKind, arn: pulumi.Input<string>, prefix: string | undefined, kmsKeyArn: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return pulumi
        .all([arn, kmsKeyArn])
        .apply(([bucketArn, keyArn]) => JSON.stringify(grantPolicyDocument(kind, bucketArn, prefix, keyArn)));
}

/**
 * The policy a grant attaches (pure, exported for tests: the backup scripts run against a local S3
 * that enforces exactly this document). With a prefix, `s3:ListBucket` carries an `s3:prefix`
 * condition: the role can list only under its prefix, and S3 then answers a GetObject/HeadObject
 * of a missing key with 403 AccessDenied, not 404, because that needs `s3:ListBucket` on the
 * bucket without condition (Amazon S3 API Reference, GetObject, "Permissions":
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). Readers must decide
 * existence by listing the exact key (components/ssm/lib.sh `s3_key_exists`).
 */
export function grantPolicyDocument(kind: GrantKind, arn: string, prefix: string | undefined, kmsKeyArn: string | undefined): PolicyDocument {
    const read = kind !== "write";
    const write = kind !== "read";
    const objectActions = [
        ...(read ? ["s3:GetObject", "s3:GetObjectVersion"] : []),
        ...(write ? ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"] : []),
        ...(kind === "readwrite" ? ["s3:DeleteObject"] : []),
    ];
    const statements: PolicyStatement[] = [{ Sid: "Objects", Effect: "Allow", Action: objectActions, Resource: `${arn}/${prefix ?? ""}*` }];
    if (read) {
        statements.push({
            Sid: "List",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: arn,
            ...(prefix ? { Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } } } : {}),
        });
    }
    if (kmsKeyArn !== undefined) {
        // Decrypt for reads and for multipart writes (S3 decrypts the data key to join the parts).
        const kmsActions = [...(write ? ["kms:GenerateDataKey"] : []), "kms:Decrypt"];
        statements.push({ Sid: "Kms", Effect: "Allow", Action: kmsActions, Resource: kmsKeyArn, Condition: { StringEquals: { "kms:ViaService": `s3.${kmsKeyArn.split(":")[3]}.amazonaws.com` } } });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** An IAM policy document as the grants write it. */
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Action: string | string[];
    Resource: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

/** `s3.<key's region>.amazonaws.com`: the key may be used only through S3 in its own region. */
function viaS3(kmsKeyArn: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(kmsKeyArn).apply((arn) => `s3.${arn.split(":")[3]}.amazonaws.com`);
}

function kindLabel(kind: GrantKind): string {
    return kind === "read" ? "Read" : kind === "write" ? "Write" : "ReadWrite";
}

/** A prefix as a name part: `backups/dev/` -> `backups-dev`. */
function slug(prefix: string): string {
    return prefix.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

function validatePrefix(what: string, prefix: string): void {
    if (prefix === "" || prefix.startsWith("/") || /[*?$]/.test(prefix) || slug(prefix) === "") {
        throw new Error(`${what} "${prefix}" must be a non-empty key prefix such as "backups/dev/": no leading "/", no wildcards (* ?) or "$"`);
    }
}

function validate(name: string, args: PrivateBucketArgs, encryption: string, versioning: boolean, logDelivery: boolean): void {
    const problems: string[] = [];
    // Amazon S3 User Guide, "General purpose bucket naming rules": 3-63 characters, lowercase
    // letters, digits, dots and hyphens, starting and ending with a letter or digit.
    if (typeof args.bucketName === "string" && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(args.bucketName)) {
        problems.push(`bucketName "${args.bucketName}" must be 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`);
    }
    if (encryption !== "s3" && encryption !== "kms") problems.push(`encryption must be "s3" or "kms", not ${JSON.stringify(encryption)}`);
    if (args.kmsKeyArn !== undefined && encryption !== "kms") problems.push('kmsKeyArn needs encryption "kms"');
    if (logDelivery && encryption === "kms") problems.push('logDelivery buckets must use encryption "s3": ALB access logs support SSE-S3 only');
    if (logDelivery && args.objectLock) problems.push("logDelivery buckets cannot use objectLock: S3 server access logs are not delivered to object-locked buckets");
    if (logDelivery && args.denyUnencryptedUploads) problems.push("logDelivery buckets cannot use denyUnencryptedUploads: log delivery sends no encryption header (default encryption still applies)");
    if (args.objectLock && !versioning) problems.push("objectLock needs versioning");
    if (args.objectLock && (!Number.isInteger(args.objectLock.days) || args.objectLock.days < 1)) problems.push("objectLock.days must be a whole number of days, at least 1");
    if (args.replication && !versioning) problems.push("replication needs versioning on both buckets");
    if (args.replication && !REGION.test(args.replication.region)) problems.push(`replication.region must be an AWS region such as us-west-2, not "${args.replication.region}"`);
    if (args.accessLogs) {
        if (!args.accessLogs.bucket.logDelivery) problems.push("accessLogs.bucket must be a PrivateBucket with logDelivery: true (its policy admits the logging service)");
        if (args.accessLogs.prefix === "" || args.accessLogs.prefix.startsWith("/")) problems.push('accessLogs.prefix must be a key prefix such as "uploads/" (non-empty, no leading "/")');
    }
    const lc = args.lifecycle ?? {};
    const days: Array<[string, number | undefined, number]> = [
        ["infrequentAccessAfterDays", lc.infrequentAccessAfterDays, 30],
        ["glacierInstantAfterDays", lc.glacierInstantAfterDays, 1],
        ["deepArchiveAfterDays", lc.deepArchiveAfterDays, 1],
        ["noncurrentVersionExpirationDays", lc.noncurrentVersionExpirationDays, 1],
        ["abortIncompleteMultipartDays", lc.abortIncompleteMultipartDays, 1],
    ];
    for (const [key, value, min] of days) {
        if (value !== undefined && (!Number.isInteger(value) || value < min)) problems.push(`lifecycle.${key} must be a whole number of days, at least ${min}${min === 30 ? " (S3's minimum for STANDARD_IA)" : ""}`);
    }
    if (lc.expireAfterDays !== undefined && (!Number.isInteger(lc.expireAfterDays) || lc.expireAfterDays < 0)) problems.push("lifecycle.expireAfterDays must be a whole number of days (0 = never)");
    const order = [
        ["infrequentAccessAfterDays", lc.infrequentAccessAfterDays],
        ["glacierInstantAfterDays", lc.glacierInstantAfterDays],
        ["deepArchiveAfterDays", lc.deepArchiveAfterDays],
        ["expireAfterDays", lc.expireAfterDays || undefined],
    ].filter((e): e is [string, number] => e[1] !== undefined);
    for (let i = 1; i < order.length; i++) {
        if (order[i][1] <= order[i - 1][1]) problems.push(`lifecycle.${order[i][0]} (${order[i][1]}) must be greater than ${order[i - 1][0]} (${order[i - 1][1]})`);
    }
    if (lc.prefix !== undefined && (lc.prefix === "" || lc.prefix.startsWith("/"))) problems.push('lifecycle.prefix must be a key prefix such as "snapshots/" (non-empty, no leading "/")');
    if (args.objectLock && lc.expireAfterDays && lc.expireAfterDays < args.objectLock.days) {
        problems.push(`lifecycle.expireAfterDays (${lc.expireAfterDays}) must not be less than objectLock.days (${args.objectLock.days}): locked objects cannot expire`);
    }
    if (problems.length > 0) {
        throw new Error(`PrivateBucket "${name}": ${problems.join("; ")}`);
    }
}
