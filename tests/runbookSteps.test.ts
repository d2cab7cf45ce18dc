/**
 * The runbooks' Python steps run for real: each aws:executeScript handler of the bake and imaging
 * runbooks (components/amiFactory/steps/*.py) is compiled, compared with what the documents
 * embed, and executed with boto3 against moto's EC2 (one moto server for this file) seeded with
 * instances, images, snapshots and tags of two stacks; the tests assert exactly what each run
 * deregisters, deletes, keeps and tags.
 *
 * Where moto differs from EC2, and what the assertions make of it:
 * - moto makes an image `available` at once; on EC2 a new image is `pending` for minutes
 *   ("Create an Amazon EBS-backed AMI", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/creating-an-ami-ebs.html).
 *   The imaging step counts only available images, so in moto the image it just made counts
 *   among the kept ones; on EC2 the pending one comes on top of them.
 * - moto 5.2.1 refuses CreateImage's "snapshot" TagSpecifications (500, not implemented; EC2
 *   accepts them): the imaging run drops them (tests/helpers/boto_worker.py, option
 *   --without-snapshot-tag-specifications), so snapshot tags of instance images are not asserted here.
 * - The steps run here without IAM enforcement, and moto could not judge the service role anyway:
 *   it authorizes EC2 calls against Resource "*" only, so a statement naming ARNs or carrying tag
 *   conditions (the role's CreateImage, DeregisterImage, DeleteSnapshot, TerminateInstances)
 *   matches nothing there. Whether the Automation service role grants every EC2 call of every step
 *   is judged instead with the IAM evaluator (tests/helpers/iamEvaluator.ts): each `ec2.<op>(` and
 *   paginator of each step file, mapped to its IAM action, on the resources and tags the step acts
 *   on, against the plan's ami-automation policy (last describe block below). tests/amiFactory.test.ts
 *   checks the policy's statements, and tag_snapshots.py gives snapshots the tags it needs.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BAKED_BY, IMAGED_BY, STEP_SCRIPT_PATHS, bakeRunbookContent, imagingRunbookContent } from "../components/amiFactory";
import { BotoCall, Moto, resultOf, startMoto } from "./helpers/moto";
import { EvalStatement, Request, evaluate } from "./helpers/iamEvaluator";
import { json, stackRun } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const STACK = "dev";
const OTHER = "prod";

const bake = bakeRunbookContent({
    stack: STACK, serviceRoleArn: "arn:aws:iam::123456789012:role/r", sourceAmiParameter: "/aws/service/x", subnetId: "subnet-0123456789abcdef0",
    securityGroupId: "sg-1", instanceProfileName: "p", instanceType: "t4g.small", rootVolumeGb: 8, bakePrepareDocumentName: "dev-web-bake-prepare",
    packages: [], amiParameterName: "/platform/dev/web/ami-id", instanceRefresh: false, keepImages: 2, logsBucketName: "b", logsPrefix: "ami-bake/dev",
});
const imaging = imagingRunbookContent({ stack: STACK, serviceRoleArn: "arn:aws:iam::123456789012:role/r", tag: { key: "Imaging", value: "true" }, keepImages: 2, noReboot: true });
const stepInputs = (doc: typeof bake, name: string) => doc.mainSteps.find((s) => s.name === name)!.inputs as { Script: string; InputPayload: Record<string, unknown> };

const tags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
const tagMap = (list: Array<{ Key: string; Value: string }> | undefined) => Object.fromEntries((list ?? []).map((t) => [t.Key, t.Value]));

describe("Runbook Python steps: compiled, embedded byte for byte", () => {
    const embedded: Array<[keyof typeof STEP_SCRIPT_PATHS, string]> = [
        ["terminateBuilder", stepInputs(bake, "TerminateBuilder").Script],
        ["bakeRetention", stepInputs(bake, "ApplyRetention").Script],
        ["tagSnapshots", stepInputs(bake, "TagImageSnapshots").Script],
        ["instanceImaging", stepInputs(imaging, "ImageTaggedInstances").Script],
    ];
    for (const [key, script] of embedded) {
        const file = STEP_SCRIPT_PATHS[key];
        it(`${path.basename(file)} is what the document embeds, byte for byte, and compiles (python3 -m py_compile)`, () => {
            assert.ok(Buffer.from(script, "utf8").equals(fs.readFileSync(file)), `${file} differs from the document's Script`);
            const dir = tempDir("pyc-");
            const r = spawnSync("python3", ["-m", "py_compile", file], { encoding: "utf8", env: { ...process.env, PYTHONPYCACHEPREFIX: dir } });
            assert.equal(r.status, 0, r.stderr);
        });
    }

    it("every .py file in components/amiFactory/steps/ is a step of a runbook", () => {
        const dir = path.dirname(STEP_SCRIPT_PATHS.terminateBuilder);
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith(".py")).sort(), Object.values(STEP_SCRIPT_PATHS).map((f) => path.basename(f)).sort());
    });
});

describe("Runbook Python steps against moto's EC2", function () {
    this.timeout(60_000);
    let moto: Moto;
    let baseAmi: string;

    before(async function () {
        requireTools(this, ["moto"]);
        moto = await startMoto(tempDir("moto-steps-"));
        baseAmi = (await moto.botoOk([{ service: "ec2", op: "describe_images", params: { Owners: ["amazon"] } }]))[0].Images[0].ImageId;
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    const ec2 = (op: string, params: Record<string, unknown> = {}): BotoCall => ({ service: "ec2", op, params });

    /** Runs a step file with its payload, as aws:executeScript does (tests/helpers/boto_worker.py). */
    async function runStep(file: string, payload: Record<string, unknown>, ...options: string[]): Promise<{ result?: any; error?: string; printed: string }> {
        return (await moto.botoOk([{ step: file, payload, options }]))[0];
    }

    /** Launches one instance per tag set, in one batch; returns their ids in order. */
    async function launch(...instanceTags: Array<Record<string, string>>): Promise<string[]> {
        const calls = instanceTags.map((t) => ec2("run_instances", { ImageId: baseAmi, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: tags(t) }] }));
        return (await moto.botoOk(calls)).map((r) => r.Instances[0].InstanceId);
    }

    /**
     * Images `instance` once per entry, tagging each image, in one batch; a second apart with
     * `spaced` (EC2 and moto date images to the second: the steps sort by CreationDate).
     */
    async function images(instance: string, each: Array<Record<string, string>>, spaced = false): Promise<string[]> {
        const calls: BotoCall[] = [];
        const made: number[] = [];
        each.forEach((t, i) => {
            if (spaced && i > 0) calls.push({ sleep: 1.02 });
            made.push(calls.length);
            calls.push(ec2("create_image", { InstanceId: instance, Name: `seed-${instance}-${seeded++}` }));
            calls.push(ec2("create_tags", { Resources: [resultOf(calls.length - 1, "ImageId")], Tags: tags(t) }));
        });
        const results = await moto.botoOk(calls);
        return made.map((i) => results[i].ImageId);
    }
    let seeded = 0;

    const describeImages = async (ids: string[]) => (await moto.botoOk([ec2("describe_images", { Owners: ["self"] })]))[0].Images.filter((i: { ImageId: string }) => ids.includes(i.ImageId));
    const snapshotOf = (image: { BlockDeviceMappings: Array<{ Ebs?: { SnapshotId?: string } }> }) => image.BlockDeviceMappings.map((m) => m.Ebs?.SnapshotId).filter(Boolean) as string[];
    const snapshotIds = async () => new Set<string>((await moto.botoOk([ec2("describe_snapshots", { OwnerIds: ["self"] })]))[0].Snapshots.map((s: { SnapshotId: string }) => s.SnapshotId));

    it("bake retention keeps the newest N baked images of its stack, never the one being published, deregisters the rest and deletes their snapshots", async () => {
        const [builder] = await launch({ Stack: STACK, Purpose: "ami-bake" });
        const baked = (stack: string) => ({ Stack: stack, CreatedBy: BAKED_BY });
        // Oldest first: d0 is being published (CurrentImageId) although older than the newest two.
        const [d0, d1, d2, d3] = await images(builder, [baked(STACK), baked(STACK), baked(STACK), baked(STACK)], true);
        const otherStack = await images(builder, [baked(OTHER), baked(OTHER), baked(OTHER)]);
        const instanceImages = await images(builder, [{ Stack: STACK, CreatedBy: IMAGED_BY, InstanceId: builder }]);
        const all = [d0, d1, d2, d3, ...otherStack, ...instanceImages];
        const dates = (await describeImages([d0, d1, d2, d3])).map((i: { CreationDate: string }) => i.CreationDate);
        assert.equal(new Set(dates).size, 4, `moto gave distinct creation dates: ${dates}`);
        const snapshotsBefore = new Map<string, string[]>((await describeImages(all)).map((i: any) => [i.ImageId, snapshotOf(i)]));
        assert.ok([...snapshotsBefore.values()].every((s) => s.length === 1), "each seeded image has its snapshot");

        const payload = { ...stepInputs(bake, "ApplyRetention").InputPayload, Keep: "2", CurrentImageId: d0 };
        assert.deepEqual(Object.keys(payload).sort(), ["CreatedBy", "CurrentImageId", "Keep", "Stack"]);
        const out = await runStep(STEP_SCRIPT_PATHS.bakeRetention, payload);
        assert.equal(out.error, undefined, out.printed);
        assert.deepEqual(out.result, { Deregistered: [d1], DeletedSnapshots: snapshotsBefore.get(d1) });

        const left = (await describeImages(all)).map((i: { ImageId: string }) => i.ImageId).sort();
        assert.deepEqual(left, [d0, d2, d3, ...otherStack, ...instanceImages].sort(), "only d1 is gone: the newest two, the published one, other stacks' and instance images stay");
        const snapshots = (await snapshotIds());
        assert.ok(!snapshots.has(snapshotsBefore.get(d1)![0]), "the deregistered image's snapshot is deleted");
        for (const id of left) assert.ok(snapshots.has(snapshotsBefore.get(id)![0]), `${id}'s snapshot stays`);

        // A second run with the same inputs changes nothing (the step is retried by maxAttempts on AWS).
        const again = await runStep(STEP_SCRIPT_PATHS.bakeRetention, payload);
        assert.deepEqual(again.result, { Deregistered: [], DeletedSnapshots: [] });
    });

    it("snapshot tagging gives exactly the new image's snapshots the image's tags (what the retention's scoped DeleteSnapshot needs)", async () => {
        const [builder] = await launch({ Stack: STACK, Purpose: "ami-bake" });
        const [image, other] = await images(builder, [{ Stack: STACK }, { Stack: STACK }]);
        const [mine] = snapshotOf((await describeImages([image]))[0]);
        const [theirs] = snapshotOf((await describeImages([other]))[0]);
        const imageTags = { Stack: STACK, CreatedBy: BAKED_BY, SourceAmi: baseAmi, BakeTime: "2026-01-01T00:00:00Z", GitRevision: "abc123" };
        const payload = { ...stepInputs(bake, "TagImageSnapshots").InputPayload, ImageId: image, Tags: imageTags };
        const out = await runStep(STEP_SCRIPT_PATHS.tagSnapshots, payload);
        assert.equal(out.error, undefined, out.printed);
        assert.deepEqual(out.result, { SnapshotIds: [mine] });
        const snaps = (await moto.botoOk([ec2("describe_snapshots", { SnapshotIds: [mine, theirs] })]))[0].Snapshots as Array<{ SnapshotId: string; Tags?: Array<{ Key: string; Value: string }> }>;
        assert.deepEqual(tagMap(snaps.find((s) => s.SnapshotId === mine)!.Tags), imageTags);
        assert.deepEqual(tagMap(snaps.find((s) => s.SnapshotId === theirs)!.Tags), {}, "another image's snapshot is not tagged");
    });

    it("instance imaging images every tagged running or stopped instance of its stack, tags the images, keeps N available images per instance and deletes the snapshots of the ones it deregisters (in moto, where a new image is available at once; on EC2 it is pending and the oldest stays one run longer)", async () => {
        const tagged = { Stack: STACK, Imaging: "true" };
        const [running, stopped, terminated, untagged, otherStack] = await launch(tagged, tagged, tagged, { Stack: STACK }, { Stack: OTHER, Imaging: "true" });
        await moto.botoOk([ec2("stop_instances", { InstanceIds: [stopped] }), ec2("terminate_instances", { InstanceIds: [terminated] })]);
        const own = { Stack: STACK, CreatedBy: IMAGED_BY, InstanceId: running };
        const [old0, old1] = await images(running, [own, own], true);
        await moto.botoOk([{ sleep: 1.02 }]); // the new image is dated after old1
        const otherImages = await images(otherStack, [{ Stack: OTHER, CreatedBy: IMAGED_BY, InstanceId: otherStack }]);
        const oldSnapshot = snapshotOf((await describeImages([old0]))[0])[0];
        const before = new Set<string>((await moto.botoOk([ec2("describe_images", { Owners: ["self"] })]))[0].Images.map((i: { ImageId: string }) => i.ImageId));

        const payload = { ...stepInputs(imaging, "ImageTaggedInstances").InputPayload, Keep: "2", NoReboot: "true" };
        const out = await runStep(STEP_SCRIPT_PATHS.instanceImaging, payload, "--without-snapshot-tag-specifications");
        assert.equal(out.error, undefined, out.printed);

        const now = (await moto.botoOk([ec2("describe_images", { Owners: ["self"] })]))[0].Images as Array<{ ImageId: string; Name: string; Tags?: Array<{ Key: string; Value: string }> }>;
        const created = now.filter((i) => !before.has(i.ImageId));
        const byInstance = Object.fromEntries(created.map((i) => [tagMap(i.Tags).InstanceId, i]));
        assert.deepEqual(Object.keys(byInstance).sort(), [running, stopped].sort(), "one new image per tagged running/stopped instance of the stack; none of the terminated, untagged or other stack's");
        for (const [instance, image] of Object.entries(byInstance)) {
            const t = tagMap(image.Tags);
            assert.deepEqual({ ...t, Name: undefined }, { InstanceId: instance, Stack: STACK, CreatedBy: IMAGED_BY, Name: undefined });
            assert.match(t.Name, new RegExp(`^${STACK}-${instance}-\\d{8}T\\d{6}Z$`));
            assert.equal(image.Name, t.Name);
        }
        assert.deepEqual(out.result.Created.sort(), created.map((i) => i.ImageId).sort());
        // Keep=2 available images per instance. In moto the new image is available at once (see the header), so it counts and the oldest goes;
        // on EC2 it is still pending, counts among none, and both older images stay until the next run.
        assert.deepEqual(out.result.Deregistered, [old0]);
        assert.deepEqual(out.result.DeletedSnapshots, [oldSnapshot]);
        const ids = new Set(now.map((i) => i.ImageId));
        assert.ok(!ids.has(old0) && ids.has(old1), "the older of the running instance's images is deregistered, the newer kept");
        for (const id of otherImages) assert.ok(ids.has(id), "the other stack's images are untouched");
        assert.ok(!(await snapshotIds()).has(oldSnapshot), "the deregistered image's snapshot is deleted");
        assert.ok(!Object.keys(byInstance).includes(untagged));
    });

    it("instance imaging fails the step, after imaging the others, when one instance cannot be imaged", async () => {
        const tagged = { Stack: "imagingfail", Imaging: "true" };
        const [a, b] = (await launch(tagged, tagged)).sort();
        const payload = { ...stepInputs(imaging, "ImageTaggedInstances").InputPayload, Stack: "imagingfail", Keep: "2", NoReboot: "true" };
        const out = await runStep(STEP_SCRIPT_PATHS.instanceImaging, payload, "--without-snapshot-tag-specifications", `--fail-create-image-for=${a}`);
        assert.equal(out.error, `Exception: imaging failed for ${a}`);
        assert.match(out.printed, new RegExp(`create_image failed for ${a} injected`));
        const made = (await moto.botoOk([ec2("describe_images", { Owners: ["self"], Filters: [{ Name: "tag:Stack", Values: ["imagingfail"] }] })]))[0].Images;
        assert.deepEqual(made.map((i: { Tags: Array<{ Key: string; Value: string }> }) => tagMap(i.Tags).InstanceId), [b], "the other instance was imaged");
    });
});

/**
 * boto3 names an operation in snake_case; its IAM action is the API name ("Actions, resources, and
 * condition keys for Amazon EC2", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html):
 * describe_images -> ec2:DescribeImages.
 */
const iamAction = (op: string) => `ec2:${op.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("")}`;

/** Every EC2 operation a step file calls: `ec2.<op>(` and `ec2.get_paginator("<op>")`. */
function ec2Operations(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    const calls = [...text.matchAll(/\bec2\.(\w+)\(/g)].map((m) => m[1]).filter((op) => op !== "get_paginator");
    const paginated = [...text.matchAll(/\bec2\.get_paginator\(\s*"(\w+)"\s*\)/g)].map((m) => m[1]);
    return [...new Set([...calls, ...paginated])].sort();
}

describe("Runbook Python steps: every EC2 call is granted to the Automation service role (IAM evaluation of the dev plan)", function () {
    this.timeout(60_000);
    let statements: EvalStatement[];
    let region: string;
    let account: string;
    let payloads: Record<string, Record<string, any>>;

    before(async () => {
        const { graph } = await stackRun("dev");
        const role = graph.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "ami-automation")!;
        const policies = graph.resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && (r.propertyDependencies?.role ?? []).includes(role.urn));
        assert.ok(policies.length > 0, "the service role has its inline policy");
        assert.equal(graph.resources.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && (r.propertyDependencies?.role ?? []).includes(role.urn)).length, 0, "no managed policy adds to it (else evaluate those too)");
        statements = policies.flatMap((p) => json(p.inputs.policy).Statement as EvalStatement[]);
        const passRole = statements.find((st) => JSON.stringify(st.Action).includes("iam:PassRole"))!;
        account = /^arn:aws:iam::(\d{12}):/.exec(String(passRole.Resource))![1];
        region = /^arn:aws:ec2:([a-z0-9-]+)::image\//.exec(JSON.stringify(statements).match(/arn:aws:ec2:[a-z0-9-]+::image\/\*/)![0])![1];
        // What the plan's documents pass each step (its stack and tag values).
        payloads = {};
        for (const d of graph.resources.filter((r) => r.type === "aws:ssm/document:Document")) {
            const content = json(d.inputs.content);
            for (const step of content.mainSteps ?? []) if (step.action === "aws:executeScript") payloads[step.name] = step.inputs.InputPayload;
        }
    });

    /**
     * The requests each step's calls make, as the step makes them: the resources it acts on and the
     * tags they carry (the step's own filters select them) or that it requests. Keyed by the file's
     * operations, so a new call in a step file without a request here fails the test.
     */
    const requests = (file: string): Record<string, Request[]> => {
        const image = `arn:aws:ec2:${region}::image/ami-0123456789abcdef0`;
        const snapshot = `arn:aws:ec2:${region}::snapshot/snap-0123456789abcdef0`;
        const instance = `arn:aws:ec2:${region}:${account}:instance/i-0123456789abcdef0`;
        const tag = (kind: "ec2:ResourceTag" | "aws:RequestTag", tags: Record<string, string>) => Object.fromEntries(Object.entries(tags).map(([k, v]) => [`${kind}/${k}`, v]));
        const described = (action: string) => [{ action, resource: "*" }];
        switch (path.basename(file)) {
            case "bake_retention.py": {
                const p = payloads.ApplyRetention;
                // It selects images by tag:Stack and tag:CreatedBy; their snapshots carry the same tags (TagImageSnapshots).
                const owned = tag("ec2:ResourceTag", { Stack: p.Stack, CreatedBy: p.CreatedBy });
                return {
                    describe_images: described("ec2:DescribeImages"),
                    deregister_image: [{ action: "ec2:DeregisterImage", resource: image, context: owned }],
                    delete_snapshot: [{ action: "ec2:DeleteSnapshot", resource: snapshot, context: owned }],
                };
            }
            case "tag_snapshots.py": {
                const p = payloads.TagImageSnapshots;
                return {
                    describe_images: described("ec2:DescribeImages"),
                    create_tags: [{ action: "ec2:CreateTags", resource: snapshot, context: tag("aws:RequestTag", Object.fromEntries(Object.entries(p.Tags as Record<string, string>).filter(([, v]) => !v.includes("{{")))) }],
                };
            }
            case "terminate_builder.py": {
                const filters = payloads.TerminateBuilder.InstanceFilters as Array<{ Name: string; Values: string[] }>;
                const selected = Object.fromEntries(filters.filter((f) => f.Name.startsWith("tag:")).map((f) => [f.Name.slice(4), f.Values[0]]));
                return {
                    describe_instances: described("ec2:DescribeInstances"),
                    terminate_instances: [{ action: "ec2:TerminateInstances", resource: instance, context: tag("ec2:ResourceTag", selected) }],
                };
            }
            case "instance_imaging.py": {
                const p = payloads.ImageTaggedInstances;
                // Tag-on-create: CreateImage on the instance, the new image and snapshots, and CreateTags on those with the requested tags
                // (EC2 User Guide, "Grant permission to tag Amazon EC2 resources during creation").
                const requested = { ...tag("aws:RequestTag", { Stack: p.Stack, CreatedBy: p.CreatedBy }), "ec2:CreateAction": "CreateImage" };
                const owned = tag("ec2:ResourceTag", { Stack: p.Stack, CreatedBy: p.CreatedBy });
                return {
                    describe_instances: described("ec2:DescribeInstances"),
                    describe_images: described("ec2:DescribeImages"),
                    create_image: [
                        { action: "ec2:CreateImage", resource: instance, context: tag("ec2:ResourceTag", { [p.TagKey]: p.TagValue, Stack: p.Stack }) },
                        { action: "ec2:CreateImage", resource: image },
                        { action: "ec2:CreateImage", resource: snapshot },
                        { action: "ec2:CreateTags", resource: image, context: requested },
                        { action: "ec2:CreateTags", resource: snapshot, context: requested },
                    ],
                    deregister_image: [{ action: "ec2:DeregisterImage", resource: image, context: owned }],
                    delete_snapshot: [{ action: "ec2:DeleteSnapshot", resource: snapshot, context: owned }],
                };
            }
            default:
                throw new Error(`no requests listed for ${file}`);
        }
    };

    for (const file of Object.values(STEP_SCRIPT_PATHS)) {
        it(`${path.basename(file)}: each ec2 call is allowed on what the step acts on`, () => {
            const byOperation = requests(file);
            assert.deepEqual(ec2Operations(file), Object.keys(byOperation).sort(), "every EC2 operation of the file has its requests listed here");
            for (const [op, list] of Object.entries(byOperation)) {
                assert.ok(list.some((r) => r.action === iamAction(op)), `${op} is authorized as ${iamAction(op)}`);
                for (const r of list) assert.equal(evaluate(statements, r), "allow", `${op}: ${JSON.stringify(r)}`);
            }
        });
    }

    it("the same calls on another stack's resources are refused (the evaluation is not vacuous)", () => {
        const other = { "ec2:ResourceTag/Stack": "prod", "ec2:ResourceTag/Purpose": "ami-bake", "ec2:ResourceTag/Imaging": "true" };
        for (const [action, resource] of [
            ["ec2:DeregisterImage", `arn:aws:ec2:${region}::image/ami-0123456789abcdef0`],
            ["ec2:DeleteSnapshot", `arn:aws:ec2:${region}::snapshot/snap-0123456789abcdef0`],
            ["ec2:TerminateInstances", `arn:aws:ec2:${region}:${account}:instance/i-0123456789abcdef0`],
            ["ec2:CreateImage", `arn:aws:ec2:${region}:${account}:instance/i-0123456789abcdef0`],
        ]) {
            assert.equal(evaluate(statements, { action, resource, context: other }), "implicit-deny", action);
        }
        assert.equal(evaluate(statements, { action: "ec2:CreateTags", resource: `arn:aws:ec2:${region}::snapshot/snap-0123456789abcdef0`, context: { "aws:RequestTag/Stack": "prod" } }), "implicit-deny");
    });
});
