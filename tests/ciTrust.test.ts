/**
 * The workflows and the bootstrap's roles together: which OIDC subject each job's token carries
 * (from its trigger and `environment:`), which roles' trust policies (from the bootstrap's offline
 * plan graph) admit it, and that this is only the job's own role; sessions as long as the job;
 * no concurrency group shared with a deploy; and the bootstrap itself (state bucket, identity
 * provider, config errors as a user's shell sees them).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DRIFT_ENVIRONMENT } from "../bootstrap/naming";
import { MAIN_REF, githubSubject, pullRequestSubjectPattern } from "../bootstrap/trust";
import { PROJECT_DIR, runOffline } from "../tools/offline";
import { Graph, GraphResource } from "../tools/graph";
import { listStacks, stackMatrix } from "../tools/stacks";
import { evaluate, EvalStatement } from "./helpers/iamEvaluator";
import { runProcess } from "./support/processes";

const REPO = "acme/platform";
const BOOTSTRAP = path.join(PROJECT_DIR, "bootstrap");
const workflows: Record<string, any> = Object.fromEntries(
    fs.readdirSync(path.join(PROJECT_DIR, ".github", "workflows")).map((f) => [f, parse(fs.readFileSync(path.join(PROJECT_DIR, ".github", "workflows", f), "utf8"))]),
);
const matrix = stackMatrix(listStacks());

/** The stacks a job's matrix expands to (one entry `undefined` for a job without a stack matrix). */
function stacksOf(job: any): Array<string | undefined> {
    const m = /needs\.stacks\.outputs\.(all|nonprod|prod)/.exec(String(job.strategy?.matrix?.stack ?? ""));
    return m ? matrix[m[1] as keyof typeof matrix] : [undefined];
}

/** `${{ matrix.stack }}` and friends, for one matrix entry. */
function expand(value: unknown, stack: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    return String(value).replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, stack ?? "<no-stack>");
}

interface Run {
    trigger: string;
    /** The run's GITHUB_REF, the `ref` claim: a pull_request run's is refs/pull/<n>/merge (GitHub Docs, "Events that trigger workflows"). */
    ref: string;
    sub: string;
}

/**
 * The `sub`s a job's tokens carry under the repository's customized template (repo, context,
 * ref; bootstrap/trust.ts): one per trigger of its workflow, and for a manual run one per branch
 * it may be started from (main, or any other).
 */
function subjectsOf(file: string, job: any, stack: string | undefined): Run[] {
    const env = expand(typeof job.environment === "object" ? job.environment?.name : job.environment, stack);
    const on = workflows[file].on;
    const runs: Array<Omit<Run, "sub">> = [];
    if (on.pull_request !== undefined) runs.push({ trigger: "pull_request", ref: "refs/pull/42/merge" });
    if (on.push !== undefined) for (const branch of on.push.branches ?? ["feature"]) runs.push({ trigger: "push", ref: `refs/heads/${branch}` });
    if (on.schedule !== undefined) runs.push({ trigger: "schedule", ref: MAIN_REF });
    if (on.workflow_dispatch !== undefined) runs.push({ trigger: "workflow_dispatch", ref: MAIN_REF }, { trigger: "workflow_dispatch", ref: "refs/heads/feature" });
    return runs.map((r) => ({
        ...r,
        sub: env
            ? githubSubject(REPO, { kind: "environment", name: env, ref: r.ref })
            : r.trigger === "pull_request"
              ? githubSubject(REPO, { kind: "pull_request", ref: r.ref })
              : githubSubject(REPO, { kind: "ref", ref: r.ref }),
    }));
}
/** The runs a job's role is meant for: pull requests (previews) and main (everything else). */
const intended = (r: Run) => r.trigger === "pull_request" || r.ref === MAIN_REF;

interface Job {
    file: string;
    id: string;
    def: any;
    stack: string | undefined;
}
const jobs: Job[] = Object.entries(workflows).flatMap(([file, wf]) => Object.entries<any>(wf.jobs).flatMap(([id, def]) => stacksOf(def).map((stack) => ({ file, id, def, stack }))));
const usesOidc = (j: Job) => (j.def.steps ?? []).some((s: any) => String(s.uses ?? "").startsWith("aws-actions/configure-aws-credentials@"));

describe("CI: no job can assume a role outside its environment's subject", function () {
    this.timeout(120_000);
    let graph: Graph;
    let roles: GraphResource[];
    before(async () => {
        ({ graph } = await runOffline({ programDir: BOOTSTRAP, stack: "acme-platform" }));
        roles = graph.resources.filter((r) => r.type === "aws:iam/role:Role");
    });

    const admitting = (sub: string, aud = "sts.amazonaws.com") =>
        roles
            .filter((r) => {
                const trust = JSON.parse(String(r.inputs.assumeRolePolicy)).Statement as EvalStatement[];
                return evaluate(trust, {
                    action: "sts:AssumeRoleWithWebIdentity",
                    resource: "*",
                    context: { "token.actions.githubusercontent.com:sub": sub, "token.actions.githubusercontent.com:aud": aud },
                }) === "allow";
            })
            .map((r) => String(r.inputs.name));

    it("the bootstrap's plan is of another project: its own Pulumi.yaml, planned by the same engine, and passes the policy pack", async () => {
        assert.equal(graph.project, "platform-bootstrap");
        assert.deepEqual(roles.map((r) => r.inputs.name).sort(), ["platform-deploy-dev", "platform-deploy-prod", "platform-drift", "platform-preview"]);
        const r = await runProcess("npm", ["run", "-s", "plan", "--", "--program", "bootstrap", "--stack", "acme-platform", "--json"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout).violations, []);
    });

    it("every trust policy is GitHub's provider, sts:AssumeRoleWithWebIdentity, the audience, and one subject: StringEquals with the ref for environments, the preview's StringLike only in the pull request number", () => {
        for (const r of roles) {
            const [s, ...rest] = JSON.parse(String(r.inputs.assumeRolePolicy)).Statement;
            assert.equal(rest.length, 0, String(r.inputs.name));
            assert.deepEqual(s.Principal, { Federated: "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" });
            assert.equal(s.Action, "sts:AssumeRoleWithWebIdentity");
            assert.equal(s.Condition.StringEquals["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
            if (r.inputs.name === "platform-preview") {
                assert.deepEqual(Object.keys(s.Condition).sort(), ["StringEquals", "StringLike"]);
                assert.deepEqual(s.Condition.StringLike, { "token.actions.githubusercontent.com:sub": `repo:${REPO}:pull_request:ref:refs/pull/*/merge` }, "one wildcard, in the number's place");
            } else {
                assert.deepEqual(Object.keys(s.Condition), ["StringEquals"], `${r.inputs.name}: StringEquals only`);
                const sub = s.Condition.StringEquals["token.actions.githubusercontent.com:sub"];
                assert.equal(typeof sub, "string", "one subject, no list");
                assert.match(sub, /^repo:acme\/platform:environment:[\w-]+:ref:refs\/heads\/main$/, `${r.inputs.name}: its environment, on main`);
            }
        }
        // The bootstrap says which template the repository must use (GitHub Docs, "Customizing the subject claims").
        assert.deepEqual((graph.outputs as any).githubSettings.oidcSubjectTemplate, { use_default: false, include_claim_keys: ["repo", "context", "ref"] });
        // The evaluator does tell subjects apart (so the checks below are not vacuous).
        assert.deepEqual(admitting(`repo:${REPO}:pull_request:ref:refs/pull/42/merge`), ["platform-preview"]);
        assert.deepEqual(admitting(`repo:${REPO}:environment:prod:ref:refs/heads/main`), ["platform-deploy-prod"]);
        assert.deepEqual(admitting(`repo:${REPO}:pull_request:ref:refs/pull/42/merge`, "https://github.com/acme"), [], "another audience");
        assert.deepEqual(admitting("repo:acme/platform-fork:pull_request:ref:refs/pull/42/merge"), [], "another repository");
        // IAM's StringEquals and StringLike are case-sensitive: the repository as GitHub spells it, exactly.
        assert.deepEqual(admitting("repo:Acme/Platform:environment:prod:ref:refs/heads/main"), [], "another case is another subject");
        assert.deepEqual(admitting(`repo:${REPO}:pull_request:ref:refs/heads/main`), [], "a pull_request_target-like run on main is not a pull request's merge ref");
        assert.deepEqual(admitting(`repo:${REPO}:ref:refs/heads/main:ref:refs/heads/main`), [], "no role trusts a branch: any workflow on main would carry that subject");
        assert.deepEqual(admitting(`repo:${REPO}:ref:refs/pull/1/merge:ref:refs/pull/1/merge`), [], "the pattern needs the pull_request context");
        // Without the customized template GitHub writes the default subject: no role admits it (fail closed).
        for (const sub of [`repo:${REPO}:pull_request`, `repo:${REPO}:environment:dev`, `repo:${REPO}:environment:prod`, `repo:${REPO}:ref:refs/heads/main`]) assert.deepEqual(admitting(sub), [], sub);
        // A `:` in an environment's name is written %3A, so a name cannot forge the ref part.
        assert.deepEqual(admitting(githubSubject(REPO, { kind: "environment", name: "prod:ref:refs/heads/main", ref: "refs/heads/feature" })), []);
        assert.equal(pullRequestSubjectPattern(REPO).split("*").length, 2);
    });

    it("each OIDC job's token admits exactly the role its secret names, in its own environment, and no other", () => {
        const outputs = graph.outputs as any;
        const arnOf = (name: string) => roles.find((r) => r.inputs.name === name)!;
        const oidcJobs = jobs.filter(usesOidc);
        assert.deepEqual(oidcJobs.map((j) => `${j.file}:${j.id}:${j.stack}`).sort(), [
            "deploy.yml:nonprod:dev", "deploy.yml:prod:prod", "drift.yml:drift:dev", "drift.yml:drift:prod", "pull-request.yml:preview:dev", "pull-request.yml:preview:prod",
        ]);
        for (const job of oidcJobs) {
            const runs = subjectsOf(job.file, job.def, job.stack);
            // From any other branch (a manual run started there), the same job gets no role at all.
            for (const r of runs.filter((x) => !intended(x))) assert.deepEqual(admitting(r.sub), [], `${job.file} ${job.id}: ${r.sub}`);
            const subs = [...new Set(runs.filter(intended).map((r) => r.sub))];
            assert.equal(subs.length, 1, `${job.file} ${job.id}: one subject where it is meant to run`);
            const admitted = admitting(subs[0]);
            assert.equal(admitted.length, 1, `${job.file} ${job.id} (${job.stack}): ${subs[0]} admitted by ${admitted.join(", ") || "nothing"}`);
            const step = job.def.steps.find((s: any) => String(s.uses).startsWith("aws-actions/configure-aws-credentials@"));
            const secret = /^\$\{\{ secrets\.([A-Z_]+) \}\}$/.exec(step.with["role-to-assume"])![1];
            // Where the secret lives: the job's environment, or the repository; and which role the bootstrap says to put there.
            const env = expand(job.def.environment, job.stack);
            const expected = env ? outputs.githubSettings.environments[env].secrets[secret] : outputs.githubSettings.repository.secrets[secret];
            assert.ok(expected, `${job.file} ${job.id}: the bootstrap names no ${secret} for ${env ?? "the repository"}`);
            const role = roles.find((r) => `arn:aws:iam::123456789012:role/ci/${r.inputs.name}` === expected)!;
            assert.equal(role.inputs.name, admitted[0], `${job.file} ${job.id}: ${secret} is the role its subject admits`);
            const purpose = job.id === "preview" ? "platform-preview" : job.id === "drift" ? "platform-drift" : `platform-deploy-${job.stack}`;
            assert.equal(admitted[0], purpose);
            assert.ok(arnOf(purpose));
        }
        // The preview's secret is a repository secret, never an environment's deploy role.
        assert.deepEqual(Object.keys(outputs.githubSettings.repository.secrets).sort(), ["AWS_PREVIEW_ROLE_ARN", "PULUMI_BACKEND_URL"]);
    });

    it("a branch's job that names an environment gets no role, whatever the environment's settings: the subject carries the ref", () => {
        // GitHub creates a missing environment, with no protection rules, when a job names it; with
        // the ref in the subject that window admits nothing. The environments' rules (main only,
        // prod's reviewers) stay: npm run -s ci-check verifies them (tests/ciCheck.test.ts).
        for (const env of [...matrix.all, DRIFT_ENVIRONMENT]) {
            for (const ref of ["refs/heads/feature", "refs/pull/42/merge", "refs/tags/v1.0.0", "refs/heads/main-hotfix"]) {
                assert.deepEqual(admitting(githubSubject(REPO, { kind: "environment", name: env, ref })), [], `${env} from ${ref}`);
            }
        }
        assert.deepEqual(admitting(githubSubject(REPO, { kind: "environment", name: "dev", ref: MAIN_REF })), ["platform-deploy-dev"]);
        const envs = (graph.outputs as any).githubSettings.environments;
        assert.deepEqual(Object.keys(envs).sort(), [DRIFT_ENVIRONMENT, ...matrix.all].sort());
        for (const [name, env] of Object.entries<any>(envs)) assert.deepEqual(env.deploymentBranches, ["main"], `${name}: deployments from main only`);
        for (const stack of matrix.prod) assert.equal(envs[stack].requiredReviewers, true, `${stack}: required reviewers`);
    });

    it("every deploy job runs in its stack's environment; previews and drift never use a deploy secret or the Pulumi write token", () => {
        for (const job of jobs.filter((j) => (j.def.steps ?? []).some((s: any) => String(s.uses).startsWith("pulumi/actions@") && s.with?.command === "up"))) {
            assert.equal(job.def.environment, "${{ matrix.stack }}", `${job.file} ${job.id}`);
        }
        const preview = workflows["pull-request.yml"].jobs.preview;
        const text = JSON.stringify(preview);
        assert.doesNotMatch(text, /secrets\.AWS_ROLE_ARN|secrets\.PULUMI_ACCESS_TOKEN|PULUMI_CONFIG_PASSPHRASE/);
        assert.match(text, /secrets\.AWS_PREVIEW_ROLE_ARN/);
        assert.equal(workflows["drift.yml"].jobs.drift.environment, DRIFT_ENVIRONMENT);
    });

    it("each role's session covers its job: role-duration-seconds >= timeout-minutes and <= the role's maximum session", () => {
        for (const job of jobs.filter(usesOidc)) {
            const step = job.def.steps.find((s: any) => String(s.uses).startsWith("aws-actions/configure-aws-credentials@"));
            const duration = Number(step.with["role-duration-seconds"]);
            assert.ok(duration >= job.def["timeout-minutes"] * 60, `${job.file} ${job.id}: ${duration}s < ${job.def["timeout-minutes"]} min`);
            const role = roles.find((r) => r.inputs.name === admitting(subjectsOf(job.file, job.def, job.stack).find(intended)!.sub)[0])!;
            assert.ok(duration <= Number(role.inputs.maxSessionDuration), `${job.file} ${job.id}: ${duration}s > the role's ${role.inputs.maxSessionDuration}s (STS refuses the request)`);
        }
    });

    it("no two workflows share a concurrency group that could cancel a deploy (GitHub cancels a pending job when another queues in its group)", () => {
        const groupsOf = (j: Job) => [workflows[j.file].concurrency?.group, j.def.concurrency?.group].filter(Boolean).map((g) => expand(g, j.stack)!);
        const isDeploy = (j: Job) => (j.def.steps ?? []).some((s: any) => String(s.uses).startsWith("pulumi/actions@") && s.with?.command === "up");
        const deployGroups = new Set(jobs.filter(isDeploy).flatMap(groupsOf));
        assert.deepEqual([...deployGroups].sort(), matrix.all.map((s) => `deploy-${s}`).sort());
        for (const job of jobs.filter((j) => !isDeploy(j))) {
            for (const g of groupsOf(job)) assert.ok(!deployGroups.has(g), `${job.file} ${job.id} joins ${g}`);
            // pr-<number> is never deploy-<stack>; the drift check's group is its own.
            for (const g of groupsOf(job)) assert.doesNotMatch(g, /^deploy-/, `${job.file} ${job.id}: ${g}`);
        }
        for (const job of jobs.filter(isDeploy)) assert.equal(job.def.concurrency["cancel-in-progress"], false);
    });

    it("pin the Pulumi CLI to the SDK's version and create missing stacks only where the role may write", () => {
        const sdk = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
        const steps = jobs.flatMap((j) => (j.def.steps ?? []).filter((s: any) => String(s.uses).startsWith("pulumi/actions@")).map((s: any) => ({ j, s })));
        assert.ok(steps.length >= 4);
        for (const { j, s } of steps) {
            assert.equal(s.with["pulumi-version"], sdk, `${j.file} ${j.id}: pulumi-version`);
            assert.equal(s.with.upsert === true, s.with.command === "up", `${j.file} ${j.id}: upsert exactly on deploys (a preview role may not create a stack)`);
            assert.equal(s.env.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, "true");
        }
    });

    it("the state bucket is private, versioned, SSE-KMS with its own key, TLS-only and protected; meta.yaml is written; GitHub's provider has the STS audience", () => {
        const bucket = graph.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!;
        assert.equal(bucket.inputs.bucket, "platform-pulumi-state-123456789012-us-east-1");
        assert.ok(bucket.protect && bucket.retainOnDelete && bucket.inputs.forceDestroy === false);
        const child = (type: string) => graph.resources.find((r) => r.type === type && r.parent === bucket.parent)!;
        assert.equal((child("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration as any).status, "Enabled");
        assert.equal((child("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules as any)[0].applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
        assert.deepEqual(child("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        assert.match(String(child("aws:s3/bucketPolicy:BucketPolicy").inputs.policy), /"aws:SecureTransport":"false"/);
        const stateKey = graph.resources.find((r) => r.type === "aws:kms/key:Key" && r.parent === bucket.parent)!;
        assert.ok(stateKey.protect && stateKey.inputs.enableKeyRotation === true);
        const meta = graph.resources.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2")!;
        assert.deepEqual([meta.inputs.key, meta.inputs.content], [".pulumi/meta.yaml", "version: 1\n"]);
        for (const stack of matrix.all) {
            const key = graph.resources.find((r) => r.type === "aws:kms/key:Key" && r.name === `${stack}-secrets`)!;
            assert.ok(key.protect && key.retainOnDelete, `${stack}'s secrets key is kept`);
            assert.equal((key.inputs.tags as any).Stack, stack, "tagged as the stack's: only its deploy role passes the tag guard");
        }
        const oidc = graph.resources.find((r) => r.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")!;
        // IAM validates GitHub's certificate against its own trusted CAs and ignores thumbprints (IAM User
        // Guide, "Create an OpenID Connect (OIDC) identity provider in IAM"); the provider makes them optional.
        assert.deepEqual([oidc.inputs.url, oidc.inputs.clientIdLists, oidc.inputs.thumbprintLists], ["https://token.actions.githubusercontent.com", ["sts.amazonaws.com"], undefined]);
    });

    it("bad bootstrap config: one message naming every bad key, exit 2, as a shell sees it", async () => {
        const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "bootstrap-config-"));
        try {
            const file = path.join(dir, "Pulumi.bad.yaml");
            fs.writeFileSync(file, ["config:", "  aws:region: mars-1", "  platform-bootstrap:githubRepository: not a repo", "  platform-bootstrap:stacks: [dev, prdo]", "  platform-bootstrap:deploySessionHours: 13", "  platform-bootstrap:backnd: s3", ""].join("\n"));
            const r = await runProcess("npm", ["run", "-s", "plan", "--", "--program", "bootstrap", "--stack", "bad", "--config", file]);
            assert.equal(r.code, 2, r.stderr);
            assert.equal(r.stdout, "");
            assert.match(r.stderr, /Invalid configuration for stack "bad" \(5 problems\)/);
            for (const key of ["aws:region", "platform-bootstrap:githubRepository", "platform-bootstrap:stacks\\[1\\] = \"prdo\": no such stack.*did you mean \"prod\"", "platform-bootstrap:deploySessionHours", "platform-bootstrap:backnd"]) {
                assert.match(r.stderr, new RegExp(key), key);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
