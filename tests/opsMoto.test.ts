/**
 * The SSM documents and the ops CLI against moto over real HTTP (one moto server for this file).
 *
 * SSM documents: every Command and Automation document of the dev and prod plans is created in
 * moto (CreateDocument with the graph's name, content, type, format and target type). moto checks
 * the name (3-128 of A-Za-z0-9_.-, no aws-/amazon/amzn prefix), the type and format, that the
 * content parses and has a schemaVersion, and it parses the parameters (DescribeDocument); it
 * checks no step, action, input or `{{ }}` reference (tools/ssmDocuments.ts and its tests do).
 * moto 5.2.1 has no State Manager (CreateAssociation answers 500, checked below), so each
 * association of the plans is checked against the documents as moto holds them: the document it
 * names exists, its parameters are declared there and match their allowedPattern.
 *
 * The ops CLI: each subcommand runs against moto's S3, SSM, EC2 and Auto Scaling with the SDK's
 * own clients pointed at the server: releases uploaded to and read from moto's S3, backups
 * listed from the keys the real backup.sh wrote there, SendCommand to instance ids and to tag
 * targets, which moto resolves against its EC2 instances (those of an Auto Scaling group carry
 * aws:autoscaling:groupName, as on AWS). moto 5.2.1 implements none of the operations in
 * NOT_IN_MOTO (each answers 500: checked below); only those go to aws-sdk-client-mock, answering
 * from moto's state where moto has one (ListCommandInvocations from moto's ListCommands and
 * GetCommandInvocation) and from the plan otherwise. moto runs no SSM agent: a command "succeeds"
 * at once on every target, so what runs on the instances is tested elsewhere (the scripts for
 * real: tests/backupScripts.test.ts, tests/instanceRole.test.ts, tests/deployScript.test.ts).
 * At least one command runs as the real CLI process, configured by AWS_ENDPOINT_URL only.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
    CancelCommandCommand,
    CreateAssociationCommand,
    CreateDocumentCommand,
    DescribeAssociationExecutionsCommand,
    DescribeAutomationExecutionsCommand,
    DescribeDocumentCommand,
    DescribeInstanceInformationCommand,
    GetAutomationExecutionCommand,
    GetCommandInvocationCommand,
    GetDocumentCommand,
    ListAssociationsCommand,
    ListCommandInvocationsCommand,
    ListCommandsCommand,
    SSMClient,
    StartAutomationExecutionCommand,
    StopAutomationExecutionCommand,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { METRICS_NAMESPACE } from "../components/backup";
import { main } from "../tools/ops";
import { Graph, GraphResource } from "../tools/graph";
import { BotoCall, Moto, startMoto, unmocked } from "./helpers/moto";
import { cleanEnv, runProcess, runScript } from "./support/processes";
import { stackRun } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const BACKUP = path.resolve(__dirname, "..", "components", "ssm", "backup.sh");
const DRILL = path.resolve(__dirname, "..", "components", "ssm", "drill.sh");
const DOCUMENT = "aws:ssm/document:Document";
const ASSOCIATION = "aws:ssm/association:Association";

/**
 * What moto 5.2.1 does not implement of what ops calls (each answers 500 there; a test below
 * fails when moto starts implementing one, so it moves to the real server):
 * - ListCommandInvocations: per-instance status of a command (ops polls it);
 * - CancelCommand: ops sends it on Ctrl-C only;
 * - DescribeInstanceInformation: the SSM agent's registration (ops picks an online instance);
 * - StartAutomationExecution, GetAutomationExecution, StopAutomationExecution,
 *   DescribeAutomationExecutions: Automation (ops bake, ops status);
 * - ListAssociations, DescribeAssociationExecutions: State Manager (ops status).
 */
const NOT_IN_MOTO = [
    ListCommandInvocationsCommand,
    CancelCommandCommand,
    DescribeInstanceInformationCommand,
    StartAutomationExecutionCommand,
    GetAutomationExecutionCommand,
    StopAutomationExecutionCommand,
    DescribeAutomationExecutionsCommand,
    ListAssociationsCommand,
    DescribeAssociationExecutionsCommand,
] as const;

/** The document's name in AWS: given, or Pulumi's auto-name (the mocks: `<name>-<7 hex of the id>`). */
const documentName = (r: GraphResource) => String(r.inputs.name ?? `${r.name}-${String(r.id).slice(0, 7)}`);

/**
 * A declared parameter's allowedPattern admits the value. Anchored here, so the whole value must
 * match even where a pattern lacks ^...$: a partial match is not what the document author meant,
 * and the test must not pass a value that only contains an allowed one.
 */
function admits(declared: { allowedPattern?: string } | undefined, value: unknown): boolean {
    if (!declared?.allowedPattern) return true;
    const values = Array.isArray(value) ? value : [value];
    const whole = new RegExp(`^(?:${declared.allowedPattern})$`);
    return values.every((v) => whole.test(String(v)));
}

describe("SSM documents and the ops CLI against moto", function () {
    this.timeout(120_000);
    let moto: Moto;
    let dir: string;
    const graphs: Record<string, Graph> = {};
    let ssm: SSMClient;
    let s3: S3Client;
    const contents = new Map<string, { parameters?: Record<string, { type: string; allowedPattern?: string; default?: unknown }> }>();

    before(async function () {
        requireTools(this, ["moto", "awsCliV2", "zstd", "tar", "flock", "cmp", "curl"]);
        dir = tempDir("moto-ops-");
        moto = await startMoto(dir);
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
        const credentials = { accessKeyId: "testing", secretAccessKey: "testing" };
        ssm = new SSMClient({ region: "us-east-1", endpoint: moto.endpoint, credentials, maxAttempts: 1 });
        s3 = new S3Client({ region: "us-east-1", endpoint: moto.endpoint, forcePathStyle: true, credentials, maxAttempts: 1 });
    });
    after(async () => {
        ssm?.destroy();
        s3?.destroy();
        if (moto) await moto.stop();
    });

    const documents = (stack: string) => graphs[stack].resources.filter((r) => r.type === DOCUMENT);

    describe("SSM documents (CreateDocument) and associations", () => {
        it("moto accepts every Command and Automation document of dev and prod, and holds them as given", async () => {
            for (const stack of ["dev", "prod"]) {
                const docs = documents(stack);
                assert.ok(docs.length >= 7, `${stack}: ${docs.length} documents`);
                assert.deepEqual([...new Set(docs.map((d) => d.inputs.documentType))].sort(), ["Automation", "Command"]);
                for (const d of docs) {
                    const name = documentName(d);
                    const content = String(d.inputs.content);
                    await unmocked(ssm).send(
                        new CreateDocumentCommand({ Name: name, Content: content, DocumentType: d.inputs.documentType as any, DocumentFormat: (d.inputs.documentFormat ?? "JSON") as any, ...(d.inputs.targetType ? { TargetType: String(d.inputs.targetType) } : {}) }),
                    );
                    const described = (await unmocked(ssm).send(new DescribeDocumentCommand({ Name: name }))).Document!;
                    const parsed = JSON.parse(content);
                    contents.set(name, parsed);
                    assert.deepEqual([described.DocumentType, described.DocumentFormat, described.SchemaVersion, described.TargetType], [d.inputs.documentType, d.inputs.documentFormat ?? "JSON", parsed.schemaVersion, d.inputs.targetType], name);
                    assert.deepEqual((described.Parameters ?? []).map((p) => [p.Name, p.Type]).sort(), Object.entries(parsed.parameters ?? {}).map(([k, v]: [string, any]) => [k, v.type]).sort(), `${name}: the parameters moto parsed`);
                    const stored = (await unmocked(ssm).send(new GetDocumentCommand({ Name: name }))).Content;
                    assert.equal(stored, content, `${name}: content byte for byte`);
                }
            }
            // The names the stacks export are documents that exist.
            for (const stack of ["dev", "prod"]) {
                const o = graphs[stack].outputs as Record<string, string>;
                for (const k of ["backupDocumentName", "restoreDocumentName", "deployDocumentName", "dbBootstrapDocumentName", "bakeRunbookName", "imagingRunbookName", "bakePrepareDocumentName"]) {
                    assert.ok(contents.has(o[k]), `${stack} output ${k}=${o[k]} names a document created in moto`);
                }
            }
        });

        it("moto refuses a malformed document (so the acceptance above can fail)", async () => {
            const good = documents("dev")[0];
            const cases: Array<[string, Record<string, unknown>]> = [
                ["content that is not JSON", { Name: "bad-json", Content: "{ not json" }],
                ["content without schemaVersion", { Name: "bad-schema", Content: JSON.stringify({ ...JSON.parse(String(good.inputs.content)), schemaVersion: undefined }) }],
                ["a reserved name prefix", { Name: "aws-platform-backup", Content: String(good.inputs.content) }],
                ["a name with a space", { Name: "platform backup", Content: String(good.inputs.content) }],
            ];
            for (const [what, input] of cases) {
                await assert.rejects(unmocked(ssm).send(new CreateDocumentCommand({ DocumentType: "Command", DocumentFormat: "JSON", ...input } as any)), /InvalidDocumentContent|ValidationException|Invalid document|not valid/, what);
            }
        });

        it("every association names a document in moto and passes only parameters it declares, each within its allowedPattern", () => {
            for (const stack of ["dev", "prod"]) {
                const byUrn = new Map(graphs[stack].resources.map((r) => [r.urn, r]));
                const associations = graphs[stack].resources.filter((r) => r.type === ASSOCIATION);
                assert.ok(associations.length >= 3, stack);
                for (const a of associations) {
                    const name = String(a.inputs.name);
                    const doc = contents.get(name);
                    assert.ok(doc, `${stack} ${a.name}: document ${name} exists in moto`);
                    const dependsOn = (a.propertyDependencies?.name ?? []).map((u) => byUrn.get(u)).filter((r) => r?.type === DOCUMENT);
                    assert.ok(dependsOn.length === 0 || documentName(dependsOn[0]!) === name, `${a.name}: the name is its document's`);
                    const params = typeof a.inputs.parameters === "string" ? JSON.parse(a.inputs.parameters) : ((a.inputs.parameters ?? {}) as Record<string, unknown>);
                    for (const [k, v] of Object.entries(params)) {
                        assert.ok(doc!.parameters?.[k], `${stack} ${a.name}: parameter ${k} is declared by ${name}`);
                        assert.ok(admits(doc!.parameters![k], v), `${stack} ${a.name}: ${k}=${JSON.stringify(v)} matches ${doc!.parameters![k].allowedPattern}`);
                    }
                    // Parameters without a default must be given.
                    for (const [k, p] of Object.entries(doc!.parameters ?? {})) assert.ok(p.default !== undefined || k in params, `${stack} ${a.name}: required parameter ${k} given`);
                    for (const t of (a.inputs.targets ?? []) as Array<{ key: string; values: string[] }>) assert.match(t.key, /^(tag:.+|InstanceIds|resource-groups:Name)$/, a.name);
                }
            }
        });

        it("the parameter check matches whole values only (a value merely containing an allowed one is refused)", () => {
            assert.equal(admits({ allowedPattern: "[0-9]+" }, "12; rm -rf /"), false);
            assert.equal(admits({ allowedPattern: "a|b" }, "ab"), false);
            assert.equal(admits({ allowedPattern: "a|b" }, ["a", "b"]), true);
        });

        it("moto 5.2.1 implements none of NOT_IN_MOTO, nor CreateAssociation (what the mocks below and the association check above stand in for)", async () => {
            const inputs: Record<string, unknown> = { ListCommandInvocationsCommand: {}, CancelCommandCommand: { CommandId: "x" }, DescribeInstanceInformationCommand: {}, StartAutomationExecutionCommand: { DocumentName: "dev-web-bake-ami" }, GetAutomationExecutionCommand: { AutomationExecutionId: "x" }, StopAutomationExecutionCommand: { AutomationExecutionId: "x" }, DescribeAutomationExecutionsCommand: {}, ListAssociationsCommand: {}, DescribeAssociationExecutionsCommand: { AssociationId: "x" } };
            for (const C of [...NOT_IN_MOTO, CreateAssociationCommand]) {
                const input = C === CreateAssociationCommand ? { Name: "dev-instance-imaging" } : inputs[C.name];
                await assert.rejects(unmocked(ssm).send(new (C as any)(input)), (err: any) => err.$metadata?.httpStatusCode === 500, `${C.name} answers 500 in moto`);
            }
        });
    });

    describe("ops, every subcommand", () => {
        let outputs: Record<string, Record<string, any>>;
        const files: Record<string, string> = {};
        let devInstance: string;
        let strayProd: string;
        let devBackupInstanceOfOtherStack: string;
        let groupInstances: string[];
        let snapshotLine: string[];
        let bakedImage: string;
        const sentAutomations: Array<{ DocumentName?: string; Parameters?: Record<string, string[]> }> = [];
        /** What the real drill.sh printed (run against moto below): what an agent would have reported for the drill command. */
        let drillRun: { code: number | null; stdout: string; stderr: string } | undefined;

        /** SSM as ops sees it: moto, except the operations moto does not implement (NOT_IN_MOTO), from aws-sdk-client-mock. */
        function opsSsm(): Pick<SSMClient, "send"> {
            const fallback = new SSMClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
            const mock = mockClient(fallback);
            // From moto's own record of the command: its targets resolved to instances, each "Success" (no agent).
            mock.on(ListCommandInvocationsCommand).callsFake(async (input) => {
                const command = (await unmocked(ssm).send(new ListCommandsCommand({ CommandId: input.CommandId }))).Commands![0];
                const invocations = [];
                for (const id of command.InstanceIds ?? []) {
                    const inv = await unmocked(ssm).send(new GetCommandInvocationCommand({ CommandId: input.CommandId, InstanceId: id }));
                    invocations.push({ CommandId: input.CommandId, InstanceId: id, Status: inv.Status, StatusDetails: inv.StatusDetails, CommandPlugins: [{ Name: inv.PluginName, ResponseCode: inv.ResponseCode }] });
                }
                return { CommandInvocations: invocations };
            });
            // The agents of the group's running instances, online.
            mock.on(DescribeInstanceInformationCommand).callsFake(async () => ({ InstanceInformationList: groupInstances.map((InstanceId) => ({ InstanceId, PingStatus: "Online" })) }));
            // Automation: the execution checked against the runbook as moto holds it, then reported done with the image it would have made.
            mock.on(StartAutomationExecutionCommand).callsFake(async (input) => {
                const declared = contents.get(input.DocumentName!)?.parameters ?? {};
                for (const [k, v] of Object.entries(input.Parameters ?? {})) {
                    if (!declared[k] || !admits(declared[k], v)) throw Object.assign(new Error(`InvalidAutomationExecutionParametersException: ${k}`), { name: "InvalidAutomationExecutionParametersException" });
                }
                sentAutomations.push(input);
                return { AutomationExecutionId: "11111111-2222-3333-4444-555555555555" };
            });
            mock.on(GetAutomationExecutionCommand).resolves({ AutomationExecution: { AutomationExecutionStatus: "Success", StepExecutions: [{ StepName: "CreateImage", StepStatus: "Success" }], Outputs: { "CreateImage.ImageId": [bakedImage] } } });
            mock.on(DescribeAutomationExecutionsCommand).resolves({ AutomationExecutionMetadataList: [{ AutomationExecutionId: "11111111-2222-3333-4444-555555555555", AutomationExecutionStatus: "Success", ExecutionStartTime: new Date("2026-01-04T03:00:00Z") }] });
            // State Manager: the plan's associations of the document, never run.
            mock.on(ListAssociationsCommand).callsFake(async (input) => {
                const name = input.AssociationFilterList?.[0]?.value;
                const all = [...graphs.dev.resources, ...graphs.prod.resources].filter((r) => r.type === ASSOCIATION && r.inputs.name === name);
                return { Associations: all.map((a) => ({ AssociationId: `assoc-${a.name}`, AssociationName: String(a.inputs.associationName), Name: name })) };
            });
            mock.on(DescribeAssociationExecutionsCommand).resolves({ AssociationExecutions: [] });
            const real = unmocked(ssm);
            // moto runs no agent: its invocation of a drill command is "Success" with no output. With
            // drillRun set, the invocation moto holds (status, instance, document) carries the output
            // and exit code of the real drill.sh run against moto's S3 and CloudWatch instead.
            const getInvocation = async (command: GetCommandInvocationCommand) => {
                const inv = await real.send(command);
                if (!drillRun) return inv;
                const failed = drillRun.code !== 0;
                const code = drillRun.code ?? -1;
                return { ...inv, Status: failed ? "Failed" : inv.Status, StatusDetails: failed ? "Failed" : inv.StatusDetails, ResponseCode: code, StandardOutputContent: drillRun.stdout, StandardErrorContent: drillRun.stderr };
            };
            return {
                send: ((command: unknown) =>
                    NOT_IN_MOTO.some((C) => command instanceof C)
                        ? fallback.send(command as any)
                        : command instanceof GetCommandInvocationCommand
                          ? getInvocation(command)
                          : real.send(command as any)) as SSMClient["send"],
            };
        }

        async function ops(argv: string[]): Promise<{ code: number; out: string; err: string }> {
            const out: string[] = [];
            const err: string[] = [];
            const code = await main(argv, { ssm: opsSsm(), s3: unmocked(s3), io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
            return { code, out: out.join("\n"), err: err.join("\n") };
        }
        const commands = async () => (await unmocked(ssm).send(new ListCommandsCommand({}))).Commands ?? [];

        before(async () => {
            const ec2 = (op: string, params: Record<string, unknown> = {}): BotoCall => ({ service: "ec2", op, params });
            const tags = (t: Record<string, string>) => Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
            const [amazon] = await moto.botoOk([ec2("describe_images", { Owners: ["amazon"] })]);
            const ami = amazon.Images[0].ImageId;
            const launch = (t: Record<string, string>) => ec2("run_instances", { ImageId: ami, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: tags(t) }] });
            outputs = { dev: { ...graphs.dev.outputs }, prod: { ...graphs.prod.outputs } };
            const seeded = await moto.botoOk([
                ...["dev", "prod"].flatMap((s) => ["backupBucketName", "releaseBucketName", "logsBucketName"].map((k) => ({ service: "s3", op: "create_bucket", params: { Bucket: outputs[s][k] } }))),
                launch({ Stack: "dev", Backup: "true" }),
                launch({ Stack: "prod" }),
                launch({ Stack: "dev", Backup: "true", Name: "another dev instance" }),
                ec2("create_launch_template", { LaunchTemplateName: "web-prod", LaunchTemplateData: { ImageId: ami, InstanceType: "t4g.small" } }),
                {
                    service: "autoscaling",
                    op: "create_auto_scaling_group",
                    params: {
                        AutoScalingGroupName: outputs.prod.autoScalingGroupName, LaunchTemplate: { LaunchTemplateName: "web-prod", Version: "$Latest" }, MinSize: 2, MaxSize: 2, DesiredCapacity: 2, AvailabilityZones: ["us-east-1a"],
                        Tags: [{ Key: "Stack", Value: "prod", PropagateAtLaunch: true }, { Key: "Backup", Value: "true", PropagateAtLaunch: true }],
                    },
                },
                { service: "autoscaling", op: "describe_auto_scaling_groups", params: { AutoScalingGroupNames: [outputs.prod.autoScalingGroupName] } },
                ec2("create_image", { InstanceId: { $result: 6, path: ["Instances", 0, "InstanceId"] }, Name: "dev-web-baked" }),
            ]);
            devInstance = seeded[6].Instances[0].InstanceId;
            strayProd = seeded[7].Instances[0].InstanceId;
            devBackupInstanceOfOtherStack = seeded[8].Instances[0].InstanceId;
            groupInstances = seeded[11].AutoScalingGroups[0].Instances.map((i: { InstanceId: string }) => i.InstanceId).sort();
            assert.equal(groupInstances.length, 2);
            bakedImage = seeded[12].ImageId;
            // The stack's outputs, with the one id moto chose itself: dev's single web instance.
            outputs.dev.webInstanceId = devInstance;
            for (const s of ["dev", "prod"]) {
                files[s] = path.join(dir, `outputs-${s}.json`);
                fs.writeFileSync(files[s], JSON.stringify(outputs[s]));
            }
            // A real backup of dev's instance into moto's S3, by backup.sh.
            const src = path.join(dir, "www");
            fs.mkdirSync(src);
            fs.writeFileSync(path.join(src, "index.html"), "<h1>dev</h1>\n");
            const state = path.join(dir, "state");
            const b = await runProcess("/bin/bash", [BACKUP, "--bucket", outputs.dev.backupBucketName, "--prefix", outputs.dev.backupPrefix, "--instance-id", devInstance, "--state-dir", state, "--lock-file", path.join(dir, "lock"), src], { env: { ...moto.env, LANG: "C", LC_ALL: "C" } });
            assert.equal(b.code, 0, b.stderr);
            snapshotLine = b.stdout.split("\n").find((l) => l.startsWith("snapshot\t"))!.split("\t");
        });

        it("backups (the real CLI process, configured by AWS_ENDPOINT_URL only): lists the snapshot backup.sh wrote to moto's S3", async () => {
            const env = cleanEnv({ ...moto.env });
            assert.equal(env.AWS_ENDPOINT_URL, moto.endpoint);
            const r = await runScript("ops", ["backups", "--stack", "dev", "--outputs", files.dev], { env });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stderr, "");
            const [header, row, ...rest] = r.stdout.trim().split("\n");
            assert.equal(header, "INSTANCE\tDIRECTORY\tSNAPSHOT\tSIZE\tCOMPLETED");
            const cells = row.split("\t");
            assert.deepEqual(cells.slice(0, 3), [devInstance, path.join(dir, "www"), snapshotLine[2]]);
            assert.match(cells[4], /^\d{4}-\d\d-\d\dT/, "completed (manifest present)");
            assert.deepEqual(rest, []);
        });

        it("backups: a bucket that does not exist is exit 1 with S3's own error (the real process)", async () => {
            const bad = path.join(dir, "outputs-nobucket.json");
            fs.writeFileSync(bad, JSON.stringify({ ...outputs.dev, backupBucketName: "no-such-bucket-here" }));
            const r = await runScript("ops", ["backups", "--stack", "dev", "--outputs", bad], { env: cleanEnv({ ...moto.env }) });
            assert.equal(r.code, 1, r.stdout);
            assert.match(r.stderr, /^ops: NoSuchBucket: /);
        });

        it("backup-now: tag targets (Stack AND the backup tag) resolved by moto against EC2 select exactly the stack's tagged instances", async () => {
            const r = await ops(["backup-now", "--stack", "prod", "--outputs", files.prod, "--interval", "0"]);
            assert.equal(r.code, 0, `${r.out}\n${r.err}`);
            assert.match(r.out, /^backup: 2\/2 instances succeeded$/m);
            const sent = (await commands()).find((c) => c.Comment === "ops backup-now")!;
            assert.equal(sent.DocumentName, outputs.prod.backupDocumentName);
            assert.deepEqual([...(sent.InstanceIds ?? [])].sort(), groupInstances, "the group's instances; not prod's untagged one, not dev's tagged ones");
            assert.ok(![strayProd, devInstance, devBackupInstanceOfOtherStack].some((i) => sent.InstanceIds!.includes(i)));
            assert.deepEqual([sent.OutputS3BucketName, sent.OutputS3KeyPrefix], [outputs.prod.logsBucketName, outputs.prod.backupLogPrefix]);
        });

        it("restore: instance and directory found in the real backup keys; SendCommand to that instance with parameters the restore document declares", async () => {
            const r = await ops(["restore", "--stack", "dev", "--outputs", files.dev, "--snapshot", "latest", "--target", "/srv/restored", "--interval", "0"]);
            assert.equal(r.code, 0, `${r.out}\n${r.err}`);
            assert.match(r.out, new RegExp(`restoring ${path.join(dir, "www")} snapshot latest into /srv/restored on ${devInstance}`));
            const sent = (await commands()).find((c) => c.Comment === "ops restore")!;
            assert.deepEqual(sent.InstanceIds, [devInstance]);
            assert.deepEqual(sent.Parameters, { InstanceId: [devInstance], Directory: [path.join(dir, "www")], Snapshot: ["latest"], Target: ["/srv/restored"] });
        });

        it("deploy: uploads the release to moto's S3 (archive, checksum), targets the Auto Scaling group's instances one at a time, then moves current", async () => {
            const archive = path.join(dir, "v7.tar.gz");
            fs.writeFileSync(archive, crypto.randomBytes(3000));
            const r = await ops(["deploy", "--stack", "prod", "--outputs", files.prod, "--release", archive, "--interval", "0"]);
            assert.equal(r.code, 0, `${r.out}\n${r.err}`);
            assert.match(r.out, /^deploy: 2\/2 instances succeeded$/m);
            const get = async (key: string) => Buffer.from(await (await unmocked(s3).send(new GetObjectCommand({ Bucket: outputs.prod.releaseBucketName, Key: key }))).Body!.transformToByteArray());
            assert.ok((await get("releases/prod/v7.tar.gz")).equals(fs.readFileSync(archive)));
            assert.equal((await get("releases/prod/v7.tar.gz.sha256")).toString(), `${crypto.createHash("sha256").update(fs.readFileSync(archive)).digest("hex")}  v7.tar.gz\n`);
            assert.equal((await get("releases/prod/current")).toString(), "v7\n");
            const sent = (await commands()).find((c) => c.Comment === "ops deploy v7")!;
            assert.deepEqual(sent.Targets, [{ Key: "tag:aws:autoscaling:groupName", Values: [outputs.prod.autoScalingGroupName] }]);
            assert.deepEqual([...(sent.InstanceIds ?? [])].sort(), groupInstances, "moto resolved the group tag to the group's instances");
            assert.deepEqual([sent.MaxConcurrency, sent.MaxErrors, sent.Parameters], ["1", "0", { Release: ["v7"] }]);
            // The same version with other bytes is refused: the checksum read back from moto differs.
            fs.writeFileSync(archive, crypto.randomBytes(3000));
            const again = await ops(["deploy", "--stack", "prod", "--outputs", files.prod, "--release", archive]);
            assert.equal(again.code, 2);
            assert.match(again.err, /release v7 already exists .* with another checksum/);
        });

        it("db-bootstrap: on dev's single instance, and on an online instance of prod's group", async () => {
            const dev = await ops(["db-bootstrap", "--stack", "dev", "--outputs", files.dev, "--interval", "0"]);
            assert.equal(dev.code, 0, `${dev.out}\n${dev.err}`);
            const prod = await ops(["db-bootstrap", "--stack", "prod", "--outputs", files.prod, "--interval", "0"]);
            assert.equal(prod.code, 0, `${prod.out}\n${prod.err}`);
            const sent = (await commands()).filter((c) => c.Comment === "ops db-bootstrap");
            assert.deepEqual(sent.map((c) => [c.DocumentName, c.InstanceIds]), [[outputs.dev.dbBootstrapDocumentName, [devInstance]], [outputs.prod.dbBootstrapDocumentName, [groupInstances[0]]]]);
        });

        it("bake: starts the stack's runbook with parameters it declares (as moto holds it) and prints the image", async () => {
            const r = await ops(["bake", "--stack", "dev", "--outputs", files.dev, "--git-revision", "abc123", "--release", "current", "--interval", "0"]);
            assert.equal(r.code, 0, `${r.out}\n${r.err}`);
            assert.match(r.out, new RegExp(`^baked AMI: ${bakedImage}$`, "m"));
            assert.deepEqual(sentAutomations.at(-1), { DocumentName: outputs.dev.bakeRunbookName, Parameters: { GitRevision: ["abc123"], Release: ["current"] } });
        });

        // Not in a nested describe: mocha would run it after this suite's own tests (the sent-commands check below).
        {
            it("drill, the real CLI process: sends the exported drill document to dev's web instance in moto; moto's agent-less invocation prints no directory, so the drill is a failure (exit 1), never a pass", async () => {
                const r = await runScript("ops", ["drill", "--stack", "dev", "--outputs", files.dev, "--interval", "0"], { env: cleanEnv({ ...moto.env }) });
                assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
                assert.match(r.stdout, new RegExp(`^restore drill of stack dev on ${devInstance}: command [0-9a-f-]{36}$`, "m"));
                assert.match(r.stdout, new RegExp(`^${devInstance}: Success \\(\\d+s\\)$`, "m"), "progress: the invocation's status as moto reports it");
                assert.match(r.stderr, new RegExp(`drill printed no directory on ${devInstance}: 0/0 directories verified`));
                const sent = (await commands()).filter((c) => c.Comment === "ops drill");
                assert.deepEqual(sent.map((c) => [c.DocumentName, c.InstanceIds, c.OutputS3BucketName, c.OutputS3KeyPrefix]), [[outputs.dev.drillDocumentName, [devInstance], outputs.dev.logsBucketName, outputs.dev.drillLogPrefix]]);
            });

            it("drill: the real drill.sh on the snapshot backup.sh wrote to moto's S3: its metrics land in moto's CloudWatch with Stack/InstanceId/Directory; ops prints the table from its output (exit 0), and a failed drill's exit code explained (exit 1)", async () => {
                const src = path.join(dir, "www");
                const scratch = tempDir("moto-drill-scratch-");
                const args = ["--bucket", outputs.dev.backupBucketName, "--prefix", outputs.dev.backupPrefix, "--stack", "dev", "--expect", src, "--scratch-dir", scratch, "--lock-file", path.join(dir, "drill.lock"), "--reserve-bytes", "0"];
                const d = await runProcess("/bin/bash", [DRILL, ...args], { env: { ...moto.env, LANG: "C", LC_ALL: "C" } });
                assert.equal(d.code, 0, d.stderr);
                assert.deepEqual(fs.readdirSync(scratch), [], "the scratch copy is removed");
                // moto's CloudWatch holds what the AWS CLI in drill.sh published (PutMetricData for real).
                const [listed] = await moto.botoOk([{ service: "cloudwatch", op: "list_metrics", params: { Namespace: METRICS_NAMESPACE } }]);
                const drilled = (listed.Metrics as Array<{ MetricName: string; Dimensions: Array<{ Name: string; Value: string }> }>)
                    .filter((m) => m.MetricName.startsWith("RestoreDrill"))
                    .map((m) => `${m.MetricName} ${m.Dimensions.map((x) => `${x.Name}=${x.Value}`).sort().join(",")}`)
                    .sort();
                assert.deepEqual(drilled, [
                    `RestoreDrillSeconds Directory=${src},Stack=dev`,
                    `RestoreDrillSeconds Directory=${src},InstanceId=${devInstance},Stack=dev`,
                    `RestoreDrillSuccess Directory=${src},Stack=dev`,
                    `RestoreDrillSuccess Directory=${src},InstanceId=${devInstance},Stack=dev`,
                ].sort());
                drillRun = d;
                const ok = await ops(["drill", "--stack", "dev", "--outputs", files.dev, "--interval", "0", "--mode", "extract"]);
                assert.equal(ok.code, 0, `${ok.out}\n${ok.err}`);
                const table = ok.out.split("\n");
                const header = table.findIndex((l) => l.startsWith("INSTANCE\t"));
                assert.equal(table[header], ["INSTANCE", "DIRECTORY", "SNAPSHOT", "CHAIN", "BYTES", "COMPRESSED", "SECONDS", "MODE", "VERDICT"].join("\t"));
                const row = table[header + 1].split("\t");
                assert.deepEqual([row[0], row[1], row[2], row[3], row[7], row[8]], [devInstance, src, snapshotLine[2], "1", "extract", "ok"]);
                assert.match(row[6], /^\d+\.\d{3}$/);
                assert.match(ok.out, /^drill: 1\/1 directories restored and verified$/m);
                const sent = (await commands()).filter((c) => c.Comment === "ops drill").at(-1)!;
                assert.deepEqual(sent.Parameters, { Mode: ["extract"] });

                // The same snapshot with its archive corrupted in moto's S3: the drill fails for real, ops says why.
                const listing = await unmocked(s3).send(new ListObjectsV2Command({ Bucket: outputs.dev.backupBucketName, Prefix: `${outputs.dev.backupPrefix}/${devInstance}/` }));
                const archive = listing.Contents!.map((o) => o.Key!).find((k) => /\.tar\.zst$/.test(k))!;
                const original = Buffer.from(await (await unmocked(s3).send(new GetObjectCommand({ Bucket: outputs.dev.backupBucketName, Key: archive }))).Body!.transformToByteArray());
                const corrupt = Buffer.from(original);
                corrupt[corrupt.length >> 1] ^= 0xff;
                await unmocked(s3).send(new PutObjectCommand({ Bucket: outputs.dev.backupBucketName, Key: archive, Body: corrupt }));
                try {
                    const bad = await runProcess("/bin/bash", [DRILL, ...args], { env: { ...moto.env, LANG: "C", LC_ALL: "C" } });
                    assert.equal(bad.code, 5, bad.stderr);
                    assert.deepEqual(fs.readdirSync(scratch), []);
                    drillRun = bad;
                    const failed = await ops(["drill", "--stack", "dev", "--outputs", files.dev, "--interval", "0"]);
                    assert.equal(failed.code, 1, `${failed.out}\n${failed.err}`);
                    assert.match(failed.err, new RegExp(`^drill of ${src} \\(${devInstance}\\) failed: restore\\.sh exit 5: verification failed .*manifest sha256=[0-9a-f]{64} size=\\d+, downloaded sha256=[0-9a-f]{64}`, "m"));
                    assert.match(failed.err, /\(exit 5: verification failed: checksum, manifest or chain/);
                } finally {
                    drillRun = undefined;
                    await unmocked(s3).send(new PutObjectCommand({ Bucket: outputs.dev.backupBucketName, Key: archive, Body: original }));
                }
            });
        }

        it("status: last backup and current release from moto's S3, bake and associations", async () => {
            const r = await ops(["status", "--stack", "dev", "--outputs", files.dev]);
            assert.equal(r.code, 0, `${r.out}\n${r.err}`);
            assert.match(r.out, new RegExp(`^last backup ${devInstance} ${path.join(dir, "www")}: ${snapshotLine[2]} `, "m"));
            assert.match(r.out, /^current release: none/m);
            assert.match(r.out, /^last bake: Success /m);
            assert.match(r.out, /^association platform-dev-backup \(backup-backup-[0-9a-f]{7}\): never ran$/m);
            const prod = await ops(["status", "--stack", "prod", "--outputs", files.prod]);
            assert.match(prod.out, /^current release: v7$/m, "prod's current release, set by the deploy above");
        });

        it("every command ops sent names a document in moto and passes only parameters it declares, within their allowedPattern", async () => {
            const sent = await commands();
            assert.deepEqual([...new Set(sent.map((c) => c.Comment))].sort(), ["ops backup-now", "ops db-bootstrap", "ops deploy v7", "ops drill", "ops restore"]);
            for (const c of sent) {
                const doc = contents.get(c.DocumentName!);
                assert.ok(doc, `${c.Comment}: ${c.DocumentName} exists`);
                for (const [k, v] of Object.entries(c.Parameters ?? {})) {
                    assert.ok(doc!.parameters?.[k], `${c.Comment}: ${k} declared by ${c.DocumentName}`);
                    assert.ok(admits(doc!.parameters![k], v), `${c.Comment}: ${k}=${v} matches ${doc!.parameters![k].allowedPattern}`);
                }
                for (const [k, p] of Object.entries(doc!.parameters ?? {})) assert.ok(p.default !== undefined || k in (c.Parameters ?? {}), `${c.Comment}: required ${k} given`);
            }
        });
    });
});
