/** The offline plan diff (tools/planDiff.ts) and `npm run plan -- --diff <base.json>`. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { costDiff, formatChange } from "../tools/costDiff";
import { CostEstimate, CostItem, Graph, GraphResource, Violation } from "../tools/graph";
import { runPlan } from "./support/cli";
import { tempDir } from "./support/tmp";
import { diffGraphs, diffInputs, GITHUB_COMMENT_LIMIT, isSecretKey, parseGraphJson, PlanDiff, renderDiffMarkdown } from "../tools/planDiff";

const STACK = "urn:pulumi:dev::platform::pulumi:pulumi:Stack::platform-dev";

function res(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<GraphResource> = {}): GraphResource {
    return {
        urn: `urn:pulumi:dev::platform::${type}::${name}`, type, name, parent: STACK, dependencies: [], propertyDependencies: {},
        protect: false, retainOnDelete: false, custom: true, remote: false, provider: null, id: `${name}-id`, inputs, ...extra,
    };
}

function graph(resources: GraphResource[], violations: Violation[] = []): Graph {
    return { project: "platform", stack: "dev", resources, outputs: {}, violations };
}

const policyV1 = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*" }] });
const policyV2 = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: "arn:aws:s3:::b/*" }] });

const base = graph([
    res("aws:s3/bucket:Bucket", "logs", { bucket: "logs-dev", tags: { Owner: "platform-team", Env: "dev" } }),
    res("aws:ec2/securityGroup:SecurityGroup", "web", {
        ingress: [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/16"] }],
        egress: [{ fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }],
    }),
    res("aws:iam/rolePolicy:RolePolicy", "read", { role: "app", policy: policyV1 }),
    res("aws:rds/instance:Instance", "db", { instanceClass: "db.t4g.micro", password: "hunter2-old", masterUserSecretKmsKeyId: "k1", port: 5432 }),
    res("aws:secretsmanager/secretVersion:SecretVersion", "dbpass", { secretId: "arn:secret:a", secretString: "<secret>" }),
    res("aws:ec2/instance:Instance", "bastion", { instanceType: "t3.micro" }),
]);

const head = graph(
    [
        res("aws:s3/bucket:Bucket", "logs", { bucket: "logs-dev", tags: { Owner: "ops", Env: "dev", CostCentre: "42" } }),
        res("aws:ec2/securityGroup:SecurityGroup", "web", {
            ingress: [{ fromPort: 443, toPort: 443, protocol: "tcp", cidrBlocks: ["10.0.0.0/16", "10.1.0.0/16"] }],
            egress: [],
        }),
        res("aws:iam/rolePolicy:RolePolicy", "read", { role: "app", policy: policyV2 }),
        res("aws:rds/instance:Instance", "db", { instanceClass: "db.t4g.small", password: "hunter2-new", masterUserSecretKmsKeyId: "k2", port: 5432 }, { protect: true }),
        res("aws:secretsmanager/secretVersion:SecretVersion", "dbpass", { secretId: "arn:secret:b", secretString: "<secret>" }),
        res("aws:cloudwatch/logGroup:LogGroup", "app", { retentionInDays: 30 }),
    ],
    [
        { policy: "advisory-rule", level: "advisory", urn: null, message: "consider tags" },
        { policy: "s3-no-public-acl", level: "mandatory", urn: "urn:pulumi:dev::platform::aws:s3/bucket:Bucket::logs", message: "bucket is public" },
    ],
);

describe("plan diff: diffGraphs", () => {
    let diff: PlanDiff;
    before(() => {
        diff = diffGraphs(base, head);
    });

    it("finds additions and removals by URN", () => {
        assert.deepEqual(diff.added, [{ urn: "urn:pulumi:dev::platform::aws:cloudwatch/logGroup:LogGroup::app", type: "aws:cloudwatch/logGroup:LogGroup", name: "app", protect: false }]);
        assert.deepEqual(diff.removed, [{ urn: "urn:pulumi:dev::platform::aws:ec2/instance:Instance::bastion", type: "aws:ec2/instance:Instance", name: "bastion", protect: false }]);
        assert.equal(diff.baseCount, 6);
        assert.equal(diff.headCount, 6);
    });

    it("lists exactly the changed input paths, nested objects, arrays and JSON policy documents included", () => {
        assert.deepEqual(
            diff.changed.map((c) => [c.name, c.inputs, c.protectChange]),
            [
                ["logs", [
                    { path: "tags.CostCentre", old: undefined, new: "42", secret: false },
                    { path: "tags.Owner", old: "platform-team", new: "ops", secret: false },
                ], undefined],
                ["web", [
                    { path: "egress[0]", old: { fromPort: 0, toPort: 0, protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }, new: undefined, secret: false },
                    { path: "ingress[0].cidrBlocks[1]", old: undefined, new: "10.1.0.0/16", secret: false },
                ], undefined],
                ["read", [{ path: "policy{json}.Statement[0].Action[1]", old: undefined, new: "s3:PutObject", secret: false }], undefined],
                ["db", [
                    { path: "instanceClass", old: "db.t4g.micro", new: "db.t4g.small", secret: false },
                    { path: "masterUserSecretKmsKeyId", old: "k1", new: "k2", secret: false },
                    { path: "password", old: "***", new: "***", secret: true },
                ], { old: false, new: true }],
                ["dbpass", [{ path: "secretId", old: "arn:secret:a", new: "arn:secret:b", secret: false }], undefined],
            ],
        );
    });

    it("puts mandatory violations first", () => {
        assert.deepEqual(diff.violations.map((v) => v.level), ["mandatory", "advisory"]);
    });

    it("masks secrets: '<secret>' values and secret-looking keys, at any depth, never printing them", () => {
        assert.ok(isSecretKey("password") && isSecretKey("masterPassword") && isSecretKey("privateKey") && isSecretKey("apiToken") && isSecretKey("secretString") && isSecretKey("client_secret"));
        assert.ok(!isSecretKey("secretId") && !isSecretKey("secretArn") && !isSecretKey("kmsKeyId") && !isSecretKey("passwordLength") && !isSecretKey("instanceType"));
        assert.deepEqual(diffInputs({ a: { b: [{ token: "t1" }] } }, { a: { b: [{ token: "t2" }] } }), [{ path: "a.b[0].token", old: "***", new: "***", secret: true }]);
        // A plaintext value that becomes a secret: neither side is shown.
        assert.deepEqual(diffInputs({ userData: "plain-old" }, { userData: "<secret>" }), [{ path: "userData", old: "***", new: "***", secret: true }]);
        // A whole object replaced by a scalar: secrets inside it are masked, other fields kept.
        assert.deepEqual(diffInputs({ conn: { user: "u", password: "pw-1" } }, { conn: "<computed>" }), [{ path: "conn", old: { user: "u", password: "***" }, new: "<computed>", secret: true }]);
        // Unchanged secrets are no change.
        assert.deepEqual(diffInputs({ password: "<secret>" }, { password: "<secret>" }), []);

        const md = renderDiffMarkdown(diffGraphs(base, head), { stack: "dev" });
        assert.doesNotMatch(md, /hunter2/);
        assert.match(md, /- `password`: \(secret changed\)\n/);
        const added = renderDiffMarkdown(diffGraphs(graph([res("t:m:R", "r", {})]), graph([res("t:m:R", "r", { apiKey: "k-123" })])), { stack: "dev" });
        assert.match(added, /`apiKey`: \(secret added\)/);
        assert.doesNotMatch(added, /k-123/);
    });

    it("renders Markdown: summary, violations (mandatory first), added, removed, changed with old → new", () => {
        const md = renderDiffMarkdown(diffGraphs(base, head), { stack: "dev" });
        assert.ok(md.startsWith("<!-- platform-plan-diff stack=dev -->\n### Offline plan diff: stack `dev`\n"));
        // The secret version's secretId is create-only: 4 in-place changes and 1 replacement (it used to read "5 to change").
        assert.match(md, /\*\*1 to add, 4 to change in place, 1 to replace, 1 to remove\*\* \(6 → 6 resources\) · policies: 1 mandatory, 1 advisory violation\(s\)/);
        assert.match(md, /#### To replace \(1\)\n\n- `\+-` `aws:secretsmanager\/secretVersion:SecretVersion` \*\*dbpass\*\*\n  - `secretId` is create-only/);
        assert.ok(md.indexOf("**mandatory** `s3-no-public-acl`") < md.indexOf("**advisory** `advisory-rule`"));
        assert.ok(md.indexOf("#### Policy violations") < md.indexOf("#### To add"));
        assert.match(md, /#### To add \(1\)\n\n- `\+` `aws:cloudwatch\/logGroup:LogGroup` \*\*app\*\*\n/);
        assert.match(md, /#### To remove \(1\)\n\n- `-` `aws:ec2\/instance:Instance` \*\*bastion\*\*\n/);
        assert.match(md, /- `~` `aws:rds\/instance:Instance` \*\*db\*\* _\(protected\)_\n  - protect: `false` → `true`\n  - `instanceClass`: `"db.t4g.micro"` → `"db.t4g.small"`\n/);
        // instanceClass and the secret's KMS key change in place: no replacement, so no refusal although it becomes protected.
        assert.deepEqual(diffGraphs(base, head).gate, []);
        assert.match(md, /  - `tags.CostCentre`: _\(absent\)_ → `"42"`\n/);
        assert.match(md, /  - `policy\{json\}.Statement\[0\].Action\[1\]`: _\(absent\)_ → `"s3:PutObject"`\n/);
        assert.doesNotMatch(md, /summarised/);
    });

    it("says so when nothing changed", () => {
        const md = renderDiffMarkdown(diffGraphs(base, base), { stack: "dev" });
        assert.match(md, /\*\*0 to add, 0 to change in place, 0 to replace, 0 to remove\*\*/);
        assert.match(md, /\nNo resource changes\.\n/);
    });

    it("keeps a huge diff under GitHub's comment limit, summarised with counts by type and a note", () => {
        const many = (n: number, tag: string) =>
            Array.from({ length: n }, (_, i) => res(`aws:ec2/type${i % 7}:T`, `r${i}`, { value: `${tag}-${"x".repeat(300)}-${i}`, list: Array.from({ length: 30 }, (_, j) => `${tag}${j}`) }));
        const big = diffGraphs(graph([...many(3000, "old"), res("aws:s3/bucket:Bucket", "gone", {})]), graph([...many(3000, "new"), ...Array.from({ length: 2000 }, (_, i) => res("aws:sns/topic:Topic", `t${i}`, {}))]));
        assert.equal(big.changed.length, 3000);
        const md = renderDiffMarkdown(big, { stack: "dev" });
        assert.ok(md.length < GITHUB_COMMENT_LIMIT, `length ${md.length}`);
        assert.ok(md.length <= 65_000);
        // Types outside the replacement table count as in-place changes, and the diff says it cannot tell.
        assert.match(md, /\*\*2000 to add, 3000 to change in place, 0 to replace, 1 to remove\*\*/);
        assert.match(md, /Not in the replacement table, so shown as in-place changes/);
        assert.match(md, /so it is summarised/);
        assert.match(md, /\| `aws:sns\/topic:Topic` \| 2000 \| 0 \| 0 \|/);
        assert.match(md, /\| `aws:s3\/bucket:Bucket` \| 0 \| 0 \| 1 \|/);
        const note = /_(\d+) more changes not shown\._/.exec(md);
        assert.ok(note, "names how many changes were left out");
        const shownBlocks = (md.match(/^- `[+~-]` /gm) ?? []).length;
        assert.equal(Number(note[1]) + shownBlocks, 5001, "shown + not shown = every change");
        // A smaller budget is honoured too.
        assert.ok(renderDiffMarkdown(big, { stack: "dev", maxChars: 5000 }).length <= 5000);
    });

    it("rejects a base file that is not a plan graph, naming the fix", () => {
        assert.throws(() => parseGraphJson("nope", "base.json"), /base\.json is not JSON .*npm run plan -- --stack <name> --out base\.json/);
        assert.throws(() => parseGraphJson('{"stack":"dev"}', "base.json"), /not a plan graph/);
        assert.throws(() => parseGraphJson('{"stack":"dev","resources":[{"urn":"u"}]}', "base.json"), /resources\[0\] lacks a urn, type or inputs/);
        assert.equal(parseGraphJson(JSON.stringify(base), "b").resources.length, 6);
    });
});


describe("npm run plan -- --diff", () => {
    const dir = tempDir("plan-diff-");
    let dev: Graph;
    let removed: GraphResource;
    let changed: GraphResource;
    let changedKey: string;

    before(async () => {
        const saved = path.join(dir, "dev.json");
        const { code, stderr } = await runPlan(["--stack", "dev", "--out", saved]);
        assert.equal(code, 0, stderr);
        dev = JSON.parse(fs.readFileSync(saved, "utf8"));
    });

    it("prints the Markdown diff against the saved dev graph with one resource removed and one input changed", async () => {
        const baseGraph: Graph = JSON.parse(JSON.stringify(dev));
        removed = baseGraph.resources.filter((r) => r.custom && !baseGraph.resources.some((c) => c.parent === r.urn)).pop()!;
        baseGraph.resources = baseGraph.resources.filter((r) => r.urn !== removed.urn);
        changed = baseGraph.resources.find((r) => r.custom && Object.entries(r.inputs).some(([k, v]) => typeof v === "string" && !["<computed>", "<secret>"].includes(v) && !isSecretKey(k)))!;
        changedKey = Object.keys(changed.inputs).sort().find((k) => typeof changed.inputs[k] === "string" && !["<computed>", "<secret>"].includes(changed.inputs[k] as string) && !isSecretKey(k))!;
        const headValue = changed.inputs[changedKey];
        changed.inputs[changedKey] = "base-value";
        const file = path.join(dir, "base.json");
        fs.writeFileSync(file, JSON.stringify(baseGraph));

        const { code, stdout, stderr } = await runPlan(["--stack", "dev", "--diff", file]);
        assert.equal(code, 0, stderr);
        assert.doesNotMatch(stderr, /--diff/);
        assert.match(stdout, /^<!-- platform-plan-diff stack=dev -->\n### Offline plan diff: stack `dev`\n/);
        const n = dev.resources.length;
        // The first custom resource with a plain string input is the AWS provider (defaultTags): an in-place change.
        assert.equal(changed.type, "pulumi:providers:aws");
        assert.ok(stdout.includes(`**1 to add, 1 to change in place, 0 to replace, 0 to remove** (${n - 1} → ${n} resources) · policies: 0 mandatory`), stdout.slice(0, 400));
        assert.ok(stdout.includes(`#### To add (1)\n\n- \`+\` \`${removed.type}\` **${removed.name}**`), `adds ${removed.name}`);
        assert.ok(stdout.includes(`#### Input changes (1)\n\n- \`~\` \`${changed.type}\` **${changed.name}**`), `changes ${changed.name}`);
        const line = `  - \`${changedKey}\`: \`"base-value"\` → \`${JSON.stringify(headValue)}\``;
        assert.ok(stdout.includes(line), `expected ${line} in\n${stdout}`);
        assert.doesNotMatch(stdout, /Resources by type:/, "the Markdown replaces the tree");
    });

    it("exits 2 for a missing, malformed or other-stack base file", async () => {
        const missing = await runPlan(["--stack", "dev", "--diff", path.join(dir, "nope.json")]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /^--diff: ENOENT/);
        const bad = path.join(dir, "bad.json");
        fs.writeFileSync(bad, "{ not json");
        const malformed = await runPlan(["--stack", "dev", "--diff", bad]);
        assert.equal(malformed.code, 2);
        assert.match(malformed.stderr, /is not JSON/);
        const prod = path.join(dir, "prod.json");
        fs.writeFileSync(prod, JSON.stringify({ ...dev, stack: "prod" }));
        const other = await runPlan(["--stack", "dev", "--diff", prod]);
        assert.equal(other.code, 2);
        assert.match(other.stderr, /is the plan of stack "prod", not "dev"/);
        assert.equal(other.stdout, "");
    });

    it("exits 1 with the diff when the head has mandatory violations", async () => {
        const file = path.join(dir, "nc-base.json");
        fs.writeFileSync(file, JSON.stringify({ project: "platform-noncompliant", stack: "dev", resources: [], outputs: {}, violations: [] }));
        const { code, stdout } = await runPlan(["--program", "tests/fixtures/noncompliant", "--stack", "dev", "--diff", file]);
        assert.equal(code, 1);
        assert.match(stdout, /#### Policy violations in the head/);
        assert.match(stdout, /^- ❌ \*\*mandatory\*\* /m);
    });
});

describe("plan diff: cost change with unpriced charges", () => {
    const item = (urn: string, key: string, usd: number): CostItem => ({ urn, type: "aws:ec2/natGateway:NatGateway", name: urn, description: key, quantity: 1, unit: "month", unitUsd: usd, monthlyUsd: usd, priceKey: key });
    const estimate = (items: CostItem[], unpriced: Array<{ urn: string; key: string }> = [], legacy = false): CostEstimate => ({
        monthlyUsd: Math.round(items.reduce((s, i) => s + i.monthlyUsd, 0) * 100) / 100,
        items,
        assumptions: [],
        notPriced: unpriced.map((u) => `${u.key} of ${u.urn} is not estimated`),
        ...(legacy ? {} : { unpriced: unpriced.map((u) => ({ ...u, reason: `${u.key} of ${u.urn} is not estimated` })) }),
    });

    it("both sides fully priced: the exact change of the total", () => {
        const d = costDiff(estimate([item("a", "nat.hour", 32.85)]), estimate([item("a", "nat.hour", 32.85), item("b", "nat.hour", 32.85)]));
        assert.equal(d.deltaUsd, 32.85);
        assert.equal(formatChange(d), "+$32.85");
    });

    it("a side with unpriced charges: the change over what compares, an added resource included, and the count that does not", () => {
        // "c" lost its price (unpriced in the head): not comparable. "b" is a new resource, priced: it compares.
        const d = costDiff(estimate([item("a", "nat.hour", 10), item("c", "alb.hour", 16.43)]), estimate([item("a", "nat.hour", 12), item("b", "nat.hour", 32.85)], [{ urn: "c", key: "alb.hour" }]));
        assert.equal(d.deltaUsd, null);
        assert.deepEqual(d.comparable, { deltaUsd: 34.85, compared: 2, notComparable: 1 });
        assert.deepEqual(d.lines.map((l) => [l.urn, l.comparable]), [["b", true], ["a", true], ["c", false]]);
        assert.equal(formatChange(d), "change over items priced in both: +$34.85; 1 item not comparable");
    });

    it("nothing compares: the change is unknown, never the difference of the totals", () => {
        const d = costDiff(estimate([item("a", "nat.hour", 32.85)]), estimate([], [{ urn: "a", key: "nat.hour" }]));
        assert.equal(formatChange(d), "change unknown: 1 item not comparable");
    });

    it("a base plan from before unpriced charges were itemised: every line it lacks is not comparable", () => {
        const d = costDiff(estimate([], [{ urn: "x", key: "ec2.instances" }], true), estimate([item("b", "nat.hour", 32.85)]));
        assert.equal(d.lines[0].comparable, false);
        assert.equal(formatChange(d), "change unknown: 1 item not comparable");
    });
});
