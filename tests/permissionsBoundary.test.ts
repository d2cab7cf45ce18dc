/**
 * One shared account must not void prod's reviewers: dev's deploy role (no reviewers) may create
 * roles, write their inline policies, pass them to EC2 and launch instances, so without a limit it
 * could hand itself anything through an instance. The limit is a permissions boundary per stack
 * (IAM User Guide, "Permissions boundaries for IAM entities",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html): the bootstrap
 * creates it (bootstrap/boundary.ts), the deploy role may create and change roles only with it
 * (condition key iam:PermissionsBoundary), and the program sets it on every role it creates
 * (config iam.permissionsBoundary: ci). Checked here with the evaluator (identity policy AND
 * boundary, an explicit deny in either wins), against the Service Authorization Reference, and on
 * the program's and the bootstrap's offline plans.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../config";
import { ciPermissionsBoundaryArn } from "../config/iam";
import { parseBootstrapConfig } from "../bootstrap/config";
import { IAM_WRITE_VERBS, MANAGED_POLICY_ACTIONS, boundaryPolicy } from "../bootstrap/boundary";
import { AccountContext, MANAGED_POLICY_MAX_CHARS, PolicyDocument, StackFacts, deployPolicy, policySize, stackRoleArns } from "../bootstrap/policies";
import { PROJECT_DIR } from "../tools/offline";
import { EvalStatement, evaluate, evaluateWithBoundary } from "./helpers/iamEvaluator";
import { serialRun, stackRun, tempStackFile } from "./support/stacks";
import { ACCOUNT, SAR_ROOT, committed, ctx, facts } from "./support/ciAccount";

const sarActions = (service: string): Array<{ name: string; accessLevel: string }> => Object.values(JSON.parse(fs.readFileSync(path.join(SAR_ROOT, "actions", `${service}.json`), "utf8")));

const dev = committed.stacks.dev;
const boundaryOf = (f: StackFacts): PolicyDocument => boundaryPolicy(f, ctx, stackRoleArns(f, ctx));
const DEV_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/ci/platform-dev-boundary`;
const PROD_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/ci/platform-prod-boundary`;
const DEV_ROLE = `arn:aws:iam::${ACCOUNT}:role/web-instance-abc1234`;

/** A request that satisfies a statement's conditions (first value of each key, wildcards filled). */
function satisfying(s: EvalStatement, stack: string): { resource: string; context: Record<string, string> } {
    const context: Record<string, string> = { "aws:ResourceTag/Stack": stack };
    for (const [op, kv] of Object.entries(s.Condition ?? {})) {
        if (op.startsWith("Null") || op.includes("Not")) continue;
        for (const [k, v] of Object.entries(kv)) context[k] = [v].flat()[0].replace(/\*/g, "x");
    }
    const resource = [s.Resource ?? "*"].flat()[0].replace(/\*/g, "x");
    return { resource, context };
}

describe("Permissions boundary: a deploy role cannot escalate through the roles it creates", function () {
    this.timeout(120_000);
    const deployDev = deployPolicy(dev, ctx).Statement;
    const decide = (action: string, resource: string, context: Record<string, string> = {}) => evaluate(deployDev, { action, resource, context });

    it("the deploy role creates, writes and attaches to roles only with its stack's boundary, and never removes one", () => {
        const tag = { "aws:RequestTag/Stack": "dev", "aws:ResourceTag/Stack": "dev" };
        assert.equal(decide("iam:CreateRole", DEV_ROLE, tag), "implicit-deny", "CreateRole without a boundary");
        assert.equal(decide("iam:CreateRole", DEV_ROLE, { ...tag, "iam:PermissionsBoundary": PROD_BOUNDARY }), "implicit-deny", "with another stack's boundary");
        assert.equal(decide("iam:CreateRole", DEV_ROLE, { ...tag, "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" }), "implicit-deny");
        assert.equal(decide("iam:CreateRole", DEV_ROLE, { ...tag, "iam:PermissionsBoundary": DEV_BOUNDARY }), "allow");
        // On an existing role the key is the role's current boundary: a role without one gets no new permissions.
        for (const action of ["iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"]) {
            assert.equal(decide(action, DEV_ROLE, tag), "implicit-deny", `${action} on a role without the boundary`);
            assert.equal(decide(action, DEV_ROLE, { ...tag, "iam:PermissionsBoundary": DEV_BOUNDARY }), "allow", action);
        }
        const ssmCore = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
        assert.equal(decide("iam:AttachRolePolicy", DEV_ROLE, { ...tag, "iam:PolicyARN": ssmCore }), "implicit-deny");
        assert.equal(decide("iam:AttachRolePolicy", DEV_ROLE, { ...tag, "iam:PolicyARN": ssmCore, "iam:PermissionsBoundary": DEV_BOUNDARY }), "allow");
        assert.equal(decide("iam:DeleteRolePermissionsBoundary", DEV_ROLE, { ...tag, "iam:PermissionsBoundary": DEV_BOUNDARY }), "explicit-deny");
        // The boundary policy itself is the bootstrap's (under /ci/): never changed, replaced or deleted by a deploy.
        for (const action of ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:TagPolicy"]) {
            assert.equal(decide(action, DEV_BOUNDARY, { "aws:ResourceTag/Stack": "dev" }), "explicit-deny", action);
        }
        // The key exists on these actions (Service Authorization Reference): the conditions can match.
        const iam = Object.fromEntries(sarActions("iam").map((a) => [a.name, a as unknown as { conditionKeys: string[] }]));
        for (const a of ["CreateRole", "PutRolePolicy", "AttachRolePolicy", "PutRolePermissionsBoundary"]) assert.ok(iam[a].conditionKeys.includes("iam:PermissionsBoundary"), a);
    });

    it("a stack whose roles lack the boundary gets no deploy role: the generator and the bootstrap's config say which and what to set", () => {
        const unbounded: StackFacts = { ...dev, rolesWithoutBoundary: ["web-instance"] };
        assert.throws(() => deployPolicy(unbounded, ctx), /creates roles without its CI permissions boundary \(web-instance\): set platform:iam: \{ permissionsBoundary: ci \} in Pulumi\.dev\.yaml/);
        try {
            parseBootstrapConfig({ "aws:region": "us-east-1", "platform-bootstrap:githubRepository": "acme/platform", "platform-bootstrap:stacks": '["dev"]' }, "platform-bootstrap", "acme", { dev: unbounded });
            assert.fail("expected a ConfigError");
        } catch (err) {
            assert.ok(err instanceof ConfigError);
            assert.match(err.message, /platform-bootstrap:stacks\[0\] = "dev": creates roles without its CI permissions boundary \(web-instance\)/);
        }
    });

    it("a role under the boundary can do no IAM write, no STS or Organizations call, whatever its own policy says", () => {
        const admin: EvalStatement[] = [{ Effect: "Allow", Action: "*", Resource: "*" }];
        for (const f of facts) {
            const boundary = boundaryOf(f).Statement;
            const writes = ["iam", "sts", "organizations", "account"].flatMap((svc) => sarActions(svc).filter((a) => a.accessLevel !== "Read" && a.accessLevel !== "List").map((a) => `${svc}:${a.name}`));
            assert.ok(writes.length > 150, `${writes.length} write actions`);
            for (const action of writes.filter((a) => a !== "iam:PassRole")) {
                for (const resource of ["*", DEV_ROLE, `arn:aws:iam::${ACCOUNT}:user/x`]) {
                    assert.notEqual(evaluateWithBoundary(admin, boundary, { action, resource, context: { "aws:ResourceTag/Stack": f.stack } }), "allow", `${f.stack}: ${action} on ${resource}`);
                }
            }
            // The deny covers every IAM write verb the reference has (a new verb would slip through).
            for (const a of sarActions("iam").filter((x) => x.accessLevel !== "Read" && x.accessLevel !== "List" && x.name !== "PassRole")) {
                assert.ok(IAM_WRITE_VERBS.some((v) => a.name.startsWith(v)), `iam:${a.name}`);
            }
            // iam:PassRole: only the stack's roles, only to the services they trust.
            const ownRole = f.stack === "dev" ? DEV_ROLE : `arn:aws:iam::${ACCOUNT}:role/web-instance-def5678`;
            assert.equal(evaluateWithBoundary(admin, boundary, { action: "iam:PassRole", resource: ownRole, context: { "iam:PassedToService": "ec2.amazonaws.com", "aws:ResourceTag/Stack": f.stack } }), "allow", f.stack);
            assert.notEqual(evaluateWithBoundary(admin, boundary, { action: "iam:PassRole", resource: ownRole, context: { "iam:PassedToService": "lambda.amazonaws.com" } }), "allow");
            assert.notEqual(evaluateWithBoundary(admin, boundary, { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/admin`, context: { "iam:PassedToService": "ec2.amazonaws.com" } }), "allow");
            assert.equal(evaluateWithBoundary(admin, boundary, { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/ci/platform-deploy-${f.stack}`, context: { "iam:PassedToService": "ec2.amazonaws.com" } }), "explicit-deny");
        }
    });

    it("a role under the boundary cannot touch another stack's resources, the Pulumi state or any secrets key, nor act outside what the stack's roles use", () => {
        const admin: EvalStatement[] = [{ Effect: "Allow", Action: "*", Resource: "*" }];
        const boundary = boundaryOf(dev).Statement;
        const bounded = (action: string, resource: string, context: Record<string, string> = {}) => evaluateWithBoundary(admin, boundary, { action, resource, context });
        assert.equal(bounded("ec2:TerminateInstances", `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`, { "aws:ResourceTag/Stack": "prod" }), "explicit-deny");
        assert.equal(bounded("ec2:CreateTags", `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-1`, { "aws:RequestTag/Stack": "prod" }), "explicit-deny");
        assert.equal(bounded("s3:GetObject", `arn:aws:s3:::${ctx.state!.bucket}/.pulumi/stacks/platform/prod.json`), "explicit-deny");
        for (const key of Object.values(ctx.secretsKeyArns!)) assert.equal(bounded("kms:Decrypt", key), "explicit-deny", key);
        assert.equal(bounded("kms:Decrypt", ctx.state!.keyArn, { "kms:ViaService": "s3.us-east-1.amazonaws.com" }), "explicit-deny");
        // Actions none of dev's roles use are outside the boundary, even with an identity policy of *.
        for (const action of ["lambda:CreateFunction", "ec2:CreateVpc", "s3:PutBucketPolicy", "secretsmanager:CreateSecret", "kms:CreateKey"]) {
            assert.equal(bounded(action, "*", { "aws:ResourceTag/Stack": "dev" }), "implicit-deny", action);
        }
        assert.ok(policySize(boundaryOf(dev)) <= MANAGED_POLICY_MAX_CHARS && policySize(boundaryOf(committed.stacks.prod)) <= MANAGED_POLICY_MAX_CHARS, "one managed policy each (IAM quotas: 6,144 characters)");
    });

    it("everything the stack's own roles are granted still works under the boundary (their policies in the plan, and the AWS managed policies they attach)", async () => {
        for (const stack of ["dev", "prod"]) {
            const f = committed.stacks[stack];
            // The account of the offline plan's ARNs (the mock's).
            const planCtx: AccountContext = { ...ctx, account: "123456789012" };
            const boundary = boundaryPolicy(f, planCtx, stackRoleArns(f, planCtx)).Statement;
            const { graph } = await stackRun(stack);
            let checked = 0;
            for (const r of graph.resources.filter((x) => x.type === "aws:iam/rolePolicy:RolePolicy")) {
                for (const s of JSON.parse(String(r.inputs.policy)).Statement as EvalStatement[]) {
                    const { resource, context } = satisfying(s, stack);
                    for (const action of [s.Action ?? []].flat()) {
                        checked++;
                        assert.equal(evaluate(boundary, { action, resource, context }), "allow", `${stack} ${r.name}: ${action} on ${resource}`);
                    }
                }
            }
            for (const arn of f.managedPolicyArns) for (const action of MANAGED_POLICY_ACTIONS[arn]) assert.equal(evaluate(boundary, { action, resource: "*", context: { "aws:ResourceTag/Stack": stack } }), "allow", `${stack} ${arn}: ${action}`);
            assert.ok(checked > 20, `${stack}: ${checked} granted actions checked`);
        }
        // The managed policies' actions are real actions (Service Authorization Reference).
        for (const action of Object.values(MANAGED_POLICY_ACTIONS).flat()) {
            const [svc, name] = action.split(":");
            assert.ok(sarActions(svc).some((a) => a.name === name), action);
        }
    });

    it("every role in dev and prod carries its stack's boundary, the policy the bootstrap creates", async () => {
        const { graph: bootstrap } = await serialRun({ programDir: path.join(PROJECT_DIR, "bootstrap"), stack: "acme-platform" });
        for (const stack of ["dev", "prod"]) {
            const { graph } = await stackRun(stack);
            const roles = graph.resources.filter((r) => r.type === "aws:iam/role:Role");
            assert.ok(roles.length >= 4, `${stack}: ${roles.length} roles`);
            const expected = ciPermissionsBoundaryArn("aws", "123456789012", "platform", stack);
            for (const r of roles) assert.equal(r.inputs.permissionsBoundary, expected, `${stack} ${r.name}`);
            const policy = bootstrap.resources.find((r) => r.type === "aws:iam/policy:Policy" && r.name === `${stack}-boundary`)!;
            assert.equal(`arn:aws:iam::123456789012:policy${policy.inputs.path}${policy.inputs.name}`, expected, "the bootstrap's boundary policy is the one the roles name");
            const doc = JSON.parse(String(policy.inputs.policy)) as PolicyDocument;
            assert.ok(doc.Statement.some((s) => s.Sid === "NoIdentityOrAccountChanges" && s.Effect === "Deny"));
        }
    });

    it("iam.permissionsBoundary: none leaves roles without one, an ARN is used as given, anything else is a config error naming the key", async () => {
        const custom = "arn:aws:iam::123456789012:policy/org/platform-boundary";
        const { graph } = await serialRun({ stack: "dev", configFile: tempStackFile("dev", { "platform:iam": { permissionsBoundary: custom } }) });
        for (const r of graph.resources.filter((x) => x.type === "aws:iam/role:Role")) assert.equal(r.inputs.permissionsBoundary, custom, r.name);
        const parse = (value: unknown) => parseStackConfig({ "aws:region": "us-east-1", "platform:environment": "dev", "platform:iam": JSON.stringify({ permissionsBoundary: value }) }, "platform", "dev");
        assert.equal(parse("none").iam.permissionsBoundary, "none");
        assert.equal(parseStackConfig({ "aws:region": "us-east-1", "platform:environment": "staging" }, "platform", "staging").iam.permissionsBoundary, "none", "the default: the policy exists only once the bootstrap ran");
        assert.throws(() => parse("arn:aws:iam::123:policy/x"), (err: Error) => err instanceof ConfigError && /platform:iam\.permissionsBoundary = "arn:aws:iam::123:policy\/x": must be "ci"/.test(err.message));
        assert.throws(() => parse("CI"), /platform:iam\.permissionsBoundary = "CI"/);
    });
});
