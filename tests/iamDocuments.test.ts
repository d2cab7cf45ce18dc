/**
 * Every IAM document the programs produce is accepted by moto's IAM, which applies AWS's policy
 * grammar: the trust policy of each role (CreateRole), each inline role policy (PutRolePolicy),
 * each managed policy (CreatePolicy), each attachment of an AWS managed or own policy
 * (AttachRolePolicy: the server loads AWS's managed policies, so a misspelt ARN is NoSuchEntity),
 * and the trust policy again through UpdateAssumeRolePolicy (moto 5.2.1 checks a trust policy's
 * grammar there only; CreateRole stores it unchecked),
 * each instance profile; for the shipped dev and prod stacks, dev with DNS, failover and health
 * checks on, and the CI bootstrap program. The JSON is the real one, from the offline plan graphs,
 * under the names AWS will see (the plan's `name`, else Pulumi's autoname; IAM's name limits,
 * which moto does not check, are asserted below) and with each role's permissions boundary;
 * moto is reset between variants (one account each). moto stores the boundary but never applies
 * it: what a role may do under it is judged in tests/permissionsBoundary.test.ts.
 *
 * What moto's grammar check covers (moto/iam/policy_validation.py, 5.2.1): JSON syntax, the top
 * elements and Version, unique Sids, the statement elements, Effect, Action/Resource/Condition
 * shapes, condition operator names (with ForAnyValue:/ForAllValues:/IfExists), the
 * `vendor:action` form of actions, the ARN form of resources, ISO 8601 dates in date conditions;
 * for trust policies, only sts: actions and no Resource. What it does not: whether an action or
 * condition key exists for the service (tests/ciPermissions.test.ts checks that against the
 * Service Authorization Reference), whether principals and resources exist, size quotas (IAM:
 * 10,240 characters of inline policies per role, 6,144 per managed policy: "IAM and AWS STS
 * quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html, checked below).
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as path from "path";
import { Graph, GraphResource } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { BotoCall, BotoResult, Moto, startMoto } from "./helpers/moto";
import { devWithLoadBalancer, serialRun, stackRun, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const POLICY = "aws:iam/policy:Policy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const PROFILE = "aws:iam/instanceProfile:InstanceProfile";
/** The IAM resource types the programs create, each sent to moto below (a new one fails the count test). */
const HANDLED = new Set([ROLE, ROLE_POLICY, POLICY, ATTACHMENT, PROFILE, "aws:iam/openIdConnectProvider:OpenIdConnectProvider"]);

interface Variant {
    /** The variant's label in test messages (moto is reset between variants: their names may collide). */
    prefix: string;
    graph: Graph;
}

/** A resource's physical name: its `name` input, else Pulumi's autoname (tools/mocks.ts computes the same). */
function physicalName(graph: Graph, r: GraphResource): string {
    return (r.inputs.name as string | undefined) ?? `${r.name}-${createHash("sha256").update(`${graph.stack}::${r.type}::${r.name}`).digest("hex").slice(0, 7)}`;
}

/** IAM's name limits ("IAM and AWS STS quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): moto checks none. */
const NAME_LIMITS: Record<string, number> = { [ROLE]: 64, [POLICY]: 128, [ROLE_POLICY]: 128, [PROFILE]: 128 };

/** The calls that create a graph's IAM resources in moto, and what each one is. */
function iamCalls(v: Variant): Array<{ what: string; call: BotoCall }> {
    const out: Array<{ what: string; call: BotoCall }> = [];
    // The name AWS would get: the plan's `name`, else Pulumi's autoname (logical name, "-", 7 hex
    // characters, as the offline mocks compute it); never cut, so an over-long name reaches the
    // length check below.
    const name = (r: GraphResource) => physicalName(v.graph, r);
    const byUrn = new Map(v.graph.resources.map((r) => [r.urn, r]));
    const roleOf = (r: GraphResource) => {
        const urn = (r.propertyDependencies?.role ?? []).find((u) => byUrn.get(u)?.type === ROLE);
        assert.ok(urn, `${r.type} ${r.name} depends on its role`);
        return name(byUrn.get(urn)!);
    };
    const resources = v.graph.resources.filter((r) => r.type.startsWith("aws:iam/"));
    for (const r of resources.filter((x) => x.type === POLICY)) {
        const params = { PolicyName: name(r), PolicyDocument: String(r.inputs.policy), ...(r.inputs.path ? { Path: r.inputs.path } : {}), ...(r.inputs.description ? { Description: r.inputs.description } : {}) };
        out.push({ what: `${v.prefix} CreatePolicy ${r.name}`, call: { service: "iam", op: "create_policy", params } });
    }
    for (const r of resources.filter((x) => x.type === ROLE)) {
        const params = { RoleName: name(r), AssumeRolePolicyDocument: String(r.inputs.assumeRolePolicy), ...(r.inputs.path ? { Path: r.inputs.path } : {}), ...(r.inputs.maxSessionDuration ? { MaxSessionDuration: r.inputs.maxSessionDuration } : {}), ...(r.inputs.permissionsBoundary ? { PermissionsBoundary: r.inputs.permissionsBoundary } : {}) };
        out.push({ what: `${v.prefix} CreateRole ${r.name}`, call: { service: "iam", op: "create_role", params } });
        // moto 5.2.1 checks a trust policy's grammar on UpdateAssumeRolePolicy only (CreateRole stores it as given).
        out.push({ what: `${v.prefix} UpdateAssumeRolePolicy ${r.name}`, call: { service: "iam", op: "update_assume_role_policy", params: { RoleName: params.RoleName, PolicyDocument: params.AssumeRolePolicyDocument } } });
    }
    for (const r of resources.filter((x) => x.type === ROLE_POLICY)) {
        out.push({ what: `${v.prefix} PutRolePolicy ${r.name}`, call: { service: "iam", op: "put_role_policy", params: { RoleName: roleOf(r), PolicyName: name(r), PolicyDocument: String(r.inputs.policy) } } });
    }
    for (const r of resources.filter((x) => x.type === ATTACHMENT)) {
        let arn = String(r.inputs.policyArn);
        const own = (r.propertyDependencies?.policyArn ?? []).map((u) => byUrn.get(u)).find((p) => p?.type === POLICY);
        // One of the program's own policies: its ARN in moto carries the prefixed name.
        if (own) arn = `arn:aws:iam::123456789012:policy${own.inputs.path ?? "/"}${name(own)}`;
        out.push({ what: `${v.prefix} AttachRolePolicy ${r.name} (${arn})`, call: { service: "iam", op: "attach_role_policy", params: { RoleName: roleOf(r), PolicyArn: arn } } });
    }
    for (const r of resources.filter((x) => x.type === PROFILE)) {
        out.push({ what: `${v.prefix} CreateInstanceProfile ${r.name}`, call: { service: "iam", op: "create_instance_profile", params: { InstanceProfileName: name(r) } } });
        out.push({ what: `${v.prefix} AddRoleToInstanceProfile ${r.name}`, call: { service: "iam", op: "add_role_to_instance_profile", params: { InstanceProfileName: name(r), RoleName: roleOf(r) } } });
    }
    for (const r of resources.filter((x) => x.type === "aws:iam/openIdConnectProvider:OpenIdConnectProvider")) {
        const params = { Url: String(r.inputs.url), ClientIDList: r.inputs.clientIdLists as string[], ...(r.inputs.thumbprintLists ? { ThumbprintList: r.inputs.thumbprintLists } : {}) };
        out.push({ what: `${v.prefix} CreateOpenIDConnectProvider ${r.name}`, call: { service: "iam", op: "create_open_id_connect_provider", params } });
    }
    return out;
}

describe("IAM documents of every program and stack, against moto's IAM", function () {
    this.timeout(120_000);
    let moto: Moto;
    let variants: Variant[];
    let calls: Array<{ what: string; call: BotoCall }>;
    let results: BotoResult[];

    before(async function () {
        requireTools(this, ["moto"]);
        variants = [
            { prefix: "dev", graph: (await stackRun("dev")).graph },
            { prefix: "prod", graph: (await stackRun("prod")).graph },
            {
                prefix: "dns",
                graph: (await serialRun({
                    stack: "dev",
                    configFile: tempStackFile("dev", { ...devWithLoadBalancer(), "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "dev", failover: true, healthCheck: { enabled: true, path: "/healthz" } } }),
                })).graph,
            },
            { prefix: "boot", graph: (await serialRun({ programDir: path.join(PROJECT_DIR, "bootstrap"), stack: "acme-platform" })).graph },
        ];
        // AttachRolePolicy of an AWS managed policy needs moto's copy of AWS's list.
        moto = await startMoto(tempDir("moto-iam-"), { serverEnv: { MOTO_IAM_LOAD_MANAGED_POLICIES: "true" } });
        calls = [];
        results = [];
        // One account per variant, as on AWS (dev and dns share names): moto is reset in between;
        // prod goes last, so the tests below read prod's documents back.
        for (const v of [...variants].sort((a, b) => Number(a.prefix === "prod") - Number(b.prefix === "prod"))) {
            const r = await fetch(`${moto.endpoint}/moto-api/reset`, { method: "POST" });
            assert.ok(r.ok, `moto reset: ${r.status}`);
            const mine = iamCalls(v);
            calls.push(...mine);
            results.push(...(await moto.boto(mine.map((c) => c.call))));
        }
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    it("each program and stack has the IAM resources expected (and no type this test does not send)", () => {
        for (const v of variants) {
            const types = new Set(v.graph.resources.filter((r) => r.type.startsWith("aws:iam/")).map((r) => r.type));
            assert.deepEqual([...types].filter((t) => !HANDLED.has(t)), [], `${v.prefix}: IAM types this test does not create in moto`);
        }
        const count = (prefix: string, op: string) => calls.filter((c) => c.what.startsWith(`${prefix} ${op} `)).length;
        for (const prefix of ["dev", "prod", "dns"]) {
            assert.ok(count(prefix, "CreateRole") >= 4 && count(prefix, "UpdateAssumeRolePolicy") === count(prefix, "CreateRole") && count(prefix, "PutRolePolicy") >= 10 && count(prefix, "AttachRolePolicy") >= 2, prefix);
        }
        assert.ok(count("boot", "CreatePolicy") >= 4 && count("boot", "CreateRole") >= 4 && count("boot", "CreateOpenIDConnectProvider") === 1);
    });

    it("every role, policy and instance profile name is within IAM's limits (role 64, policy and profile 128 characters), as AWS will name it", () => {
        for (const v of variants) {
            for (const r of v.graph.resources.filter((x) => NAME_LIMITS[x.type] !== undefined)) {
                const n = physicalName(v.graph, r);
                assert.ok(n.length <= NAME_LIMITS[r.type], `${v.prefix} ${r.type} ${r.name}: "${n}" is ${n.length} characters, over ${NAME_LIMITS[r.type]}`);
            }
        }
        const roles = calls.filter((c) => c.what.startsWith("prod CreateRole "));
        assert.ok(roles.every((c) => (c.call as any).params.PermissionsBoundary === "arn:aws:iam::123456789012:policy/ci/platform-prod-boundary"), "prod's roles are created with their boundary");
    });

    it("no document holds an unresolved value (<computed>): the plan graphs are not previews", () => {
        for (const v of variants) {
            for (const r of v.graph.resources.filter((x) => x.type.startsWith("aws:iam/"))) {
                assert.ok(!JSON.stringify(r.inputs).includes("<computed>"), `${v.prefix} ${r.type} ${r.name}`);
            }
        }
    });

    it("moto's IAM accepts every trust policy, inline policy, managed policy, attachment and instance profile", () => {
        const refused = results.map((r, i) => (r.ok ? undefined : `${calls[i].what}: ${r.code} ${r.message}`)).filter(Boolean);
        assert.deepEqual(refused, []);
        assert.ok(results.length > 80, `${results.length} calls`);
    });

    it("what moto stored is the plan's document, unchanged", async () => {
        const inline = calls.filter((c) => c.what.startsWith("prod PutRolePolicy "));
        const stored = await moto.botoOk(inline.map((c) => ({ service: "iam", op: "get_role_policy", params: { RoleName: (c.call as any).params.RoleName, PolicyName: (c.call as any).params.PolicyName } })));
        stored.forEach((s, i) => assert.deepEqual(s.PolicyDocument, JSON.parse((inline[i].call as any).params.PolicyDocument), inline[i].what));
    });

    it("IAM's size quotas hold: inline policies per role within 10,240 characters, each managed policy within 6,144 (whitespace not counted)", () => {
        for (const v of variants) {
            const perRole = new Map<string, number>();
            for (const c of calls.filter((x) => x.what.startsWith(`${v.prefix} PutRolePolicy `))) {
                const p = (c.call as any).params;
                perRole.set(p.RoleName, (perRole.get(p.RoleName) ?? 0) + p.PolicyDocument.replace(/\s/g, "").length);
            }
            for (const [role, size] of perRole) assert.ok(size <= 10_240, `${role}: ${size} characters of inline policies`);
            for (const c of calls.filter((x) => x.what.startsWith(`${v.prefix} CreatePolicy `))) {
                const size = (c.call as any).params.PolicyDocument.replace(/\s/g, "").length;
                assert.ok(size <= 6_144, `${c.what}: ${size}`);
            }
        }
    });

    it("refuses a malformed document, so the acceptance above means something", async () => {
        const web = calls.find((c) => c.what === "prod PutRolePolicy backups-web-instance-readwrite-backups-prod")!.call as { params: Record<string, string> };
        const doc = JSON.parse(web.params.PolicyDocument);
        const trust = calls.find((c) => c.what === "prod CreateRole web-instance")!.call as { params: Record<string, string> };
        const mutate = (f: (d: any) => void, base = doc) => {
            const copy = JSON.parse(JSON.stringify(base));
            f(copy);
            return JSON.stringify(copy);
        };
        const bad: Array<[string, BotoCall]> = [
            ["an action without its service prefix", { service: "iam", op: "put_role_policy", params: { ...web.params, PolicyName: "bad-1", PolicyDocument: mutate((d) => (d.Statement[0].Action = ["GetObject"])) } }],
            ["an unknown Effect", { service: "iam", op: "put_role_policy", params: { ...web.params, PolicyName: "bad-2", PolicyDocument: mutate((d) => (d.Statement[0].Effect = "Permit")) } }],
            ["a misspelt condition operator", { service: "iam", op: "put_role_policy", params: { ...web.params, PolicyName: "bad-3", PolicyDocument: mutate((d) => (d.Statement[1].Condition = { StringLikes: d.Statement[1].Condition.StringLike })) } }],
            ["a resource that is no ARN", { service: "iam", op: "put_role_policy", params: { ...web.params, PolicyName: "bad-4", PolicyDocument: mutate((d) => (d.Statement[0].Resource = "backups/prod/*")) } }],
            ["an unknown Version", { service: "iam", op: "create_policy", params: { PolicyName: "bad-5", PolicyDocument: mutate((d) => (d.Version = "2012-10-18")) } }],
            ["a trust policy with a Resource", { service: "iam", op: "update_assume_role_policy", params: { RoleName: trust.params.RoleName, PolicyDocument: mutate((d) => (d.Statement[0].Resource = "*"), JSON.parse(trust.params.AssumeRolePolicyDocument)) } }],
            ["a trust policy granting a non-STS action", { service: "iam", op: "update_assume_role_policy", params: { RoleName: trust.params.RoleName, PolicyDocument: mutate((d) => (d.Statement[0].Action = "s3:GetObject"), JSON.parse(trust.params.AssumeRolePolicyDocument)) } }],
            ["a misspelt AWS managed policy", { service: "iam", op: "attach_role_policy", params: { RoleName: trust.params.RoleName, PolicyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCores" } }],
        ];
        const answers = await moto.boto(bad.map(([, c]) => c));
        answers.forEach((a, i) => {
            assert.equal(a.ok, false, `${bad[i][0]} was accepted`);
            assert.match((a as { code: string }).code, i === bad.length - 1 ? /^NoSuchEntity$/ : /^MalformedPolicyDocument$/, bad[i][0]);
        });
    });
});
