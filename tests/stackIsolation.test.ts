/**
 * Two stacks in one account (both shipped stacks deploy to us-east-1 with one role): nothing
 * that selects instances, volumes or images by tag in one stack may select the other's.
 *
 * AWS rules encoded here:
 * - State Manager / Run Command tag targets are ANDed: an instance is a target only if it carries
 *   every `tag:` key/value pair given (AWS Systems Manager User Guide, "Understanding targets and
 *   rate controls in State Manager associations",
 *   https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-state-manager-targets-and-rate-controls.html;
 *   API reference "Target", https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Target.html).
 * - Data Lifecycle Manager target tags are ORed: a volume carrying ANY of the policy's target tags
 *   is snapshotted (Amazon EBS User Guide, "Automate snapshot lifecycles" / Target resource tags,
 *   https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-ami-policy.html).
 * - EC2 Describe* filters are ANDed, the values of one filter ORed (Amazon EC2 User Guide,
 *   "Find your Amazon EC2 resources" / filtering,
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Filtering.html).
 * - Instances an Auto Scaling group launches get the launch template's instance tags
 *   (TagSpecifications) plus the group's tags marked PropagateAtLaunch; the provider's default
 *   tags do not reach them (Amazon EC2 Auto Scaling User Guide, "Tag Auto Scaling groups and
 *   instances", https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html).
 */
import { strict as assert } from "assert";
import { IMAGING_SCRIPT, STEP_SCRIPT_PATHS } from "../components/amiFactory";
import { Graph } from "../tools/graph";
import { BotoCall, Moto, startMoto } from "./helpers/moto";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";
import { byType, json, stackRun } from "./support/stacks";

type Tags = Record<string, string>;
interface Launched {
    stack: string;
    what: string;
    instanceTags: Tags;
    volumeTags: Tags;
}
/** A selector as AWS evaluates it: AND of tag conditions (each condition: one of the values), or OR (DLM). */
interface Selector {
    stack: string;
    what: string;
    kind: "and" | "or";
    on: "instance" | "volume";
    conditions: Array<{ key: string; values: string[] }>;
}

const providerTags = (g: Graph): Tags => {
    const p = g.resources.find((r) => r.type === "pulumi:providers:aws" && r.name === "aws");
    return p?.inputs.defaultTags ? (json(p.inputs.defaultTags).tags as Tags) : {};
};

/** What each stack launches, with the tags AWS puts on it. */
function launched(g: Graph): Launched[] {
    const out: Launched[] = [];
    const defaults = providerTags(g);
    for (const i of byType(g.resources, "aws:ec2/instance:Instance")) {
        // A plain instance: the provider's default tags merge under its own.
        out.push({ stack: g.stack, what: `instance ${i.name}`, instanceTags: { ...defaults, ...(i.inputs.tags as Tags) }, volumeTags: { ...defaults, ...(i.inputs.volumeTags as Tags) } });
    }
    for (const group of byType(g.resources, "aws:autoscaling/group:Group")) {
        const lt = byType(g.resources, "aws:ec2/launchTemplate:LaunchTemplate").find((t) => group.propertyDependencies.launchTemplate?.includes(t.urn));
        assert.ok(lt, `launch template of group ${group.name}`);
        const spec = (type: string) => ((lt.inputs.tagSpecifications as Array<{ resourceType: string; tags: Tags }>).find((s) => s.resourceType === type)?.tags ?? {}) as Tags;
        const propagated = Object.fromEntries((group.inputs.tags as Array<{ key: string; value: string; propagateAtLaunch: boolean }>).filter((t) => t.propagateAtLaunch).map((t) => [t.key, t.value]));
        out.push({ stack: g.stack, what: `group ${group.name}`, instanceTags: { ...spec("instance"), ...propagated }, volumeTags: spec("volume") });
    }
    return out;
}

function selectors(g: Graph): Selector[] {
    const out: Selector[] = [];
    for (const a of byType(g.resources, "aws:ssm/association:Association")) {
        const targets = (a.inputs.targets as Array<{ key: string; values: string[] }> | undefined) ?? [];
        if (targets.length === 0) continue;
        assert.ok(targets.every((t) => t.key.startsWith("tag:")), `${a.name}: only tag targets are modelled`);
        out.push({ stack: g.stack, what: `association ${a.name}`, kind: "and", on: "instance", conditions: targets.map((t) => ({ key: t.key.slice(4), values: t.values })) });
    }
    for (const p of byType(g.resources, "aws:dlm/lifecyclePolicy:LifecyclePolicy")) {
        const tags = (p.inputs.policyDetails as { targetTags: Tags }).targetTags;
        out.push({ stack: g.stack, what: `DLM policy ${p.name}`, kind: "or", on: "volume", conditions: Object.entries(tags).map(([key, v]) => ({ key, values: [v] })) });
    }
    for (const d of byType(g.resources, "aws:ssm/document:Document").filter((r) => r.inputs.documentType === "Automation")) {
        for (const s of (json(d.inputs.content).mainSteps as Array<{ name: string; inputs?: { Script?: string; InputPayload?: Record<string, unknown> } }>)) {
            const payload = s.inputs?.InputPayload;
            if (s.inputs?.Script === IMAGING_SCRIPT && payload) {
                // The imaging script's DescribeInstances filters, built from its payload.
                for (const needle of ['{"Name": "tag:" + events["TagKey"], "Values": [events["TagValue"]]}', '{"Name": "tag:Stack", "Values": [stack]}']) {
                    assert.ok(IMAGING_SCRIPT.includes(needle), `imaging script filters by ${needle}`);
                }
                out.push({
                    stack: g.stack,
                    what: `${d.name} ${s.name}`,
                    kind: "and",
                    on: "instance",
                    conditions: [
                        { key: payload.TagKey as string, values: [payload.TagValue as string] },
                        { key: "Stack", values: [payload.Stack as string] },
                    ],
                });
            }
            const filters = payload?.InstanceFilters as Array<{ Name: string; Values: string[] }> | undefined;
            if (filters) {
                out.push({ stack: g.stack, what: `${d.name} ${s.name}`, kind: "and", on: "instance", conditions: filters.filter((f) => f.Name.startsWith("tag:")).map((f) => ({ key: f.Name.slice(4), values: f.Values })) });
            }
        }
    }
    return out;
}

const matches = (s: Selector, tags: Tags): boolean => {
    const ok = (c: { key: string; values: string[] }) => c.key in tags && c.values.includes(tags[c.key]);
    return s.kind === "and" ? s.conditions.every(ok) : s.conditions.some(ok);
};

describe("Stack isolation: no selector of one stack matches another stack's resources", function () {
    this.timeout(240000);
    const graphs: Record<string, Graph> = {};
    before(async () => {
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
    });

    it("every instance and volume of both stacks carries its Stack tag (the discriminator)", () => {
        for (const g of Object.values(graphs)) {
            const all = launched(g);
            assert.ok(all.length > 0, g.stack);
            for (const l of all) {
                assert.strictEqual(l.instanceTags.Stack, g.stack, `${g.stack} ${l.what} instance`);
                assert.strictEqual(l.volumeTags.Stack, g.stack, `${g.stack} ${l.what} volumes`);
            }
        }
    });

    it("each selector still selects its own stack's resources", () => {
        for (const g of Object.values(graphs)) {
            const own = launched(g);
            for (const s of selectors(g)) {
                // Give an own instance every tag the selector asks for (e.g. Imaging=true, which no
                // instance carries by default): it must then be selected.
                const wanted: Tags = Object.fromEntries(s.conditions.map((c) => [c.key, c.values[0]]));
                const tags = s.on === "instance" ? own[0].instanceTags : own[0].volumeTags;
                assert.ok(matches(s, s.kind === "and" ? { ...tags, ...wanted } : tags), `${g.stack} ${s.what} selects its own ${s.on}s`);
            }
        }
    });

    it("no selector of dev selects prod's instances or volumes, and none of prod selects dev's, even with every other tag they ask for", () => {
        const found: string[] = [];
        for (const [a, b] of [
            ["dev", "prod"],
            ["prod", "dev"],
        ]) {
            for (const s of selectors(graphs[a])) {
                for (const l of launched(graphs[b])) {
                    const tags = s.on === "instance" ? l.instanceTags : l.volumeTags;
                    // The other stack's resource as it is, and with every tag the selector asks for
                    // except Stack (another stack may well use the same backup or imaging tag).
                    const borrowed: Tags = Object.fromEntries(s.conditions.filter((c) => c.key !== "Stack").map((c) => [c.key, c.values[0]]));
                    for (const variant of s.kind === "and" ? [tags, { ...tags, ...borrowed, Stack: tags.Stack }] : [tags]) {
                        if (matches(s, variant)) found.push(`${a} ${s.what} selects ${b} ${l.what} ${s.on} ${JSON.stringify(variant)}`);
                    }
                }
            }
        }
        assert.deepStrictEqual(found, []);
    });

    it("the DLM policies (ORed target tags) target only a tag whose value names the stack", () => {
        for (const g of Object.values(graphs)) {
            for (const s of selectors(g).filter((x) => x.kind === "or")) {
                for (const c of s.conditions) assert.ok(c.values.every((v) => v.startsWith(`${g.stack}-`)), `${g.stack} ${s.what}: ${c.key}=${c.values}`);
            }
        }
    });
});


/**
 * The AMI factory's Python selects by tag inside the runbook, so it runs here against moto's EC2
 * (a server for this file; each step run as aws:executeScript runs it, tests/helpers/boto_worker.py)
 * with both stacks' instances and images: the imaging run of one stack images only its own
 * instances, and the bake retention of one stack retires only its own images.
 */
describe("Stack isolation: the AMI factory's Python against moto's EC2 with both stacks", function () {
    this.timeout(120_000);
    let moto: Moto;
    before(async function () {
        requireTools(this, ["moto"]);
        moto = await startMoto(tempDir("moto-isolation-"));
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    it("dev's imaging images only dev's tagged instances; dev's bake retention retires only dev's images", async () => {
        const ec2 = (op: string, params: Record<string, unknown>): BotoCall => ({ service: "ec2", op, params });
        const tags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
        const [amazon] = await moto.botoOk([ec2("describe_images", { Owners: ["amazon"] })]);
        const launch = (stack: string) => ec2("run_instances", { ImageId: amazon.Images[0].ImageId, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: tags({ Stack: stack, Imaging: "true", Backup: "true" }) }] });
        const launched = await moto.botoOk([launch("dev"), launch("prod")]);
        const instances: Record<string, string> = { dev: launched[0].Instances[0].InstanceId, prod: launched[1].Instances[0].InstanceId };
        // moto 5.2.1 refuses CreateImage's "snapshot" TagSpecifications (AWS accepts them): the step runs without them.
        const imagingPayload = { Stack: "dev", TagKey: "Imaging", TagValue: "true", CreatedBy: "platform-instance-imaging", Keep: "2", NoReboot: "true" };
        const [imaging] = await moto.botoOk([{ step: STEP_SCRIPT_PATHS.instanceImaging, payload: imagingPayload, options: ["--without-snapshot-tag-specifications"] }]);
        assert.equal(imaging.error, undefined, imaging.printed);
        const [afterImaging] = await moto.botoOk([ec2("describe_images", { Owners: ["self"] })]);
        const imaged = (iid: string) => afterImaging.Images.filter((i: any) => (i.Tags ?? []).some((t: any) => t.Key === "InstanceId" && t.Value === iid)).length;
        // Baked images of both stacks, three each; dev's retention keeps one.
        const bake = (stack: string, n: number) => [
            ec2("create_image", { InstanceId: instances[stack], Name: `${stack}-web-${n}` }),
            ec2("create_tags", { Resources: [{ $result: (stack === "dev" ? 0 : 3) * 2 + n * 2, path: ["ImageId"] }], Tags: tags({ Stack: stack, CreatedBy: "platform-ami-bake" }) }),
        ];
        await moto.botoOk([0, 1, 2].flatMap((n) => bake("dev", n)).concat([0, 1, 2].flatMap((n) => bake("prod", n))));
        const [retention] = await moto.botoOk([{ step: STEP_SCRIPT_PATHS.bakeRetention, payload: { Stack: "dev", CreatedBy: "platform-ami-bake", Keep: "1", CurrentImageId: "" } }]);
        assert.equal(retention.error, undefined, retention.printed);
        const [baked] = await moto.botoOk([ec2("describe_images", { Owners: ["self"], Filters: [{ Name: "tag:CreatedBy", Values: ["platform-ami-bake"] }] })]);
        const left = { dev: 0, prod: 0 } as Record<string, number>;
        for (const image of baked.Images) left[(image.Tags as Array<{ Key: string; Value: string }>).find((t) => t.Key === "Stack")!.Value] += 1;
        assert.deepStrictEqual({ imaged: { dev: imaged(instances.dev), prod: imaged(instances.prod) }, bakedLeft: left }, { imaged: { dev: 1, prod: 0 }, bakedLeft: { dev: 1, prod: 3 } });
    });
});
