/**
 * The replacement table (tools/replacements/forceNew.ts): it covers every resource type the
 * program creates, in both shipped stacks and with DNS on, and every path it names is an input
 * of the installed @pulumi/aws (or awsx) resource, so a snake_case → camelCase slip fails here.
 * The create-only rules themselves are terraform-provider-aws's schemas (ForceNew), which the
 * Pulumi AWS provider bridges: "Terraform Plugin SDK: Schema Behaviors — ForceNew"
 * (https://developer.hashicorp.com/terraform/plugin/sdkv2/schemas/schema-behaviors#forcenew).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { GraphResource } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { AWSX_VPC, isLogicalOnly, PROVIDER_SOURCE, REPLACEMENT_RULES } from "../tools/replacements/forceNew";
import { forceNewTriggers, schemaPath } from "../tools/replacements/analyze";
import { PRICES } from "../tools/prices";
import { devWithLoadBalancer, serialRun, stackRun, tempStackFile } from "./support/stacks";

/** Property names of `export interface <Class>Args { ... }` in an installed .d.ts. */
function argsOf(file: string, cls: string): Set<string> {
    const text = fs.readFileSync(file, "utf8");
    const start = text.indexOf(`export interface ${cls}Args {`);
    assert.ok(start >= 0, `${cls}Args in ${file}`);
    const body = text.slice(start, text.indexOf("\n}", start));
    return new Set([...body.matchAll(/^ {4}(?:readonly )?([A-Za-z0-9_]+)\??:/gm)].map((m) => m[1]));
}

function dtsFor(type: string): { file: string; cls: string } {
    const [pkg, mod, cls] = type.split(":");
    if (pkg === "awsx") return { file: path.join(PROJECT_DIR, "node_modules/@pulumi/awsx", mod, `${cls[0].toLowerCase()}${cls.slice(1)}.d.ts`), cls };
    const [dir, file] = mod.split("/");
    return { file: path.join(PROJECT_DIR, "node_modules/@pulumi/aws", dir, `${file}.d.ts`), cls };
}

describe("replacement table", function () {
    this.timeout(240_000);
    const types = new Map<string, Set<string>>();

    before(async () => {
        const runs: Array<[string, Promise<{ graph: { resources: GraphResource[] } }>]> = [
            ["dev", stackRun("dev")],
            ["prod", stackRun("prod")],
        ];
        for (const [name, p] of runs) for (const r of (await p).graph.resources) (types.get(r.type) ?? types.set(r.type, new Set()).get(r.type)!).add(name);
        const devDns = await serialRun({ stack: "dev", configFile: tempStackFile("dev", { ...devWithLoadBalancer(), "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "dev", healthCheck: { enabled: true, path: "/healthz" } } }) });
        const prodDns = await serialRun({ stack: "prod", configFile: tempStackFile("prod", { "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "", dnssec: true } }) });
        for (const [name, run] of [["dev+dns", devDns], ["prod+dns", prodDns]] as const) for (const r of run.graph.resources) (types.get(r.type) ?? types.set(r.type, new Set()).get(r.type)!).add(name);
    });

    it("covers every resource type of dev and prod, with DNS on too", () => {
        const missing = [...types.keys()].filter((t) => !isLogicalOnly(t) && t !== AWSX_VPC.type && !REPLACEMENT_RULES[t]);
        assert.deepEqual(missing, [], `add these to tools/replacements/forceNew.ts: ${missing.join(", ")}`);
        assert.ok(types.size > 50, `${types.size} types`);
    });

    it("names only inputs that the installed @pulumi/aws resource has (top-level segment)", () => {
        const problems: string[] = [];
        for (const [type, rule] of Object.entries(REPLACEMENT_RULES)) {
            const { file, cls } = dtsFor(type);
            if (!fs.existsSync(file)) {
                problems.push(`${type}: no ${file}`);
                continue;
            }
            const args = argsOf(file, cls);
            for (const p of [...rule.forceNew, ...(rule.unverified ?? []), ...(rule.conditional ?? []).flatMap((c) => c.path.split("|")), ...(rule.physicalName ? [rule.physicalName] : [])]) {
                if (!args.has(p.split(".")[0])) problems.push(`${type}: ${p}`);
            }
        }
        const awsx = argsOf(dtsFor(AWSX_VPC.type).file, "Vpc");
        for (const p of [...AWSX_VPC.replacesVpc, ...AWSX_VPC.replacesSubnets, ...AWSX_VPC.changesNatGateways]) if (!awsx.has(p)) problems.push(`awsx Vpc: ${p}`);
        assert.deepEqual(problems, []);
    });

    it("records where it was read: provider version, upstream, and a commit for every verified rule", () => {
        assert.match(PROVIDER_SOURCE.pulumiAws, /^7\.48\.0/);
        const installed = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "node_modules/@pulumi/aws/package.json"), "utf8")).version;
        assert.ok(PROVIDER_SOURCE.pulumiAws.startsWith(installed), `table read for ${PROVIDER_SOURCE.pulumiAws}, installed ${installed}: re-derive it`);
        for (const [type, rule] of Object.entries(REPLACEMENT_RULES)) {
            if (rule.verified) assert.ok(rule.source && /^[0-9a-f]{40}$/.test(rule.source.commit) && rule.source.path.startsWith("internal/service/"), type);
            else assert.ok(rule.forceNew.length === 0, `${type}: unverified rules list their paths under "unverified"`);
        }
    });

    it("reads diff paths as schema paths: list indices, JSON documents and tags do not replace", () => {
        assert.equal(schemaPath("ebsBlockDevices[0].volumeSize"), "ebsBlockDevices.volumeSize");
        assert.equal(schemaPath("policy{json}.Statement[0].Action[1]"), "policy");
        const r = { urn: "u", type: "aws:ec2/instance:Instance", name: "i", inputs: { userDataReplaceOnChange: true } } as unknown as GraphResource;
        // aws_instance: root_block_device.encrypted is ForceNew, volume_size is not; tags never are.
        assert.deepEqual(forceNewTriggers(r, [{ path: "rootBlockDevice.encrypted" }]).map((t) => t.kind), ["force-new"]);
        assert.deepEqual(forceNewTriggers(r, [{ path: "rootBlockDevice.volumeSize" }, { path: "tags.Owner" }, { path: "instanceType" }]), []);
        // CustomizeDiff: user_data replaces only with user_data_replace_on_change.
        assert.deepEqual(forceNewTriggers(r, [{ path: "userData" }]).map((t) => t.kind), ["conditional"]);
        assert.deepEqual(forceNewTriggers({ ...r, inputs: {} }, [{ path: "userData" }]), []);
        // replaceOnChanges is Pulumi's own trigger.
        assert.deepEqual(forceNewTriggers({ ...r, inputs: {}, replaceOnChanges: ["instanceType"] } as GraphResource, [{ path: "instanceType" }]).map((t) => t.kind), ["replace-on-changes"]);
    });
});

describe("price table regions", () => {
    it("prices the eight regions users deploy to, every figure with a source and a date", () => {
        for (const region of ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2"]) {
            const table = PRICES[region];
            assert.ok(table, region);
            // Route 53 is global: the same zone price wherever the stack runs.
            assert.equal(table["route53.zone.month"].usd, 0.5, region);
            for (const [key, price] of Object.entries(table)) assert.ok(price.source && /^\d{4}(-\d{2}){0,2}$/.test(price.date), `${region} ${key}`);
        }
        assert.equal(PRICES["eu-west-1"]["ipv4.hour"].verified, false, "carried, not checked per region");
    });
});
