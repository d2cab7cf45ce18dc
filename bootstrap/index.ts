/**
 * The CI bootstrap of one AWS account (README "CI/CD: set-up from zero"): run once per account
 * with administrator credentials, and again whenever `npm run ci-permissions -- --write`
 * changed what a stack needs.
 *
 * - the state bucket (a PrivateBucket: private, versioned, SSE-KMS with its own key, TLS-only,
 *   protected and kept if ever removed) with `.pulumi/meta.yaml` already written, so that no
 *   read-only role ever has to create it; and per stack, in the stack's region, the KMS key of
 *   its `awskms://` secrets provider;
 * - GitHub's OIDC identity provider (audience sts.amazonaws.com; no thumbprint: for GitHub,
 *   IAM validates the certificate against its own trusted root CAs and ignores thumbprints —
 *   IAM User Guide, "Create an OpenID Connect (OIDC) identity provider in IAM");
 * - the roles, under /ci/, each trusted from exactly one subject (bootstrap/trust.ts: the
 *   repository's customized subject template, environments on main only) with a
 *   maximum session that covers its jobs: preview (pull requests), drift (the drift
 *   environment), and a deploy role per stack (the stack's environment), with the policies
 *   bootstrap/policies.ts generates from the stack's plan facts, split into managed policies
 *   under IAM's size limit.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PrivateBucket } from "../components/bucket";
import { loadBootstrapConfig } from "./config";
import { CI_ROLE_PATH, DRIFT_ENVIRONMENT, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, STATE_META_KEY, awsKmsSecretsProvider, ciRoleName, secretsKeyAlias, stateBucketName } from "./naming";
import { AccountContext, PolicyDocument, StackFacts, deployPolicy, readOnlyPolicy, splitPolicy, stackRoleArns } from "./policies";
import { boundaryPolicy } from "./boundary";
import { PERMISSIONS_BOUNDARY_PATH, permissionsBoundaryPolicyName } from "../config/iam";
import { MAIN_REF, SUBJECT_CLAIM_KEYS, SubjectMatch, githubSubject, githubTrustPolicy, pullRequestSubjectPattern } from "./trust";
// eslint-disable-next-line @typescript-eslint/no-var-requires
const generated = require("./stacks.generated.json") as { stacks: Record<string, StackFacts> };

const config = loadBootstrapConfig(generated.stacks);
const project = config.stacks[0].project;
const provider = new aws.Provider("aws", { region: config.region as aws.Region, defaultTags: { tags: config.tags } });
const account = aws.getCallerIdentityOutput({}, { provider }).accountId;

// --- state and secrets ----------------------------------------------------------------------
const selfManaged = config.backend === "s3";
const stateBucket = selfManaged
    ? new PrivateBucket(
          "pulumi-state",
          {
              bucketName: account.apply((id) => stateBucketName(project, id, config.region)),
              protect: true,
              encryption: "kms",
              versioning: true,
              lifecycle: { noncurrentVersionExpirationDays: config.stateVersionsDays },
          },
          { provider },
      )
    : undefined;
if (stateBucket) {
    // Version 1 is the project layout (.pulumi/stacks/<project>/<stack>.json) that the policies
    // scope each stack to; written here, no CI role needs to write outside its own stack's keys
    // (pulumi/pulumi pkg/backend/diy/meta.go: an empty bucket gets the file on first use).
    new aws.s3.BucketObjectv2(
        "pulumi-state-meta",
        { bucket: stateBucket.bucketName, key: STATE_META_KEY, content: "version: 1\n", contentType: "application/yaml" },
        { provider, dependsOn: [stateBucket] },
    );
}

const regionProviders = new Map<string, aws.Provider>([[config.region, provider]]);
function providerFor(region: string): aws.Provider {
    let p = regionProviders.get(region);
    if (!p) {
        p = new aws.Provider(`aws-${region}`, { region: region as aws.Region, defaultTags: { tags: config.tags } });
        regionProviders.set(region, p);
    }
    return p;
}

/** Each stack's secrets key, in the stack's region, tagged as that stack's (its deploy role may use it, no other). */
const secretsKeys: Record<string, aws.kms.Key> = {};
if (selfManaged) {
    for (const facts of config.stacks) {
        const key = new aws.kms.Key(
            `${facts.stack}-secrets`,
            {
                description: `Pulumi secrets of the ${project} stack ${facts.stack} (awskms:// secrets provider)`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                tags: { Stack: facts.stack, Project: project },
            },
            // Losing the key loses every secret in the stack's state: kept, whatever happens to this program.
            { provider: providerFor(facts.region), protect: true, retainOnDelete: true },
        );
        new aws.kms.Alias(`${facts.stack}-secrets`, { name: secretsKeyAlias(project, facts.stack), targetKeyId: key.keyId }, { provider: providerFor(facts.region) });
        secretsKeys[facts.stack] = key;
    }
}

// --- GitHub's identity provider and the roles ---------------------------------------------------
const oidcProviderArn: pulumi.Output<string> = config.githubOidcProviderArn
    ? pulumi.output(config.githubOidcProviderArn)
    : new aws.iam.OpenIdConnectProvider("github", { url: `https://${GITHUB_OIDC_HOST}`, clientIdLists: [GITHUB_OIDC_AUDIENCE] }, { provider }).arn;

const context: pulumi.Output<AccountContext> = pulumi
    .all([account, stateBucket?.bucketName, stateBucket?.kmsKeyArn, pulumi.all(Object.fromEntries(Object.entries(secretsKeys).map(([s, k]) => [s, k.arn])))])
    .apply(([accountId, bucket, keyArn, keys]) => ({
        partition: config.partition,
        account: accountId,
        ...(bucket && keyArn ? { state: { bucket, keyArn, region: config.region }, secretsKeyArns: keys as Record<string, string> } : {}),
    }));

/**
 * A role trusted from one subject, with `document` attached as managed policies under IAM's size
 * limit. The number of policies is decided from the document with this account's values' lengths
 * (an account id is always 12 digits), so it is known before the account is.
 */
function ciRole(logical: string, name: string, subject: SubjectMatch, maxSessionDuration: number, document: (ctx: AccountContext) => PolicyDocument, description: string): aws.iam.Role {
    const role = new aws.iam.Role(
        logical,
        {
            name,
            path: CI_ROLE_PATH,
            description,
            maxSessionDuration,
            assumeRolePolicy: oidcProviderArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, subject))),
        },
        { provider },
    );
    const sample: AccountContext = {
        partition: config.partition,
        account: "000000000000",
        ...(selfManaged
            ? {
                  state: { bucket: stateBucketName(project, "000000000000", config.region), keyArn: `arn:${config.partition}:kms:${config.region}:000000000000:key/00000000-0000-0000-0000-000000000000`, region: config.region },
                  secretsKeyArns: Object.fromEntries(config.stacks.map((f) => [f.stack, `arn:${config.partition}:kms:${f.region}:000000000000:key/00000000-0000-0000-0000-000000000000`])),
              }
            : {}),
    };
    const count = splitPolicy(document(sample)).length;
    for (let i = 0; i < count; i++) {
        const policy = new aws.iam.Policy(
            `${logical}-${i + 1}`,
            {
                name: `${name}-${i + 1}`,
                path: CI_ROLE_PATH,
                description: `${description} (${i + 1} of ${count})`,
                policy: context.apply((ctx) => {
                    const parts = splitPolicy(document(ctx));
                    if (parts.length !== count) throw new Error(`${name}: the policy split into ${parts.length} documents, not ${count}`);
                    return JSON.stringify(parts[i]);
                }),
            },
            { provider },
        );
        new aws.iam.RolePolicyAttachment(`${logical}-${i + 1}`, { role: role.name, policyArn: policy.arn }, { provider });
    }
    return role;
}

/**
 * Each stack's permissions boundary (bootstrap/boundary.ts): every role the stack creates carries
 * it (config iam.permissionsBoundary: ci), and its deploy role may create or change roles only with
 * it. Under /ci/, so no deploy role can change it (DenyCiIdentity).
 */
const boundaries = Object.fromEntries(
    config.stacks.map((facts) => [
        facts.stack,
        new aws.iam.Policy(
            `${facts.stack}-boundary`,
            {
                name: permissionsBoundaryPolicyName(project, facts.stack),
                path: PERMISSIONS_BOUNDARY_PATH,
                description: `Permissions boundary of every role ${project}/${facts.stack} creates: what its roles use, never IAM writes or another stack's resources`,
                policy: context.apply((ctx) => JSON.stringify(boundaryPolicy(facts, ctx, stackRoleArns(facts, ctx)))),
                tags: { Stack: facts.stack, Project: project },
            },
            { provider },
        ),
    ]),
);

const repo = config.githubRepository;
// Subjects under the repository's customized template (bootstrap/trust.ts): the environment's jobs on main only.
const preview = ciRole("preview", ciRoleName(project, "preview"), { like: pullRequestSubjectPattern(repo) }, config.readSessionSeconds,
    (ctx) => readOnlyPolicy("preview", config.stacks, ctx), `pulumi preview of ${project}'s pull requests (read-only)`);
const drift = ciRole("drift", ciRoleName(project, "drift"), { equals: githubSubject(repo, { kind: "environment", name: DRIFT_ENVIRONMENT, ref: MAIN_REF }) }, config.readSessionSeconds,
    (ctx) => readOnlyPolicy("drift", config.stacks, ctx), `the daily drift check of ${project}'s stacks (read-only)`);
const deploys = Object.fromEntries(
    config.stacks.map((facts) => [
        facts.stack,
        ciRole(`deploy-${facts.stack}`, ciRoleName(project, "deploy", facts.stack), { equals: githubSubject(repo, { kind: "environment", name: facts.stack, ref: MAIN_REF }) }, config.deploySessionSeconds,
            (ctx) => deployPolicy(facts, ctx), `pulumi up of ${project}/${facts.stack}`),
    ]),
);

// --- what to set in GitHub (README "CI/CD: set-up from zero") ------------------------------------
export const backendUrl = stateBucket ? pulumi.interpolate`s3://${stateBucket.bucketName}?region=${config.region}` : "https://api.pulumi.com";
export const previewRoleArn = preview.arn;
export const driftRoleArn = drift.arn;
export const deployRoleArns = Object.fromEntries(Object.entries(deploys).map(([s, r]) => [s, r.arn]));
export const permissionsBoundaryArns = Object.fromEntries(Object.entries(boundaries).map(([s, p]) => [s, p.arn]));
export const secretsProviders = selfManaged ? Object.fromEntries(config.stacks.map((f) => [f.stack, awsKmsSecretsProvider(project, f.stack, f.region)])) : {};
export const githubSettings = {
    // PUT /repos/{owner}/{repo}/actions/oidc/customization/sub with this, before the first job (README).
    oidcSubjectTemplate: { use_default: false, include_claim_keys: [...SUBJECT_CLAIM_KEYS] },
    repository: { secrets: { AWS_PREVIEW_ROLE_ARN: preview.arn, PULUMI_BACKEND_URL: backendUrl } },
    environments: {
        [DRIFT_ENVIRONMENT]: { deploymentBranches: ["main"], secrets: { AWS_ROLE_ARN: drift.arn } },
        ...Object.fromEntries(
            config.stacks.map((f) => [f.stack, { deploymentBranches: ["main"], requiredReviewers: f.environment === "prod", secrets: { AWS_ROLE_ARN: deploys[f.stack].arn } }]),
        ),
    },
};
