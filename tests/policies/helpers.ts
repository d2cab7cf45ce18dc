/** Small hand-built resource graphs for the policy tests. */

import * as assert from "assert";
import type { GraphResource, Violation } from "../../tools/graph";
import { GraphLike, PolicyConfig, runPolicies } from "../../tools/policyCheck";

export const STACK_URN = "urn:pulumi:test::platform::pulumi:pulumi:Stack::platform-test";

export function urnOf(type: string, name: string): string {
    return `urn:pulumi:test::platform::${type}::${name}`;
}

/** A custom resource with the given inputs; `deps` maps input names to the resources they came from. */
export function res(type: string, name: string, inputs: Record<string, unknown> = {},
    deps: Record<string, GraphResource[]> = {}, extra: Partial<GraphResource> = {}): GraphResource {
    const propertyDependencies: Record<string, string[]> = {};
    for (const [k, rs] of Object.entries(deps)) {
        propertyDependencies[k] = rs.map(r => r.urn);
    }
    return {
        urn: urnOf(type, name),
        type,
        name,
        parent: STACK_URN,
        dependencies: [...new Set(Object.values(propertyDependencies).flat())],
        propertyDependencies,
        protect: false,
        retainOnDelete: false,
        custom: true,
        remote: false,
        provider: null,
        id: `${name}-id`,
        inputs,
        ...extra,
    };
}

export function graph(...resources: GraphResource[]): GraphLike {
    return { project: "platform", stack: "test", resources };
}

/** Runs every rule and returns the violations of `rule` only. */
export async function violationsOf(g: GraphLike, rule: string, config?: PolicyConfig): Promise<Violation[]> {
    return (await runPolicies(g, { config })).filter(v => v.policy === rule);
}

/** Asserts `rule` reports nothing on `g`. */
export async function expectPass(g: GraphLike, rule: string, config?: PolicyConfig): Promise<void> {
    const vs = await violationsOf(g, rule, config);
    assert.deepStrictEqual(vs, [], `expected no ${rule} violations, got:\n${vs.map(v => v.message).join("\n")}`);
}

/** Asserts `rule` reports `offender` (and only resources in `offenders` if given); returns its violations. */
export async function expectViolation(g: GraphLike, rule: string, offender: GraphResource,
    opts: { config?: PolicyConfig; level?: Violation["level"]; match?: RegExp } = {}): Promise<Violation[]> {
    const vs = await violationsOf(g, rule, opts.config);
    const mine = vs.filter(v => v.urn === offender.urn);
    assert.ok(mine.length > 0, `expected a ${rule} violation on ${offender.urn}, got: ${JSON.stringify(vs, null, 2)}`);
    for (const v of mine) {
        assert.match(v.message, / Fix: \S/, `message lacks a remediation hint: ${v.message}`);
        assert.ok(v.message.includes(offender.name), `message does not name '${offender.name}': ${v.message}`);
        if (opts.level) {
            assert.strictEqual(v.level, opts.level);
        }
        if (opts.match) {
            assert.match(v.message, opts.match);
        }
    }
    return mine;
}

// ------------------------------------------------------------------------------------------------
// Compliant building blocks
// ------------------------------------------------------------------------------------------------

export const B = {
    bucket: "aws:s3/bucket:Bucket",
    bucketV2: "aws:s3/bucketV2:BucketV2",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    policy: "aws:s3/bucketPolicy:BucketPolicy",
    acl: "aws:s3/bucketAcl:BucketAcl",
    aclV2: "aws:s3/bucketAclV2:BucketAclV2",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    website: "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
};

export function tlsDenyStatement(arn = "<computed>"): Record<string, unknown> {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/** A bucket with everything the private-bucket rules ask for, wired through property dependencies. */
export function secureBucket(name: string, bucketType = B.bucket): GraphResource[] {
    const bucket = res(bucketType, name, { bucket: `${name}-physical`, tags: { Environment: "dev" } });
    return [
        bucket,
        res(B.pab, `${name}-pab`, {
            bucket: "<computed>", blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, { bucket: [bucket] }),
        res(B.policy, `${name}-policy`, {
            bucket: "<computed>",
            policy: { Version: "2012-10-17", Statement: [tlsDenyStatement()] },
        }, { bucket: [bucket] }),
        res(B.sse, `${name}-sse`, {
            bucket: "<computed>",
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
        }, { bucket: [bucket] }),
    ];
}

export const ec2TrustPolicy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
});
