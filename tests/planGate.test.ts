/**
 * The offline plan as a review gate: before/after graphs made by really planning modified stack
 * files (`--config`), and a few hand-made edits where no config key reaches the input (a bucket's
 * physical name, an IAM statement, a security-group rule). Each case checks what `pulumi up`
 * would do on AWS: replace or update in place, and what propagates.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Graph } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { plan } from "../tools/plan";
import { diffGraphs, PlanDiff, renderDiffMarkdown } from "../tools/planDiff";
import { runPlan } from "./support/cli";
import { shippedConfig, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { one as find } from "./support/resources";

const clone = (g: Graph): Graph => JSON.parse(JSON.stringify(g));
const replacedNames = (d: PlanDiff, type: string) => d.replaced.filter((r) => r.type === type).map((r) => r.name).sort();
const dbOverrides = (stack: string, patch: Record<string, unknown>) => ({ "platform:database": { ...((shippedConfig(stack)["platform:database"] as object) ?? {}), ...patch } });

describe("plan diff as a review gate (real before/after plans)", function () {
    this.timeout(240_000);
    const g: Record<string, Graph> = {};

    before(async () => {
        g.dev = await plan({ stack: "dev" });
        g.devCidr = await plan({ stack: "dev", configFile: tempStackFile("dev", { "platform:network": { ...(shippedConfig("dev")["platform:network"] as object), vpcCidr: "10.11.0.0/16" } }) });
        g.devDbName = await plan({ stack: "dev", configFile: tempStackFile("dev", dbOverrides("dev", { databaseName: "orders" })) });
        g.devNatAndClass = await plan({
            stack: "dev",
            configFile: tempStackFile("dev", { ...dbOverrides("dev", { instanceClass: "db.t4g.small" }), "platform:network": { ...(shippedConfig("dev")["platform:network"] as object), natGateways: "single" } }),
        });
        g.devRegion = await plan({ stack: "dev", configFile: tempStackFile("dev", { "aws:region": "eu-west-1" }) });
        g.prodRegion = await plan({ stack: "prod", configFile: tempStackFile("prod", { "aws:region": "eu-central-1" }) });
        g.devReadme = await plan({
            stack: "dev",
            configFile: tempStackFile("dev", { ...dbOverrides("dev", { databaseName: "orders" }), "platform:network": { ...(shippedConfig("dev")["platform:network"] as object), natGateways: "single" } }),
        });
        g.prod = await plan({ stack: "prod" });
        g.prodDbName = await plan({ stack: "prod", configFile: tempStackFile("prod", dbOverrides("prod", { databaseName: "orders" })) });
    });

    it("a VPC CIDR change replaces the awsx VPC and cascades to everything that takes its id in a create-only input", () => {
        const d = diffGraphs(g.dev, g.devCidr);
        const vpc = d.replaced.find((r) => r.type === "awsx:ec2:Vpc")!;
        assert.ok(vpc, "the awsx Vpc is replaced");
        assert.ok(vpc.triggers.some((t) => t.path === "cidrBlock" && t.kind === "awsx"));
        assert.match(vpc.children!, /replaces the VPC, its \d+ subnets/);
        // aws_security_group vpc_id, aws_default_security_group vpc_id and aws_flow_log vpc_id are ForceNew.
        const sgs = g.dev.resources.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup").map((r) => r.name).sort();
        assert.ok(sgs.length >= 3);
        assert.deepEqual(replacedNames(d, "aws:ec2/securityGroup:SecurityGroup"), sgs);
        assert.deepEqual(replacedNames(d, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").length, 1);
        assert.deepEqual(replacedNames(d, "aws:ec2/flowLog:FlowLog").length, 1);
        for (const sg of d.replaced.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup")) {
            assert.ok(sg.cascadeOnly && sg.triggers.some((t) => t.kind === "cascade" && t.path === "vpcId" && t.via === vpc.urn), sg.name);
        }
        // Second step: rules take the replaced security group's id (security_group_id RequiresReplace).
        const rules = d.replaced.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
        assert.ok(rules.length > 0 && rules.every((r) => r.triggers.some((t) => t.kind === "cascade" && t.path === "securityGroupId")));
        // aws_instance subnet_id is ForceNew: dev's single web instance lives in a subnet of the VPC.
        const instance = d.replaced.find((r) => r.type === "aws:ec2/instance:Instance");
        assert.ok(instance && instance.triggers.some((t) => t.kind === "cascade" && t.path === "subnetId"), "the web instance is replaced");
        assert.ok(d.dataLoss.some((r) => r.type === "awsx:ec2:Vpc" && r.action === "replace"));
        assert.ok(d.dataLoss.some((r) => r.type === "aws:ec2/instance:Instance"));
        const md = renderDiffMarkdown(d, { stack: "dev" });
        assert.match(md, /\*\*0 to add, \d+ to change in place, (\d+) to replace, 0 to remove\*\*/);
        assert.equal(Number(/(\d+) to replace/.exec(md)![1]), d.replaced.length);
        assert.ok(md.indexOf("Data-loss risks") < md.indexOf("#### To replace"), "risks come first");
    });

    it("an RDS change that replaces (dbName is create-only) is a data-loss risk; in prod, where the database is protected, the gate refuses it", () => {
        const d = diffGraphs(g.dev, g.devDbName);
        const db = d.replaced.find((r) => r.type === "aws:rds/instance:Instance")!;
        assert.ok(db.triggers.some((t) => t.kind === "force-new" && t.path === "dbName"));
        assert.ok(d.dataLoss.some((r) => r.urn === db.urn && !r.protect));
        assert.deepEqual(d.gate, [], "dev's database is not protected: flagged, not refused");
        // The identifier stays "platform-dev": create-before-delete would collide, so outside prod the
        // database deletes first (deleteBeforeReplace) and the diff says so instead of warning.
        assert.equal(db.deleteBeforeReplace, true);
        assert.equal(db.nameCollision, undefined);
        assert.match(renderDiffMarkdown(d, { stack: "dev" }), /deleteBeforeReplace: the old one is deleted first/);
        // Without that option the same change is flagged: the create of the new instance would fail.
        const withoutDbr = (graph: Graph): Graph => ({ ...graph, resources: graph.resources.map((r) => (r.urn === db.urn ? { ...r, deleteBeforeReplace: false } : r)) });
        const collides = diffGraphs(withoutDbr(g.dev), withoutDbr(g.devDbName)).replaced.find((r) => r.urn === db.urn)!;
        assert.match(collides.nameCollision ?? "", /identifier "platform-dev" is fixed and unchanged/);

        const p = diffGraphs(g.prod, g.prodDbName);
        assert.equal(p.gate.length, 1);
        assert.equal(p.gate[0].type, "aws:rds/instance:Instance");
        assert.match(p.gate[0].message, /Pulumi refuses to replace a protected resource/);
        assert.ok(p.dataLoss[0].protect, "protected risks are listed first");
        assert.match(renderDiffMarkdown(p, { stack: "prod" }), /⛔ \*\*Refused:\*\* 1 protected resource/);
    });

    it("an RDS instanceClass change is an in-place modification; an added NAT gateway raises the cost", () => {
        const d = diffGraphs(g.dev, g.devNatAndClass);
        const db = d.changed.find((c) => c.type === "aws:rds/instance:Instance")!;
        assert.ok(db.inputs.some((i) => i.path === "instanceClass"));
        assert.equal(db.action, "update");
        assert.ok(!d.replaced.some((r) => r.type === "aws:rds/instance:Instance"));
        // natGateways on the awsx Vpc adds a NAT gateway; the VPC itself stays.
        assert.ok(!d.replaced.some((r) => r.type === "awsx:ec2:Vpc"));
        const cost = d.cost!;
        assert.ok(cost.after.monthlyUsd > cost.before.monthlyUsd);
        const nat = cost.lines.find((l) => l.description.startsWith("NAT gateway hours"))!;
        assert.equal(nat.beforeUsd, undefined);
        assert.equal(nat.afterUsd, 32.85); // 0.045 USD/h × 730 h
        const rds = cost.lines.find((l) => l.description.startsWith("RDS postgres"))!;
        assert.deepEqual([rds.beforeUsd, rds.afterUsd], [11.68, 23.36]);
        // Lines sorted by the size of the change, largest first.
        const deltas = cost.lines.map((l) => Math.abs(l.deltaUsd));
        assert.deepEqual(deltas, [...deltas].sort((a, b) => b - a));
        assert.equal(cost.deltaUsd, Math.round((cost.after.monthlyUsd - cost.before.monthlyUsd) * 100) / 100);
        const md = renderDiffMarkdown(d, { stack: "dev" });
        assert.match(md, /\*\*Monthly cost:\*\* \$\d+\.\d\d → \$\d+\.\d\d \(\+\$\d+\.\d\d\)/);
        assert.match(md, /\| `Vpc` \*\*network\*\* \| NAT gateway hours \(Single, 2 AZ\) \| – \| \$32\.85 \| \+\$32\.85 \|/);
    });

    it("a region change replaces every resource of the provider and reprices the stack in the new region", () => {
        const d = diffGraphs(g.dev, g.devRegion);
        const custom = g.devRegion.resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:") && r.provider);
        assert.ok(custom.length > 50);
        const replaced = new Set(d.replaced.map((r) => r.urn));
        assert.ok(custom.every((r) => replaced.has(r.urn)), "all replaced");
        assert.ok(d.replaced.some((r) => r.triggers.some((t) => t.kind === "provider" && /region changes \(us-east-1 → eu-west-1\)/.test(t.why))));
        assert.ok(d.dataLoss.some((r) => r.type === "aws:rds/instance:Instance") && d.dataLoss.some((r) => r.type === "aws:s3/bucket:Bucket"));
        const cost = d.cost!;
        assert.equal(cost.before.region, "us-east-1");
        assert.equal(cost.after.region, "eu-west-1");
        // What eu-west-1 prices (Route 53 and Budgets are global; gateway endpoints free; one public IPv4 rate)…
        assert.ok(!cost.lines.some((l) => l.description === "Elastic IP (public IPv4)"), "the same rate: no change line");
        assert.ok(cost.after.monthlyUsd >= 3.65);
        // …and what it cannot: the total is a visible lower bound, each gap named with why, never a bare $0.00.
        assert.ok(cost.after.notPriced.length > 0);
        assert.ok(cost.after.notPriced.some((n) => /EC2 t4g\.micro .*no price for eu-west-1/.test(n)));
        assert.ok(cost.lines.some((l) => l.description.startsWith("EC2 t4g.micro") && l.beforeUsd === 6.13 && l.afterUsd === undefined));
        const md = renderDiffMarkdown(d, { stack: "dev" });
        assert.match(md, /\*\*Monthly cost:\*\* \$\d+\.\d\d → at least \$\d+\.\d\d \(\d+ items not priced\) \(change over items priced in both: [+−]\$\d+\.\d\d; \d+ items not comparable\) \(us-east-1 → eu-west-1\)/);
        assert.match(md, /item\(s\) not priced in the head<\/summary>/);
        assert.match(md, /\| EC2 t4g\.micro \| \$6\.13 \| not priced \| not comparable \|/);
    });

    it("a change with unpriced charges on one side never shows the difference of the totals as a saving (prod moved to eu-central-1)", () => {
        // The totals are "$308.78 → at least $23.49": their difference (−$285.29) would be a saving
        // made up by the price table's gaps. Only charges priced on both sides are compared.
        const d = diffGraphs(g.prod, g.prodRegion);
        const cost = d.cost!;
        assert.equal(cost.before.notPriced.length, 0, "us-east-1 prices all of prod");
        assert.ok(cost.after.notPriced.length > 10, "eu-central-1 leaves many charges unpriced");
        assert.equal(cost.deltaUsd, null, "no exact change between a total and a lower bound");
        const comparable = cost.lines.filter((l) => l.comparable);
        assert.ok(comparable.every((l) => l.beforeUsd !== undefined && l.afterUsd !== undefined), "in a region move only charges priced in both regions compare");
        assert.equal(cost.comparable.deltaUsd, Math.round(comparable.reduce((sum, l) => sum + l.deltaUsd, 0) * 100) / 100);
        assert.ok(cost.comparable.compared > 0, "Route 53 and Budgets are priced in both");
        assert.equal(cost.comparable.notComparable, cost.after.unpriced!.length);
        // Every charge us-east-1 priced and eu-central-1 does not is shown as not comparable, never as a saving.
        const gone = cost.lines.filter((l) => l.afterUsd === undefined);
        assert.ok(gone.length > 10 && gone.every((l) => !l.comparable));
        const md = renderDiffMarkdown(d, { stack: "prod" });
        const header = md.split("\n").find((l) => l.startsWith("**Monthly cost:**"))!;
        assert.match(header, new RegExp(`^\\*\\*Monthly cost:\\*\\* \\$\\d+\\.\\d\\d → at least \\$\\d+\\.\\d\\d \\(${cost.after.notPriced.length} items not priced\\) \\(change over items priced in both: [+−]\\$\\d+\\.\\d\\d; ${cost.comparable.notComparable} items not comparable\\) \\(us-east-1 → eu-central-1\\)$`));
        // No bare figure that reads as the change of the total, in the header or the cost section.
        const costSection = md.slice(md.indexOf("#### 💰 Cost change"), md.indexOf("####", md.indexOf("#### 💰 Cost change") + 5));
        for (const text of [header, costSection.split("\n")[2]]) assert.doesNotMatch(text, /\((?:[+−])\$\d+\.\d\d\)/, text);
        assert.ok(!md.includes("−$285.29"));
    });

    it("the README's example comment is exactly what the tool prints for its stated change", () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const block = /What a comment looks like:[^\n]*\n[^\n]*\n\n````markdown\n([\s\S]*?)\n````/.exec(readme);
        assert.ok(block, "the README has the example block");
        assert.equal(block[1], renderDiffMarkdown(diffGraphs(g.dev, g.devReadme), { stack: "dev" }).trimEnd());
    });

    it("a bucket's new physical name replaces it (bucket is create-only) and loses its objects", () => {
        const head = clone(g.dev);
        const bucket = find(head, "aws:s3/bucket:Bucket", "uploads");
        bucket.inputs.bucket = "platform-dev-uploads-renamed";
        const base = clone(g.dev);
        find(base, "aws:s3/bucket:Bucket", "uploads").inputs.bucket = "platform-dev-uploads";
        const d = diffGraphs(base, head);
        const r = d.replaced.find((x) => x.urn === bucket.urn)!;
        assert.ok(r.triggers.some((t) => t.kind === "force-new" && t.path === "bucket"));
        assert.ok(d.dataLoss.some((x) => x.urn === bucket.urn && /every object/.test(x.holds)));
        // Sub-resources keyed by the bucket name follow it.
        assert.ok(d.replaced.some((x) => x.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock" && x.cascadeOnly));
        // A logical rename (new URN) is a delete and a create: the deleted bucket is a data-loss risk too.
        const renamed = clone(g.dev);
        const b2 = find(renamed, "aws:s3/bucket:Bucket", "uploads");
        b2.urn = b2.urn.replace(/::uploads$/, "::uploads2");
        b2.name = "uploads2";
        const d2 = diffGraphs(g.dev, renamed);
        assert.ok(d2.dataLoss.some((x) => x.action === "delete" && x.name === "uploads" && x.type === "aws:s3/bucket:Bucket"));
    });

    it("an IAM statement widened to s3:* and an SSH rule opened to the world are listed as security changes", () => {
        const head = clone(g.dev);
        const policy = head.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && typeof r.inputs.policy === "string" && (r.inputs.policy as string).includes("s3:"))!;
        const doc = JSON.parse(policy.inputs.policy as string);
        doc.Statement.push({ Sid: "Everything", Effect: "Allow", Action: "s3:*", Resource: "*" });
        policy.inputs.policy = JSON.stringify(doc);
        const sg = find(head, "aws:ec2/securityGroup:SecurityGroup", "network-app");
        head.resources.push({ ...sg, urn: `${sg.urn}-ssh`, type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name: "ssh-anywhere", id: "sgr-1", custom: true, inputs: { securityGroupId: sg.id, ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0" }, propertyDependencies: { securityGroupId: [sg.urn] } });
        const d = diffGraphs(g.dev, head);
        const iam = d.security.find((c) => c.urn === policy.urn)!;
        assert.equal(iam.severity, "high");
        assert.match(iam.summary, /Everything\) allows actions `s3:\*` on `\*` — wildcard `s3:\*`, `\*`/);
        const ssh = d.security.find((c) => c.name === "ssh-anywhere")!;
        assert.equal(ssh.severity, "high");
        assert.match(ssh.summary, /ingress tcp 22 \(SSH\) opened to `0\.0\.0\.0\/0`/);
        const md = renderDiffMarkdown(d, { stack: "dev" });
        assert.match(md, /#### 🔓 Security changes: wider access \(2\)/);
        assert.ok(md.indexOf("Security changes") < md.indexOf("#### To add"));
    });
});

describe("npm run plan -- --diff: the gate as the shell sees it", function () {
    this.timeout(120_000);
    const dir = tempDir("plan-gate-");
    const base = path.join(dir, "prod.json");
    const head = tempStackFile("prod", dbOverrides("prod", { databaseName: "orders" }));

    before(async () => {
        const { code, stderr } = await runPlan(["--stack", "prod", "--out", base]);
        assert.equal(code, 0, stderr);
    });

    it("exits 1 with the refusal on stderr when a protected resource would be replaced (spawned, as CI runs it)", () => {
        const refused = spawnSync(process.execPath, ["-r", path.join(PROJECT_DIR, "tools", "register.js"), "tools/plan.ts", "--stack", "prod", "--config", head, "--diff", base], { cwd: PROJECT_DIR, encoding: "utf8" });
        assert.equal(refused.status, 1, refused.stderr);
        assert.match(refused.stderr, /^refused: aws:rds\/instance:Instance "db" is protected and this change replaces it \(dbName\)/m);
        assert.match(refused.stdout, /#### ⛔ Refused: protected resources \(1\)/);
    });

    it("--diff with --json prints the diff object: replacements, gate, data-loss risks, security and cost", async () => {
        const { code, stdout } = await runPlan(["--stack", "prod", "--config", head, "--diff", base, "--json"]);
        assert.equal(code, 1);
        const d = JSON.parse(stdout) as PlanDiff;
        assert.equal(d.gate.length, 1);
        assert.ok(Array.isArray(d.security) && Array.isArray(d.dataLoss) && d.cost && d.replaced.some((r) => r.type === "aws:rds/instance:Instance"));
        assert.ok(d.changed.every((c) => c.action === "update" || c.action === "replace"));
    });
});
