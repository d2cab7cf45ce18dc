import { strict as assert } from "assert";
import { GraphResource } from "../tools/graph";
import { OfflineResult, ProgramError } from "../tools/offline";
import { runPolicies } from "../tools/policyCheck";
import { json, one, serialRun, stackRun, tempStackFile } from "./support/stacks";

const COMPONENT = "platform:bucket:PrivateBucket";
const T = {
    bucket: "aws:s3/bucket:Bucket",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    logging: "aws:s3/bucketLogging:BucketLogging",
    lock: "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    replication: "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
    key: "aws:kms/key:Key",
    alias: "aws:kms/alias:Alias",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    provider: "pulumi:providers:aws",
};
const ACCOUNT = "123456789012";

const tlsDeny = (arn: string) => ({
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [arn, `${arn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
});
const abortRule = (days: number) => ({ id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: days } });
const noncurrentRule = (days: number) => ({ id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: days } });

/** A child of `component` with the given type (and the component's own name unless given). */
function child(resources: GraphResource[], component: GraphResource, type: string, name = component.name): GraphResource {
    const found = resources.filter((r) => r.type === type && r.name === name && r.parent === component.urn);
    assert.equal(found.length, 1, `expected one ${type} ${name} under ${component.name}, found ${found.length}`);
    return found[0];
}

/** Every statement of every policy document in the grant/replication role policies. */
function allowStatements(resources: GraphResource[]): any[] {
    return resources.filter((r) => r.type === T.rolePolicy).flatMap((r) => json(r.inputs.policy).Statement);
}

const EXPECTED = {
    dev: { prod: false, noncurrent: 7, logsExpire: 90, backupExpire: 120 },
    prod: { prod: true, noncurrent: 90, logsExpire: 365, backupExpire: 365 },
} as const;
const BUCKETS = [
    { name: "logs", output: "logsBucketName", logsPrefix: undefined },
    { name: "uploads", output: "uploadsBucketName", logsPrefix: "s3/uploads/" },
    { name: "backups", output: "backupBucketName", logsPrefix: "s3/backups/" },
    { name: "bake-logs", output: "bakeLogsBucketName", logsPrefix: "s3/bake-logs/" },
    { name: "releases", output: "releaseBucketName", logsPrefix: "s3/releases/" },
] as const;

for (const stack of ["dev", "prod"] as const) {
    describe(`PrivateBucket in the ${stack} stack`, () => {
        const expected = EXPECTED[stack];
        let run: OfflineResult;
        let resources: GraphResource[];
        before(async () => {
            run = await stackRun(stack);
            resources = run.graph.resources;
        });
        const component = (name: string) => one(resources, COMPONENT, name);
        const arnOf = (name: string) => `arn:aws:s3:::${run.graph.outputs[BUCKETS.find((b) => b.name === name)!.output]}`;
        const kms = (name: string) => stack === "prod" && name !== "logs";

        it("makes the five buckets, each a component at the top of the stack, and exports their names", () => {
            const stackUrn = one(resources, "pulumi:pulumi:Stack").urn;
            // (prod's DNS failover adds a maintenance-page bucket inside the Dns component, not at the top.)
            assert.deepEqual(resources.filter((r) => r.type === COMPONENT && r.parent === stackUrn).map((r) => r.name).sort(), ["backups", "bake-logs", "logs", "releases", "uploads"]);
            for (const b of BUCKETS) {
                assert.equal(component(b.name).parent, stackUrn);
                assert.match(String(run.graph.outputs[b.output]), new RegExp(`^${b.name}-[0-9a-f]{7}$`));
            }
        });

        for (const b of BUCKETS) {
            describe(b.name, () => {
                it(`creates the bucket ${expected.prod ? "protected and retained, without" : "unprotected, with"} forceDestroy, through the stack provider`, () => {
                    const bucket = child(resources, component(b.name), T.bucket);
                    assert.equal(bucket.protect, expected.prod);
                    assert.equal(bucket.retainOnDelete, expected.prod);
                    assert.equal(bucket.inputs.forceDestroy, !expected.prod);
                    assert.equal(bucket.inputs.objectLockEnabled, undefined);
                    assert.equal(bucket.provider, one(resources, T.provider, "aws").urn);
                });

                it("blocks all public access on this very bucket, ACLs off", () => {
                    const c = component(b.name);
                    const bucket = child(resources, c, T.bucket);
                    const pab = child(resources, c, T.pab);
                    assert.deepEqual(pab.inputs, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
                    assert.deepEqual(pab.propertyDependencies.bucket, [bucket.urn]);
                    const own = child(resources, c, T.ownership);
                    assert.deepEqual(own.inputs, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
                    assert.deepEqual(own.propertyDependencies.bucket, [bucket.urn]);
                });

                it(`encrypts by default with ${kms(b.name) ? "SSE-KMS (own rotated key, bucket keys)" : "SSE-S3"}`, () => {
                    const c = component(b.name);
                    const bucket = child(resources, c, T.bucket);
                    const sse = child(resources, c, T.sse);
                    assert.deepEqual(sse.propertyDependencies.bucket, [bucket.urn]);
                    if (!kms(b.name)) {
                        assert.deepEqual(sse.inputs, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
                        assert.equal(resources.filter((r) => r.type === T.key && r.parent === c.urn).length, 0);
                        return;
                    }
                    const key = child(resources, c, T.key);
                    const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${key.id}`;
                    assert.deepEqual(sse.inputs, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn }, bucketKeyEnabled: true }] });
                    assert.deepEqual(sse.propertyDependencies.rules, [key.urn]);
                    assert.deepEqual(key.inputs, { description: `SSE-KMS for the ${b.name} bucket`, enableKeyRotation: true, deletionWindowInDays: 30, tags: {} });
                    assert.equal(key.protect, true);
                    assert.equal(key.retainOnDelete, true);
                    assert.deepEqual(child(resources, c, T.alias).inputs, { name: `alias/platform-prod-${b.name}`, targetKeyId: key.id });
                });

                it("turns versioning on", () => {
                    const c = component(b.name);
                    assert.deepEqual(child(resources, c, T.versioning).inputs, { bucket: child(resources, c, T.bucket).id, versioningConfiguration: { status: "Enabled" } });
                });

                it("has a TLS-only bucket policy put after the public access block", () => {
                    const c = component(b.name);
                    const policy = child(resources, c, T.policy);
                    const arn = arnOf(b.name);
                    const statements: any[] = [tlsDeny(arn)];
                    if (b.name === "logs") {
                        statements.push(
                            {
                                Sid: "S3ServerAccessLogsDelivery",
                                Effect: "Allow",
                                Principal: { Service: "logging.s3.amazonaws.com" },
                                Action: "s3:PutObject",
                                Resource: `${arn}/*`,
                                Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
                            },
                            { Sid: "AlbAccessLogsDelivery", Effect: "Allow", Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" }, Action: "s3:PutObject", Resource: `${arn}/*AWSLogs/${ACCOUNT}/*` },
                            // us-east-1 predates the service principal: its ELB account writes there.
                            { Sid: "AlbAccessLogsDeliveryLegacyRegion", Effect: "Allow", Principal: { AWS: "arn:aws:iam::127311923021:root" }, Action: "s3:PutObject", Resource: `${arn}/*AWSLogs/${ACCOUNT}/*` },
                        );
                    }
                    assert.deepEqual(json(policy.inputs.policy), { Version: "2012-10-17", Statement: statements });
                    assert.deepEqual(policy.propertyDependencies.bucket, [child(resources, c, T.bucket).urn]);
                    assert.ok(policy.dependencies.includes(child(resources, c, T.pab).urn), "policy must wait for the public access block");
                });

                it("has exactly the expected lifecycle rules", () => {
                    const c = component(b.name);
                    const lifecycle = child(resources, c, T.lifecycle);
                    const rules: any[] = [abortRule(7), noncurrentRule(expected.noncurrent)];
                    if (b.name === "logs") rules.push({ id: "tiering-and-expiry", status: "Enabled", filter: {}, expiration: { days: expected.logsExpire } });
                    if (b.name === "bake-logs") rules.push({ id: "tiering-and-expiry", status: "Enabled", filter: {}, expiration: { days: 90 } });
                    if (b.name === "backups") {
                        rules.push({
                            id: "tiering-and-expiry",
                            status: "Enabled",
                            filter: {},
                            transitions: [
                                { days: 30, storageClass: "STANDARD_IA" },
                                { days: 90, storageClass: "GLACIER_IR" },
                            ],
                            expiration: { days: expected.backupExpire },
                        });
                    }
                    assert.deepEqual(lifecycle.inputs, { bucket: child(resources, c, T.bucket).id, rules });
                    assert.ok(lifecycle.dependencies.includes(child(resources, c, T.versioning).urn));
                });

                it(b.logsPrefix ? `logs its requests into the logs bucket under ${b.logsPrefix}` : "does not log into itself", () => {
                    const c = component(b.name);
                    const logging = resources.filter((r) => r.type === T.logging && r.parent === c.urn);
                    if (!b.logsPrefix) {
                        assert.equal(logging.length, 0);
                        return;
                    }
                    assert.equal(logging.length, 1);
                    assert.deepEqual(logging[0].inputs, { bucket: child(resources, c, T.bucket).id, targetBucket: run.graph.outputs.logsBucketName, targetPrefix: b.logsPrefix });
                    // dependsOn a component waits for (and records) its children.
                    assert.ok(logging[0].dependencies.includes(child(resources, component("logs"), T.policy).urn), "logging must wait for the log bucket's policy");
                });

                it("has no object lock or replication (not enabled in the shipped stacks)", () => {
                    const c = component(b.name);
                    assert.equal(resources.filter((r) => r.parent === c.urn && (r.type === T.lock || r.type === T.replication || r.type === T.provider)).length, 0);
                });
            });
        }

        it("the policy pack finds nothing wrong with the buckets", async () => {
            const mine = new Set(resources.filter((r) => r.urn.includes(COMPONENT)).map((r) => r.urn));
            const violations = (await runPolicies(run.graph)).filter((v) => v.urn !== null && mine.has(v.urn));
            assert.deepEqual(violations, []);
        });
    });
}

describe("PrivateBucket grants, replication and object lock (tests/fixtures/grants)", () => {
    let resources: GraphResource[];
    let names: Record<string, string>;
    before(async () => {
        const run = await serialRun({ programDir: "tests/fixtures/grants", stack: "test" });
        resources = run.graph.resources;
        names = run.graph.outputs.names as Record<string, string>;
    });
    const arn = (bucket: string) => `arn:aws:s3:::${names[bucket]}`;
    const grant = (logicalName: string) => one(resources, T.rolePolicy, logicalName);
    const kmsStatement = (actions: string[], keyArn: string, region = "us-east-1") => ({
        Sid: "Kms",
        Effect: "Allow",
        Action: actions,
        Resource: keyArn,
        Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
    });
    const list = (bucketArn: string, prefix?: string) => ({
        Sid: "List",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn,
        ...(prefix ? { Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } } } : {}),
    });
    const READ = ["s3:GetObject", "s3:GetObjectVersion"];
    const WRITE = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
    const READWRITE = [...READ, ...WRITE, "s3:DeleteObject"];
    const doc = (...Statement: any[]) => ({ Version: "2012-10-17", Statement });

    function assertGrant(logicalName: string, policyName: string, expectedDoc: unknown, parentName: string, roleName = "app") {
        const g = grant(logicalName);
        assert.equal(g.inputs.name, policyName);
        assert.equal(g.inputs.role, one(resources, T.role, roleName === "app" ? "app" : roleName).id);
        assert.equal(g.parent, one(resources, COMPONENT, parentName).urn);
        assert.deepEqual(json(g.inputs.policy), expectedDoc);
    }

    describe("SSE-S3 bucket", () => {
        it("grantRead without prefix: objects and list on the whole bucket", () => {
            assertGrant("plain-app-read", "plain-read", doc({ Sid: "Objects", Effect: "Allow", Action: READ, Resource: `${arn("plain")}/*` }, list(arn("plain"))), "plain");
        });
        it("grantRead with prefix: objects under the prefix, list limited by s3:prefix", () => {
            assertGrant(
                "plain-app-read-reports-2024",
                "plain-read-reports-2024",
                doc({ Sid: "Objects", Effect: "Allow", Action: READ, Resource: `${arn("plain")}/reports/2024/*` }, list(arn("plain"), "reports/2024/")),
                "plain",
            );
        });
        it("grantWrite: put and multipart only, no list, no read, no delete", () => {
            assertGrant("plain-app-write", "plain-write", doc({ Sid: "Objects", Effect: "Allow", Action: WRITE, Resource: `${arn("plain")}/*` }), "plain");
            assertGrant("plain-app-write-incoming", "plain-write-incoming", doc({ Sid: "Objects", Effect: "Allow", Action: WRITE, Resource: `${arn("plain")}/incoming/*` }), "plain");
        });
        it("grantReadWrite: read, write and delete on the prefix", () => {
            assertGrant("plain-app-readwrite", "plain-readwrite", doc({ Sid: "Objects", Effect: "Allow", Action: READWRITE, Resource: `${arn("plain")}/*` }, list(arn("plain"))), "plain");
            assertGrant(
                "plain-app-readwrite-shared",
                "plain-readwrite-shared",
                doc({ Sid: "Objects", Effect: "Allow", Action: READWRITE, Resource: `${arn("plain")}/shared/*` }, list(arn("plain"), "shared/")),
                "plain",
            );
        });
    });

    describe("SSE-KMS bucket", () => {
        it("grantRead adds kms:Decrypt on the bucket's key, through S3 only", () => {
            assert.match(names.sealedKey, /^arn:aws:kms:us-east-1:123456789012:key\/[0-9a-f]{17}$/);
            assertGrant(
                "sealed-app-read",
                "sealed-read",
                doc({ Sid: "Objects", Effect: "Allow", Action: READ, Resource: `${arn("sealed")}/*` }, list(arn("sealed")), kmsStatement(["kms:Decrypt"], names.sealedKey)),
                "sealed",
            );
        });
        it("grantWrite adds kms:GenerateDataKey and kms:Decrypt (multipart)", () => {
            assertGrant(
                "sealed-app-write-incoming",
                "sealed-write-incoming",
                doc({ Sid: "Objects", Effect: "Allow", Action: WRITE, Resource: `${arn("sealed")}/incoming/*` }, kmsStatement(["kms:GenerateDataKey", "kms:Decrypt"], names.sealedKey)),
                "sealed",
            );
        });
        it("grantReadWrite with a grantee name names the grant after it", () => {
            assertGrant(
                "sealed-worker-readwrite-shared",
                "sealed-readwrite-shared",
                doc(
                    { Sid: "Objects", Effect: "Allow", Action: READWRITE, Resource: `${arn("sealed")}/shared/*` },
                    list(arn("sealed"), "shared/"),
                    kmsStatement(["kms:GenerateDataKey", "kms:Decrypt"], names.sealedKey),
                ),
                "sealed",
            );
        });
        it("uses a given key instead of creating one", () => {
            const c = one(resources, COMPONENT, "external");
            assert.equal(resources.filter((r) => r.type === T.key && r.parent === c.urn).length, 0);
            const key = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";
            assert.equal(child(resources, c, T.sse).inputs.rules && (child(resources, c, T.sse).inputs.rules as any)[0].applyServerSideEncryptionByDefault.kmsMasterKeyId, key);
            assertGrant(
                "external-app-read-exports",
                "external-read-exports",
                doc({ Sid: "Objects", Effect: "Allow", Action: READ, Resource: `${arn("external")}/exports/*` }, list(arn("external"), "exports/"), kmsStatement(["kms:Decrypt"], key)),
                "external",
            );
        });
    });

    it("no grant or replication policy allows s3:* or any action on Resource \"*\"", () => {
        const statements = allowStatements(resources);
        assert.ok(statements.length >= 20);
        for (const s of statements) {
            assert.equal(s.Effect, "Allow");
            const actions = [s.Action].flat();
            const targets = [s.Resource].flat();
            assert.ok(!actions.some((a: string) => a === "*" || a === "s3:*" || a.endsWith(":*")), JSON.stringify(s));
            assert.ok(!targets.some((r: string) => r === "*"), JSON.stringify(s));
            assert.ok(targets.every((r: string) => /^arn:aws:(s3:::|kms:[a-z0-9-]+:123456789012:key\/)/.test(r)), JSON.stringify(s));
        }
    });

    describe("replication with SSE-KMS and object lock (vault -> us-west-2)", () => {
        it("creates the replica as a child PrivateBucket through its own us-west-2 provider", () => {
            const vault = one(resources, COMPONENT, "vault");
            const replica = one(resources, COMPONENT, "vault-replica");
            assert.equal(replica.parent, vault.urn);
            const provider = child(resources, vault, T.provider, "vault-replica");
            assert.equal(provider.inputs.region, "us-west-2");
            assert.deepEqual(json(provider.inputs.defaultTags), { tags: { Project: "grants" } });
            for (const r of resources.filter((x) => x.parent === replica.urn && x.custom)) {
                assert.equal(r.provider, provider.urn, `${r.type} ${r.name} must be created in the replica region`);
            }
            const bucket = child(resources, replica, T.bucket);
            assert.equal(bucket.protect, true);
            assert.equal(bucket.retainOnDelete, true);
            assert.equal(bucket.inputs.objectLockEnabled, true);
            assert.match(names.vaultReplicaKey, /^arn:aws:kms:us-west-2:123456789012:key\//);
            assert.deepEqual(child(resources, replica, T.pab).inputs, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
            assert.deepEqual((child(resources, replica, T.sse).inputs.rules as any)[0], { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: names.vaultReplicaKey }, bucketKeyEnabled: true });
            assert.deepEqual(child(resources, replica, T.versioning).inputs.versioningConfiguration, { status: "Enabled" });
            assert.deepEqual(child(resources, replica, T.lock).inputs.rule, { defaultRetention: { mode: "COMPLIANCE", days: 30 } });
            assert.deepEqual(json(child(resources, replica, T.policy).inputs.policy).Statement[0], tlsDeny(arn("vaultReplica")));
        });

        it("the replication role is trusted by S3 of this account only", () => {
            const role = child(resources, one(resources, COMPONENT, "vault"), T.role, "vault-replication");
            assert.deepEqual(json(role.inputs.assumeRolePolicy), {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } }],
            });
        });

        it("the replication role has exactly the permissions replication needs", () => {
            const vault = one(resources, COMPONENT, "vault");
            const policy = child(resources, vault, T.rolePolicy, "vault-replication");
            assert.equal(policy.inputs.role, child(resources, vault, T.role, "vault-replication").id);
            assert.deepEqual(json(policy.inputs.policy), {
                Version: "2012-10-17",
                Statement: [
                    { Sid: "SourceBucket", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: arn("vault") },
                    {
                        Sid: "SourceObjects",
                        Effect: "Allow",
                        Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
                        Resource: `${arn("vault")}/*`,
                    },
                    { Sid: "ReplicaObjects", Effect: "Allow", Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource: `${arn("vaultReplica")}/*` },
                    { Sid: "DecryptSource", Effect: "Allow", Action: "kms:Decrypt", Resource: names.vaultKey, Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } },
                    {
                        Sid: "EncryptReplica",
                        Effect: "Allow",
                        Action: ["kms:Encrypt", "kms:GenerateDataKey"],
                        Resource: names.vaultReplicaKey,
                        Condition: { StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } },
                    },
                ],
            });
        });

        it("replicates everything, KMS-encrypted objects included, once both sides are ready", () => {
            const vault = one(resources, COMPONENT, "vault");
            const config = child(resources, vault, T.replication);
            const role = child(resources, vault, T.role, "vault-replication");
            const { role: roleArn, ...rest } = config.inputs;
            assert.match(String(roleArn), /^arn:aws:iam::123456789012:role\/vault-replication-[0-9a-f]{7}$/);
            assert.deepEqual(rest, {
                bucket: child(resources, vault, T.bucket).id,
                rules: [
                    {
                        id: "replicate-everything",
                        status: "Enabled",
                        filter: {},
                        deleteMarkerReplication: { status: "Enabled" },
                        destination: { bucket: arn("vaultReplica"), encryptionConfiguration: { replicaKmsKeyId: names.vaultReplicaKey } },
                        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: "Enabled" } },
                    },
                ],
            });
            assert.deepEqual(config.propertyDependencies.role, [role.urn]);
            const replica = one(resources, COMPONENT, "vault-replica");
            const ready = [T.versioning, T.policy, T.sse].map((t) => child(resources, replica, t).urn);
            for (const dep of [child(resources, vault, T.versioning).urn, child(resources, vault, T.sse).urn, ...ready, child(resources, vault, T.rolePolicy, "vault-replication").urn]) {
                assert.ok(config.dependencies.includes(dep), `replication must wait for ${dep}`);
            }
        });

        it("locks the source with default retention, created with objectLockEnabled, protected", () => {
            const vault = one(resources, COMPONENT, "vault");
            const bucket = child(resources, vault, T.bucket);
            assert.deepEqual(bucket.inputs, { objectLockEnabled: true, forceDestroy: false, tags: { Data: "backups" } });
            assert.equal(bucket.protect, true);
            assert.equal(bucket.retainOnDelete, true);
            const key = child(resources, vault, T.key);
            assert.equal(key.protect, true);
            assert.equal(key.retainOnDelete, true);
            const lock = child(resources, vault, T.lock);
            assert.deepEqual(lock.inputs, { bucket: bucket.id, objectLockEnabled: "Enabled", rule: { defaultRetention: { mode: "COMPLIANCE", days: 30 } } });
            assert.ok(lock.dependencies.includes(child(resources, vault, T.versioning).urn));
        });

        it("limits tiering and expiry to the prefix, with its own housekeeping days", () => {
            const vault = one(resources, COMPONENT, "vault");
            assert.deepEqual(child(resources, vault, T.lifecycle).inputs.rules, [
                abortRule(3),
                noncurrentRule(14),
                {
                    id: "tiering-and-expiry",
                    status: "Enabled",
                    filter: { prefix: "snapshots/" },
                    transitions: [
                        { days: 30, storageClass: "STANDARD_IA" },
                        { days: 90, storageClass: "GLACIER_IR" },
                        { days: 180, storageClass: "DEEP_ARCHIVE" },
                    ],
                    expiration: { days: 400 },
                },
            ]);
        });

        it("denies uploads asking for another encryption or a customer key (not those relying on default encryption), and logs to the log bucket", () => {
            const vault = one(resources, COMPONENT, "vault");
            const objects = `${arn("vault")}/*`;
            assert.deepEqual(json(child(resources, vault, T.policy).inputs.policy).Statement, [
                tlsDeny(arn("vault")),
                {
                    Sid: "DenyWrongEncryption",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:PutObject",
                    Resource: objects,
                    Condition: { Null: { "s3:x-amz-server-side-encryption": "false" }, StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } },
                },
                { Sid: "DenyCustomerProvidedKeys", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: objects, Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } } },
            ]);
            assert.deepEqual(child(resources, vault, T.logging).inputs, { bucket: child(resources, vault, T.bucket).id, targetBucket: names.logs, targetPrefix: "s3/vault/" });
        });

        it("grants on the replica use the replica's key and region", () => {
            assertGrant(
                "vault-replica-restore-read-snapshots",
                "vault-replica-read-snapshots",
                doc(
                    { Sid: "Objects", Effect: "Allow", Action: READ, Resource: `${arn("vaultReplica")}/snapshots/*` },
                    list(arn("vaultReplica"), "snapshots/"),
                    kmsStatement(["kms:Decrypt"], names.vaultReplicaKey, "us-west-2"),
                ),
                "vault-replica",
            );
        });
    });

    describe("replication with SSE-S3 (mirror -> eu-west-1)", () => {
        it("has no KMS permissions or encryption settings, and appends extra policy statements", () => {
            const mirror = one(resources, COMPONENT, "mirror");
            assert.deepEqual(json(child(resources, mirror, T.rolePolicy, "mirror-replication").inputs.policy).Statement, [
                { Sid: "SourceBucket", Effect: "Allow", Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"], Resource: arn("mirror") },
                { Sid: "SourceObjects", Effect: "Allow", Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], Resource: `${arn("mirror")}/*` },
                { Sid: "ReplicaObjects", Effect: "Allow", Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], Resource: `${arn("mirrorReplica")}/*` },
            ]);
            assert.deepEqual(child(resources, mirror, T.replication).inputs.rules, [
                { id: "replicate-everything", status: "Enabled", filter: {}, deleteMarkerReplication: { status: "Enabled" }, destination: { bucket: arn("mirrorReplica") } },
            ]);
            assert.equal(child(resources, mirror, T.provider, "mirror-replica").inputs.region, "eu-west-1");
            const replicaBucket = child(resources, one(resources, COMPONENT, "mirror-replica"), T.bucket);
            assert.equal(replicaBucket.protect, false);
            assert.equal(replicaBucket.inputs.forceDestroy, true);
            const statements = json(child(resources, mirror, T.policy).inputs.policy).Statement;
            assert.deepEqual(statements[1], { Sid: "ReadForRole", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/${names.role}` }, Action: "s3:GetObject", Resource: "arn:aws:s3:::mirror-example/*" });
        });
    });

    it("the policy pack finds nothing wrong with the fixture's buckets", async () => {
        const run = await serialRun({ programDir: "tests/fixtures/grants", stack: "test" });
        const violations = (await runPolicies(run.graph)).filter((v) => v.level === "mandatory");
        assert.deepEqual(violations, []);
    });
});

describe("PrivateBucket argument validation", () => {
    const CASES: Record<string, RegExp> = {
        kmsLogDelivery: /PrivateBucket "bad": logDelivery buckets must use encryption "s3": ALB access logs support SSE-S3 only/,
        keyWithoutKms: /kmsKeyArn needs encryption "kms"/,
        shortInfrequentAccess: /lifecycle\.infrequentAccessAfterDays must be a whole number of days, at least 30/,
        transitionOrder: /lifecycle\.glacierInstantAfterDays \(30\) must be greater than infrequentAccessAfterDays \(60\)/,
        lockWithoutVersioning: /objectLock needs versioning/,
        logsToPlainBucket: /accessLogs\.bucket must be a PrivateBucket with logDelivery: true/,
        lockedLogBucket: /logDelivery buckets cannot use objectLock/,
        badReplicationRegion: /replication\.region must be an AWS region such as us-west-2, not "mars-1"/,
        wildcardPrefix: /grantRead prefix "data\/\*" must be a non-empty key prefix/,
        duplicateGrant: /a read grant to "app" on prefix "a\/" already exists/,
        granteeWithoutName: /grantRead needs a grantee \{ name, role \} whose name is letters, digits/,
        bad: /encryption must be "s3" or "kms", not "sse"/,
    };
    for (const [name, message] of Object.entries(CASES)) {
        it(`refuses ${name} with a message that says what to do`, async () => {
            const configFile = tempStackFile(null, { "aws:region": "us-east-1", "grants:invalid": name });
            await assert.rejects(serialRun({ programDir: "tests/fixtures/grants", stack: "test", configFile }), (err: unknown) => {
                assert.ok(err instanceof ProgramError, String(err));
                assert.match((err as Error).message, message);
                return true;
            });
        });
    }
});
