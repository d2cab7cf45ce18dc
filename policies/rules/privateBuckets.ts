/**
 * Private buckets: no S3 bucket may be readable by the public, every bucket is locked down by a
 * public access block, refuses plain-HTTP access, and is encrypted at rest by default.
 *
 * Rules that need to pair a bucket with its satellite resources (public access block, bucket
 * policy, encryption configuration) are stack policies: a satellite belongs to a bucket when its
 * `bucket` input was computed from the bucket (`propertyDependencies.bucket` holds the bucket's
 * URN) or, failing that, when its literal `bucket` value equals the bucket's name/id.
 */

import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import {
    RuleMetadata, Statement, UNKNOWN, bool, conditionKeys, conditionValues, get, getArray, isAllow, isDeny,
    isSet, isWildcardPrincipal, keys, msg, plain, statements, strList, RESTRICTING_CONDITION_KEYS,
} from "./util";

/** Bucket resource types. In @pulumi/aws v7 `aws.s3.Bucket` is the current type (it aliases the
 *  former `BucketV2`); `aws.s3.BucketV2` is kept, deprecated, for older programs. */
export const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];
export const PUBLIC_ACCESS_BLOCK_TYPE = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const BUCKET_ACL_TYPES = ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"];
export const BUCKET_POLICY_TYPE = "aws:s3/bucketPolicy:BucketPolicy";
export const WEBSITE_TYPES = [
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration",
    "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2",
];
export const SSE_TYPES = [
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
];

/** Canned ACLs that open a bucket to everyone (or to every AWS account). */
export const PUBLIC_CANNED_ACLS = ["public-read", "public-read-write", "authenticated-read"];
/** Grantee group URIs that mean "everyone" / "any AWS account". */
export const PUBLIC_GRANTEE_URIS = [
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
];
export const PUBLIC_ACCESS_BLOCK_SETTINGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

const isBucket = (t: string) => BUCKET_TYPES.includes(t);

/** True when `satellite`'s `bucket` input refers to `bucket`. */
export function belongsTo(satellite: PolicyResource, bucket: PolicyResource): boolean {
    const deps = satellite.propertyDependencies?.bucket ?? [];
    if (deps.some(d => d && d.urn === bucket.urn)) {
        return true;
    }
    const ref = get(satellite.props, "bucket");
    if (typeof ref !== "string" || ref === "") {
        return false;
    }
    return [get(bucket.props, "bucket"), get(bucket.props, "id")].some(v => typeof v === "string" && v === ref);
}

function label(r: { type: string; name: string }): string {
    return `${r.type.split(":").pop()} '${r.name}'`;
}

function isPublicUri(uri: unknown): boolean {
    return typeof uri === "string" && PUBLIC_GRANTEE_URIS.some(u => uri.trim().toLowerCase() === u.toLowerCase());
}

// ------------------------------------------------------------------------------------------------

export const publicAccessBlock: StackValidationPolicy = {
    name: "s3-bucket-public-access-block",
    description: "Every S3 bucket has a public access block with all four settings enabled.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Add an aws.s3.BucketPublicAccessBlock for the bucket (bucket: bucket.id) with " +
        "blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const blocks = args.resources.filter(r => r.type === PUBLIC_ACCESS_BLOCK_TYPE);
        const weak = (b: PolicyResource) =>
            PUBLIC_ACCESS_BLOCK_SETTINGS.filter(s => bool(get(b.props, s)) !== true && bool(get(b.props, s)) !== UNKNOWN);
        const matched = new Set<PolicyResource>();
        for (const bucket of args.resources.filter(r => isBucket(r.type))) {
            const mine = blocks.filter(b => belongsTo(b, bucket));
            mine.forEach(b => matched.add(b));
            if (mine.some(b => weak(b).length === 0)) {
                continue;
            }
            const fix = `add new aws.s3.BucketPublicAccessBlock("${bucket.name}-public-access", { bucket: <'${bucket.name}' bucket>.id, ` +
                "blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }).";
            if (mine.length === 0) {
                reportViolation(msg(`S3 ${label(bucket)} has no public access block.`, fix), bucket.urn);
            } else {
                const details = mine.map(b => `${label(b)} leaves ${weak(b).join(", ")} unset or false`).join("; ");
                reportViolation(msg(`S3 ${label(bucket)} is not fully protected from public access: ${details}.`,
                    "set all four settings (blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets) to true."), bucket.urn);
            }
        }
        for (const b of blocks) {
            if (!matched.has(b) && weak(b).length > 0) {
                reportViolation(msg(`${label(b)} leaves ${weak(b).join(", ")} unset or false.`,
                    "set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to true."), b.urn);
            }
        }
    },
};

export const noPublicAcl: ResourceValidationPolicy = {
    name: "s3-no-public-acl",
    description: "No S3 bucket or bucket ACL uses a public canned ACL or grants access to AllUsers/AuthenticatedUsers.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Remove the public canned ACL / grant; use bucket ownership controls (BucketOwnerEnforced) and grant " +
        "access through IAM roles or a bucket policy naming specific principals.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const fix = "remove the public ACL/grant (prefer aws.s3.BucketOwnershipControls with objectOwnership " +
            "\"BucketOwnerEnforced\", which disables ACLs) and grant access to specific IAM roles instead.";
        let acl: unknown;
        let grantUris: unknown[] = [];
        if (isBucket(args.type)) {
            acl = get(args.props, "acl");
            const grants = getArray(args.props, "grants");
            if (grants !== UNKNOWN) {
                grantUris = grants.map(g => get(g, "uri"));
            }
        } else if (BUCKET_ACL_TYPES.includes(args.type)) {
            acl = get(args.props, "acl");
            const grants = getArray(args.props, "accessControlPolicy", "grants");
            if (grants !== UNKNOWN) {
                grantUris = grants.map(g => get(g, "grantee", "uri"));
            }
        } else {
            return;
        }
        if (typeof acl === "string" && PUBLIC_CANNED_ACLS.includes(acl.trim().toLowerCase())) {
            reportViolation(msg(`${label(args)} sets the public canned ACL "${acl}".`, fix), args.urn);
        }
        for (const uri of grantUris.filter(isPublicUri)) {
            reportViolation(msg(`${label(args)} grants access to the public group ${uri}.`, fix), args.urn);
        }
    },
};

/** Statements of `doc` that Allow a wildcard principal without a restricting condition. */
export function publicAllowStatements(doc: unknown): Statement[] {
    const sts = statements(doc);
    if (sts === UNKNOWN || sts === undefined) {
        return [];
    }
    return sts.filter(s => {
        if (!isAllow(s)) {
            return false;
        }
        const anyone = isWildcardPrincipal(s.Principal) || s.NotPrincipal !== undefined;
        if (!anyone) {
            return false;
        }
        return !conditionKeys(s.Condition).some(k => RESTRICTING_CONDITION_KEYS.includes(k));
    });
}

export const noPublicBucketPolicy: ResourceValidationPolicy = {
    name: "s3-no-public-bucket-policy",
    description: "No S3 bucket policy allows Principal \"*\" (or {\"AWS\": \"*\"}) without a restricting Condition.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Name the specific principals (role ARNs, service principals) in the statement, or restrict a " +
        "wildcard principal with a Condition on aws:SourceArn / aws:SourceAccount / aws:PrincipalOrgID / aws:SourceVpce.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        if (args.type !== BUCKET_POLICY_TYPE && !isBucket(args.type)) {
            return;
        }
        for (const s of publicAllowStatements(get(args.props, "policy"))) {
            const sid = typeof s.Sid === "string" && s.Sid ? ` (Sid "${s.Sid}")` : "";
            reportViolation(msg(
                `${label(args)} has a policy statement${sid} that allows anyone (Principal "*") ` +
                `to ${JSON.stringify(plainActions(s))} without a restricting Condition.`,
                "replace the wildcard principal with specific role ARNs or service principals, or add a Condition on " +
                "aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID or aws:SourceVpce; serve public content through " +
                "CloudFront with origin access control instead of a public bucket."), args.urn);
        }
    },
};

function plainActions(s: Statement): unknown {
    const a = s.Action ?? s.NotAction;
    return a === UNKNOWN ? "<computed>" : a;
}

export const noWebsite: ResourceValidationPolicy = {
    name: "s3-no-website",
    description: "No S3 bucket is configured for static website hosting.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Remove the website configuration; serve static content through CloudFront with origin access control.",
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const fix = "remove the website configuration and serve the content through a CloudFront distribution " +
            "with origin access control (the bucket stays private).";
        if (isBucket(args.type)) {
            const website = get(args.props, "website");
            // Unknown (computed/secret) website settings cannot be judged before deploy.
            if (website && typeof website === "object" && keys(website).length > 0) {
                reportViolation(msg(`S3 ${label(args)} enables static website hosting (website input).`, fix), args.urn);
            }
        } else if (WEBSITE_TYPES.includes(args.type)) {
            reportViolation(msg(`${label(args)} enables static website hosting on a bucket.`, fix), args.urn);
        }
    },
};

/** True when a statement is the TLS-only guard: Deny, Principal "*", all/s3:* actions, aws:SecureTransport=false. */
export function isTlsDenyStatement(s: Statement): boolean {
    if (!isDeny(s) || !isWildcardPrincipal(s.Principal)) {
        return false;
    }
    const actions = strList(s.Action);
    if (!actions.some(a => a === UNKNOWN || a === "*" || (typeof a === "string" && a.toLowerCase() === "s3:*"))) {
        return false;
    }
    return conditionValues(s.Condition, "aws:SecureTransport").some(([op, vals]) =>
        /^bool(ifexists)?$/i.test(op) && vals.some(v => v === UNKNOWN || (typeof v === "string" && v.toLowerCase() === "false")));
}

export const tlsOnly: StackValidationPolicy = {
    name: "s3-tls-only",
    description: "Every S3 bucket's policy denies requests that do not use TLS (aws:SecureTransport = false).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Add an aws.s3.BucketPolicy with a statement { Effect: \"Deny\", Principal: \"*\", Action: \"s3:*\", " +
        "Resource: [bucketArn, bucketArn/*], Condition: { Bool: { \"aws:SecureTransport\": \"false\" } } }.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const policies = args.resources.filter(r => r.type === BUCKET_POLICY_TYPE);
        for (const bucket of args.resources.filter(r => isBucket(r.type))) {
            const docs = [get(bucket.props, "policy"), ...policies.filter(p => belongsTo(p, bucket)).map(p => get(p.props, "policy"))];
            const parsed = docs.map(statements);
            // A document we cannot see yet (unknown at preview, secret) may well hold the guard.
            if (parsed.some(p => p === UNKNOWN)) {
                continue;
            }
            const all = parsed.flatMap(p => (p === undefined || p === UNKNOWN ? [] : p));
            if (all.some(isTlsDenyStatement)) {
                continue;
            }
            const has = all.length > 0 ? "its bucket policy has no" : "it has no bucket policy with a";
            reportViolation(msg(`S3 ${label(bucket)} accepts plain-HTTP requests: ${has} TLS-only Deny statement.`,
                `add an aws.s3.BucketPolicy for it (bucket: <'${bucket.name}' bucket>.id) with the statement { Effect: "Deny", ` +
                "Principal: \"*\", Action: \"s3:*\", Resource: [arn, `${arn}/*`], Condition: { Bool: { \"aws:SecureTransport\": \"false\" } } }."),
            bucket.urn);
        }
    },
};

function sseRuleSet(rule: unknown): boolean {
    const r = plain(rule);
    if (r === UNKNOWN) {
        return true;
    }
    const algo = get(r, "applyServerSideEncryptionByDefault", "sseAlgorithm");
    return isSet(algo);
}

export const defaultEncryption: StackValidationPolicy = {
    name: "s3-default-encryption",
    description: "Every S3 bucket has default server-side encryption configured.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with " +
        "applyServerSideEncryptionByDefault { sseAlgorithm: \"aws:kms\" (or \"AES256\") }.",
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const configs = args.resources.filter(r => SSE_TYPES.includes(r.type));
        for (const bucket of args.resources.filter(r => isBucket(r.type))) {
            const inline = get(bucket.props, "serverSideEncryptionConfiguration");
            if (inline === UNKNOWN || (isSet(inline) && sseRuleSet(get(inline, "rule")))) {
                continue;
            }
            const mine = configs.filter(c => belongsTo(c, bucket));
            const ok = mine.some(c => {
                const rules = getArray(c.props, "rules");
                return rules === UNKNOWN || rules.some(sseRuleSet);
            });
            if (ok) {
                continue;
            }
            reportViolation(msg(`S3 ${label(bucket)} has no default encryption configuration.`,
                `add new aws.s3.BucketServerSideEncryptionConfiguration("${bucket.name}-sse", { bucket: <'${bucket.name}' bucket>.id, ` +
                "rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: \"aws:kms\" }, bucketKeyEnabled: true }] })."),
            bucket.urn);
        }
    },
};

export const privateBucketPolicies = [publicAccessBlock, noPublicAcl, noPublicBucketPolicy, noWebsite, tlsOnly, defaultEncryption];

export const privateBucketMetadata: RuleMetadata[] = privateBucketPolicies.map(p => ({
    name: p.name,
    description: p.description,
    enforcementLevel: p.enforcementLevel!,
    severity: p.severity!,
    concern: "private-buckets",
    kind: "validateStack" in p ? "stack" : "resource",
    remediation: p.remediationSteps!,
}));
