import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
    AutomationExecutionStatus,
    CancelCommandCommand,
    CommandInvocation,
    CommandInvocationStatus,
    DescribeInstanceInformationCommand,
    GetAutomationExecutionCommand,
    GetCommandInvocationCommand,
    ListCommandInvocationsCommand,
    ListCommandsCommand,
    SSMClient,
    SendCommandCommand,
    StartAutomationExecutionCommand,
    StepExecution,
    StopAutomationExecutionCommand,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { EXIT, main, outputsProblem, parseArgs, parseDrillLines, s3UrlLocation, slugToPath } from "../tools/ops";
import { parseOpsOutputs } from "../tools/opsOutputs";
import { serialRun, shippedConfig, stackRun, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";

const OUTPUTS = {
    stack: "dev",
    environment: "dev",
    region: "us-east-1",
    backupTag: { key: "Backup", value: "true" },
    backupPrefix: "backups/dev",
    backupLogPrefix: "ssm/backup/dev",
    restoreLogPrefix: "ssm/restore/dev",
    bakeRunbookName: "dev-web-bake-ami",
    imagingRunbookName: "dev-instance-imaging",
    backupDocumentName: "dev-backup",
    restoreDocumentName: "dev-restore",
    backupBucketName: "backups-abc",
    logsBucketName: "logs-abc",
};

describe("ops CLI", () => {
    const ssmMock = mockClient(SSMClient);
    const s3Mock = mockClient(S3Client);
    let dir: string;
    let outputsFile: string;
    let out: string[];
    let err: string[];

    before(() => {
        dir = tempDir("ops-test-");
        outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(OUTPUTS));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    beforeEach(() => {
        ssmMock.reset();
        s3Mock.reset();
        out = [];
        err = [];
    });

    const run = (argv: string[], extra: { signal?: AbortSignal; now?: () => number } = {}) =>
        main([...argv, "--outputs", outputsFile, "--interval", "0"], {
            ssm: new SSMClient({ region: "us-east-1" }),
            s3: new S3Client({ region: "us-east-1" }),
            io: { out: (l) => out.push(l), err: (l) => err.push(l) },
            ...extra,
        });

    describe("bake", () => {
        it("starts the runbook, prints step progress once per change and the AMI id", async () => {
            ssmMock.on(StartAutomationExecutionCommand).resolves({ AutomationExecutionId: "exec-1" });
            const step = (name: string, status: string): StepExecution => ({ StepName: name, StepExecutionId: name, StepStatus: status as AutomationExecutionStatus });
            ssmMock
                .on(GetAutomationExecutionCommand)
                .resolvesOnce({ AutomationExecution: { AutomationExecutionStatus: "InProgress", StepExecutions: [step("LaunchBuilder", "InProgress"), step("PrepareImage", "Pending")] } })
                .resolvesOnce({ AutomationExecution: { AutomationExecutionStatus: "InProgress", StepExecutions: [step("LaunchBuilder", "Success"), step("PrepareImage", "InProgress")] } })
                .resolves({
                    AutomationExecution: {
                        AutomationExecutionStatus: "Success",
                        StepExecutions: [step("LaunchBuilder", "Success"), step("PrepareImage", "Success")],
                        Outputs: { "CreateImage.ImageId": ["ami-0123456789abcdef0"] },
                    },
                });
            const code = await run(["bake", "--stack", "dev", "--git-revision", "abc123"]);
            assert.strictEqual(code, EXIT.OK, err.join("\n"));
            assert.deepStrictEqual(out, [
                "started dev-web-bake-ami: execution exec-1",
                "[step 1/2] LaunchBuilder: InProgress",
                "[step 2/2] PrepareImage: Pending",
                "[step 1/2] LaunchBuilder: Success",
                "[step 2/2] PrepareImage: InProgress",
                "[step 2/2] PrepareImage: Success",
                "baked AMI: ami-0123456789abcdef0",
            ]);
            assert.deepStrictEqual(ssmMock.commandCalls(StartAutomationExecutionCommand)[0].args[0].input, { DocumentName: "dev-web-bake-ami", Parameters: { GitRevision: ["abc123"] } });
        });

        it("a failed execution exits 1 with the failure message", async () => {
            ssmMock.on(StartAutomationExecutionCommand).resolves({ AutomationExecutionId: "exec-2" });
            ssmMock.on(GetAutomationExecutionCommand).resolves({
                AutomationExecution: { AutomationExecutionStatus: "Failed", FailureMessage: "Step PrepareImage failed", StepExecutions: [{ StepName: "PrepareImage", StepStatus: "Failed", FailureMessage: "exit 4" }] },
            });
            assert.strictEqual(await run(["bake", "--stack", "dev"]), EXIT.FAILED);
            assert.ok(out.includes("[step 1/1] PrepareImage: Failed - exit 4"), out.join("\n"));
            assert.deepStrictEqual(err, ["bake exec-2 ended Failed: Step PrepareImage failed"]);
        });

        it("times out with exit 3 and says the execution is still running (not cancelled)", async () => {
            ssmMock.on(StartAutomationExecutionCommand).resolves({ AutomationExecutionId: "exec-3" });
            ssmMock.on(GetAutomationExecutionCommand).resolves({ AutomationExecution: { AutomationExecutionStatus: "InProgress", StepExecutions: [] } });
            let t = 0;
            const code = await run(["bake", "--stack", "dev", "--timeout", "5"], { now: () => (t += 2000) });
            assert.strictEqual(code, EXIT.TIMEOUT);
            assert.match(err.join("\n"), /timed out after 5s; bake execution exec-3 is STILL RUNNING/);
            assert.strictEqual(ssmMock.commandCalls(StopAutomationExecutionCommand).length, 0);
        });

        it("Ctrl-C cancels the execution it started and exits 130", async () => {
            const controller = new AbortController();
            ssmMock.on(StartAutomationExecutionCommand).resolves({ AutomationExecutionId: "exec-4" });
            ssmMock.on(GetAutomationExecutionCommand).callsFake(() => {
                controller.abort();
                return { AutomationExecution: { AutomationExecutionStatus: "InProgress", StepExecutions: [] } };
            });
            ssmMock.on(StopAutomationExecutionCommand).resolves({});
            const code = await run(["bake", "--stack", "dev"], { signal: controller.signal });
            assert.strictEqual(code, EXIT.INTERRUPTED);
            assert.deepStrictEqual(ssmMock.commandCalls(StopAutomationExecutionCommand)[0].args[0].input, { AutomationExecutionId: "exec-4", Type: "Cancel" });
            assert.match(err.join("\n"), /cancelled bake execution exec-4/);
        });
    });

    describe("backup-now", () => {
        const invocation = (id: string, status: string, details = status): CommandInvocation => ({ InstanceId: id, Status: status as CommandInvocationStatus, StatusDetails: details });

        it("sends the backup document to the tagged instances and follows each instance", async () => {
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
            ssmMock
                .on(ListCommandInvocationsCommand)
                .resolvesOnce({ CommandInvocations: [invocation("i-0000000000000000a", "InProgress"), invocation("i-0000000000000000b", "Pending")] })
                .resolves({ CommandInvocations: [invocation("i-0000000000000000a", "Success"), invocation("i-0000000000000000b", "Success")] });
            ssmMock.on(ListCommandsCommand).resolvesOnce({ Commands: [{ Status: "InProgress" }] }).resolves({ Commands: [{ Status: "Success" }] });
            const code = await run(["backup-now", "--stack", "dev"]);
            assert.strictEqual(code, EXIT.OK, err.join("\n"));
            assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
                DocumentName: "dev-backup",
                Targets: [
                    { Key: "tag:Stack", Values: ["dev"] },
                    { Key: "tag:Backup", Values: ["true"] },
                ],
                OutputS3BucketName: "logs-abc",
                OutputS3KeyPrefix: "ssm/backup/dev",
                Comment: "ops backup-now",
            });
            assert.deepStrictEqual(out, [
                "sent dev-backup to instances tagged Stack=dev and Backup=true: command cmd-1",
                "i-0000000000000000a: InProgress",
                "i-0000000000000000b: Pending",
                "i-0000000000000000a: Success",
                "i-0000000000000000b: Success",
                "backup: 2/2 instances succeeded",
            ]);
        });

        it("one failed instance makes the run exit 1 and names it", async () => {
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-2" } });
            ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation("i-0000000000000000a", "Success"), invocation("i-0000000000000000b", "Failed")] });
            ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Failed" }] });
            assert.strictEqual(await run(["backup-now", "--stack", "dev", "--tag", "Tier=web"]), EXIT.FAILED);
            assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input.Targets, [
                { Key: "tag:Stack", Values: ["dev"] },
                { Key: "tag:Tier", Values: ["web"] },
            ]);
            assert.ok(out.includes("backup: 1/2 instances succeeded"), out.join("\n"));
            assert.deepStrictEqual(err, ["backup failed on i-0000000000000000b: Failed"]);
        });

        it("Ctrl-C cancels the command", async () => {
            const controller = new AbortController();
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-3" } });
            ssmMock.on(ListCommandInvocationsCommand).callsFake(() => {
                controller.abort();
                return { CommandInvocations: [] };
            });
            ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "InProgress" }] });
            ssmMock.on(CancelCommandCommand).resolves({});
            assert.strictEqual(await run(["backup-now", "--stack", "dev"], { signal: controller.signal }), EXIT.INTERRUPTED);
            assert.deepStrictEqual(ssmMock.commandCalls(CancelCommandCommand)[0].args[0].input, { CommandId: "cmd-3" });
        });
    });

    describe("drill", () => {
        const line = (instance: string, slug: string, verdict: string, detail: string, mode = "extract") =>
            ["drill", instance, slug, "20250302T021500.456Z", "3", "40960", "1204", "73400320", "12.345", mode, verdict, detail].join("\t");
        const drillOutputs = (extra: Record<string, unknown> = {}) => {
            const file = path.join(dir, `drill-${Object.keys(extra).join("-") || "plain"}.json`);
            fs.writeFileSync(file, JSON.stringify({ ...OUTPUTS, drillDocumentName: "dev-drill", drillLogPrefix: "ssm/drill/dev", autoScalingGroupName: "web-asg", ...extra }));
            return file;
        };
        const runDrill = (argv: string[], file = drillOutputs(), extra: { signal?: AbortSignal; now?: () => number } = {}) =>
            main([...argv, "--outputs", file, "--interval", "0"], { ssm: new SSMClient({ region: "us-east-1" }), s3: new S3Client({ region: "us-east-1" }), io: { out: (l) => out.push(l), err: (l) => err.push(l) }, ...extra });
        const notYet = Object.assign(new Error("InvocationDoesNotExist"), { name: "InvocationDoesNotExist" });

        it("sends the drill document to one online instance of the group, follows it, prints directories as they finish and the table", async () => {
            ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: "i-00000000000000000", PingStatus: "ConnectionLost" }, { InstanceId: "i-0000000000000000b", PingStatus: "Online" }, { InstanceId: "i-0000000000000000a", PingStatus: "Online" }] });
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d1" } });
            const first = line("i-0000000000000000a", "var-www", "ok", "restored; checksums and tree (1204 entries, 73400320 bytes) match the manifests");
            const second = line("i-0000000000000000b", "etc-platform", "ok", "streamed ...", "stream");
            ssmMock
                .on(GetCommandInvocationCommand)
                .rejectsOnce(notYet)
                .resolvesOnce({ Status: "InProgress", StatusDetails: "InProgress", StandardOutputContent: "" })
                .resolvesOnce({ Status: "InProgress", StatusDetails: "InProgress", StandardOutputContent: `${first}\n` })
                .resolves({ Status: "Success", StatusDetails: "Success", ResponseCode: 0, StandardOutputContent: `${first}\n${second}\n` });
            const code = await runDrill(["drill", "--stack", "dev", "--mode", "extract"], drillOutputs(), { now: () => 0 });
            assert.strictEqual(code, EXIT.OK, err.join("\n"));
            // The tag filter alone ("Tag filters can't be combined with other filter types": AWS Systems
            // Manager API Reference, DescribeInstanceInformation); ConnectionLost skipped, lowest online id.
            assert.deepStrictEqual(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0].args[0].input, {
                Filters: [{ Key: "tag:aws:autoscaling:groupName", Values: ["web-asg"] }],
                NextToken: undefined,
            });
            assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
                DocumentName: "dev-drill",
                InstanceIds: ["i-0000000000000000a"],
                Parameters: { Mode: ["extract"] },
                OutputS3BucketName: "logs-abc",
                OutputS3KeyPrefix: "ssm/drill/dev",
                Comment: "ops drill",
            });
            assert.deepStrictEqual(ssmMock.commandCalls(GetCommandInvocationCommand)[0].args[0].input, { CommandId: "cmd-d1", InstanceId: "i-0000000000000000a" });
            assert.deepStrictEqual(out, [
                "restore drill of stack dev on i-0000000000000000a (mode extract): command cmd-d1",
                "i-0000000000000000a: InProgress (0s)",
                "  /var/www of i-0000000000000000a: ok (12.345s)",
                "i-0000000000000000a: Success (0s)",
                "  /etc/platform of i-0000000000000000b: ok (12.345s)",
                "INSTANCE\tDIRECTORY\tSNAPSHOT\tCHAIN\tBYTES\tCOMPRESSED\tSECONDS\tMODE\tVERDICT",
                "i-0000000000000000a\t/var/www\t20250302T021500.456Z\t3\t70.0 MiB\t40.0 KiB\t12.345\textract\tok",
                "i-0000000000000000b\t/etc/platform\t20250302T021500.456Z\t3\t70.0 MiB\t40.0 KiB\t12.345\tstream\tok",
                "drill: 2/2 directories restored and verified",
            ]);
            assert.deepStrictEqual(err, []);
        });

        it("a failed directory fails the run (exit 1): its reason, the drill's exit code explained", async () => {
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d2" } });
            ssmMock.on(GetCommandInvocationCommand).resolves({
                Status: "Failed",
                StatusDetails: "Failed",
                ResponseCode: 5,
                StandardOutputContent: `${line("i-0000000000000000a", "var-www", "failed", "manifest mismatch: the manifest of X says 10 entries and 5 bytes, the restored tree has 9 entries and 5 bytes")}\n${line("i-0000000000000000a", "etc-platform", "ok", "restored")}\n`,
                StandardErrorContent: "platform-drill: ERROR: /var/www of i-0000000000000000a: manifest mismatch (exit 5)\n",
            });
            assert.strictEqual(await runDrill(["drill", "--stack", "dev", "--instance-id", "i-0000000000000000c"]), EXIT.FAILED);
            assert.deepStrictEqual(ssmMock.commandCalls(DescribeInstanceInformationCommand), [], "the given instance is used as it is");
            assert.strictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input.Parameters, undefined, "no --mode: the document's default");
            assert.deepStrictEqual(err, [
                "drill of /var/www (i-0000000000000000a) failed: manifest mismatch: the manifest of X says 10 entries and 5 bytes, the restored tree has 9 entries and 5 bytes",
                "drill ended Failed on i-0000000000000000c (exit 5: verification failed: checksum, manifest or chain, or the restored tree differs from the manifest): 1/2 directories verified; last error: platform-drill: ERROR: /var/www of i-0000000000000000a: manifest mismatch (exit 5)",
            ]);
        });

        it("output SSM truncated is read whole from the logs bucket", async () => {
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d3" } });
            const lines = Array.from({ length: 3 }, (_, i) => line(`i-00000000000000${String(i).padStart(3, "0")}`, "var-www", "ok", "restored"));
            ssmMock.on(GetCommandInvocationCommand).resolves({
                Status: "Success",
                ResponseCode: 0,
                StandardOutputContent: `${lines[0]}\n${lines[1].slice(0, 20)}\n---Output truncated---`,
                StandardOutputUrl: "https://s3.us-east-1.amazonaws.com/logs-abc/ssm/drill/dev/cmd-d3/i-0000000000000000a/awsrunShellScript/drill/stdout",
            });
            // The SDK's body stream offers transformToString, which is all ops reads.
            s3Mock.on(GetObjectCommand).resolves({ Body: { transformToString: async () => lines.join("\n") + "\n" } as any });
            assert.strictEqual(await runDrill(["drill", "--stack", "dev", "--instance-id", "i-0000000000000000a"]), EXIT.OK, err.join("\n"));
            assert.deepStrictEqual(s3Mock.commandCalls(GetObjectCommand)[0].args[0].input, { Bucket: "logs-abc", Key: "ssm/drill/dev/cmd-d3/i-0000000000000000a/awsrunShellScript/drill/stdout" });
            assert.ok(out.includes("drill: 3/3 directories restored and verified"), out.join("\n"));
        });

        it("a command that succeeded but reported no directory is a failure, not a pass", async () => {
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d4" } });
            ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Success", ResponseCode: 0, StandardOutputContent: "" });
            assert.strictEqual(await runDrill(["drill", "--stack", "dev", "--instance-id", "i-0000000000000000a"]), EXIT.FAILED);
            assert.match(err.join("\n"), /drill printed no directory on i-0000000000000000a: 0\/0 directories verified/);
        });

        it("Ctrl-C cancels the drill command (exit 130); a timeout leaves it running (exit 3)", async () => {
            const controller = new AbortController();
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d5" } });
            ssmMock.on(GetCommandInvocationCommand).callsFake(() => {
                controller.abort();
                return { Status: "InProgress" };
            });
            ssmMock.on(CancelCommandCommand).resolves({});
            assert.strictEqual(await runDrill(["drill", "--stack", "dev", "--instance-id", "i-0000000000000000a"], drillOutputs(), { signal: controller.signal }), EXIT.INTERRUPTED);
            assert.deepStrictEqual(ssmMock.commandCalls(CancelCommandCommand)[0].args[0].input, { CommandId: "cmd-d5" });
            ssmMock.reset();
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d6" } });
            ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
            let t = 0;
            assert.strictEqual(await runDrill(["drill", "--stack", "dev", "--instance-id", "i-0000000000000000a", "--timeout", "5"], drillOutputs(), { now: () => (t += 2000) }), EXIT.TIMEOUT);
            assert.match(err.join("\n"), /timed out after 5s; drill command cmd-d6 is STILL RUNNING on i-0000000000000000a/);
            assert.strictEqual(ssmMock.commandCalls(CancelCommandCommand).length, 0);
        });

        it("no drill in the stack's outputs, no instance online: exit 2 and 1 with the reason", async () => {
            assert.strictEqual(await run(["drill", "--stack", "dev"]), EXIT.USAGE);
            assert.match(err.pop()!, /stack output "drillDocumentName" is missing \(is the restore drill enabled for this stack \(config backup.drill.enabled\)\?\)/);
            ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
            assert.strictEqual(await runDrill(["drill", "--stack", "dev"]), EXIT.FAILED);
            assert.match(err.pop()!, /no web instance of the instances of web-asg is online in SSM; pass --instance-id/);
            assert.strictEqual(ssmMock.commandCalls(SendCommandCommand).length, 0);
        });

        it("parses drill.sh's lines (and nothing else) and SSM's output URLs", () => {
            assert.deepStrictEqual(parseDrillLines(`noise\n${line("i-1", "srv-my_5fapp", "ok", "d")}\ndrill\ttoo\tshort\n`).map((l) => [l.directory, l.verdict]), [["/srv/my_app", "ok"]]);
            assert.deepStrictEqual(s3UrlLocation("https://s3.eu-west-1.amazonaws.com/b-1/p/q/stdout"), { bucket: "b-1", key: "p/q/stdout" });
            assert.deepStrictEqual(s3UrlLocation("https://b-1.s3.eu-west-1.amazonaws.com/p/stdout"), { bucket: "b-1", key: "p/stdout" });
            assert.strictEqual(s3UrlLocation("not a url"), undefined);
        });
    });

    describe("backups and restore", () => {
        const objects = [
            { Key: "backups/dev/i-0000000000000000a/var-www/latest", Size: 21 },
            { Key: "backups/dev/i-0000000000000000a/var-www/20250301T021500.123Z/archive.tar.zst", Size: 2048 },
            { Key: "backups/dev/i-0000000000000000a/var-www/20250301T021500.123Z/manifest.json", Size: 1000, LastModified: new Date("2025-03-01T02:15:09Z") },
            { Key: "backups/dev/i-0000000000000000a/var-www/20250302T021500.456Z/archive.tar.zst", Size: 3 * 1024 * 1024 },
        ];

        it("lists snapshots with sizes and dates (all pages)", async () => {
            s3Mock
                .on(ListObjectsV2Command)
                .resolvesOnce({ Contents: objects.slice(0, 2), IsTruncated: true, NextContinuationToken: "t1" })
                .resolves({ Contents: objects.slice(2), IsTruncated: false });
            assert.strictEqual(await run(["backups", "--stack", "dev"]), EXIT.OK, err.join("\n"));
            assert.deepStrictEqual(out, [
                "INSTANCE\tDIRECTORY\tSNAPSHOT\tSIZE\tCOMPLETED",
                "i-0000000000000000a\t/var/www\t20250301T021500.123Z\t3.0 KiB\t2025-03-01T02:15:09.000Z",
                "i-0000000000000000a\t/var/www\t20250302T021500.456Z\t3.0 MiB\tincomplete",
            ]);
            const calls = s3Mock.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
            assert.deepStrictEqual(calls, [
                { Bucket: "backups-abc", Prefix: "backups/dev/", ContinuationToken: undefined },
                { Bucket: "backups-abc", Prefix: "backups/dev/", ContinuationToken: "t1" },
            ]);
        });

        it("restore fills in the only instance and directory and sends the restore document", async () => {
            s3Mock.on(ListObjectsV2Command).resolves({ Contents: objects });
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-r" } });
            ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: "i-0000000000000000a", Status: "Success" }] });
            ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Success" }] });
            assert.strictEqual(await run(["restore", "--stack", "dev", "--snapshot", "latest", "--target", "/srv/restore"]), EXIT.OK, err.join("\n"));
            assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
                DocumentName: "dev-restore",
                InstanceIds: ["i-0000000000000000a"],
                Parameters: { InstanceId: ["i-0000000000000000a"], Directory: ["/var/www"], Snapshot: ["latest"], Target: ["/srv/restore"] },
                OutputS3BucketName: "logs-abc",
                OutputS3KeyPrefix: "ssm/restore/dev",
                Comment: "ops restore",
            });
        });

        it("slugs decode back to paths", () => {
            assert.strictEqual(slugToPath("var-www"), "/var/www");
            assert.strictEqual(slugToPath("srv-my_5fapp_2d1"), "/srv/my_app-1");
            assert.strictEqual(slugToPath("data-_c3_bcn_c3_af"), "/data/ünï");
            assert.strictEqual(slugToPath("-"), "/");
        });
    });

    describe("bad arguments and config (exit 2)", () => {
        for (const [argv, message] of [
            [["frobnicate", "--stack", "dev"], /unknown command "frobnicate"/],
            [["bake"], /--stack <name> is required/],
            [["bake", "--stack", "dev", "--bogus", "1"], /unknown argument "--bogus"/],
            [["bake", "--stack", "dev", "--timeout", "soon"], /--timeout must be a number/],
            [["restore", "--stack", "dev", "--target", "/x"], /--snapshot latest or a snapshot id/],
            [["restore", "--stack", "dev", "--snapshot", "latest", "--target", "relative"], /--target <absolute directory>/],
            [["backups", "--stack", "dev", "--instance-id", "web-1"], /--instance-id must be an instance id/],
            [["drill", "--stack", "dev", "--mode", "sometimes"], /--mode must be auto, extract, stream, not "sometimes"/],
            [["backup-now", "--stack", "dev", "--mode", "stream"], /--mode is an option of drill only/],
        ] as Array<[string[], RegExp]>) {
            it(argv.join(" "), () => {
                assert.throws(() => parseArgs(argv), (e: { code?: number; message: string }) => e.code === EXIT.USAGE && message.test(e.message));
            });
        }

        it("a missing stack output names it and the outputs present", async () => {
            fs.writeFileSync(path.join(dir, "partial.json"), JSON.stringify({ environment: "dev", region: "us-east-1" }));
            const code = await main(["bake", "--stack", "dev", "--outputs", path.join(dir, "partial.json")], { io: { out: (l) => out.push(l), err: (l) => err.push(l) } });
            assert.strictEqual(code, EXIT.USAGE);
            assert.match(err[0], /stack output "bakeRunbookName" is missing \(is amiFactory enabled for this stack\?\); outputs present: environment, region/);
        });

        it("outputs that are not this stack's, from the pulumi CLI too: exit 2 naming what is wrong", async () => {
            const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
            const fromCli = (outputs: unknown) => main(["status", "--stack", "prod"], { io, runPulumi: () => Promise.resolve(JSON.stringify(outputs)) });
            assert.strictEqual(await fromCli({}), EXIT.USAGE);
            assert.strictEqual(err.pop(), 'ops: the output of `pulumi stack output --json --stack prod` is not the outputs of a stack of this program: environment and region are missing (every stack exports environment and region; keys present: none); use pulumi stack output --json --stack prod');
            // Pulumi.prod.yaml says us-east-1: outputs of the same environment in another region are another stack's.
            assert.strictEqual(await fromCli({ environment: "prod", region: "eu-west-1", backupBucketName: "b" }), EXIT.USAGE);
            assert.strictEqual(err.pop(), 'ops: the output of `pulumi stack output --json --stack prod` belongs to a stack in eu-west-1, but Pulumi.prod.yaml says aws:region us-east-1: wrong file for --stack prod?');
            assert.deepStrictEqual(out, [], "nothing ran");
            // A stack this checkout has no file for: the outputs only need to be a stack's.
            assert.strictEqual(outputsProblem({ environment: "staging", region: "eu-west-1" }, "staging", undefined), undefined);
            assert.strictEqual(outputsProblem([] as never, "dev"), "is not the outputs of a stack of this program: environment and region are missing (every stack exports environment and region; keys present: none); use pulumi stack output --json --stack dev");
        });

        it("no pulumi CLI: says to pass --outputs", async () => {
            const code = await main(["status", "--stack", "dev"], {
                io: { out: (l) => out.push(l), err: (l) => err.push(l) },
                runPulumi: () => Promise.reject(new Error("spawn pulumi ENOENT")),
            });
            assert.strictEqual(code, EXIT.USAGE);
            assert.match(err[0], /cannot read the outputs of stack "dev" with the pulumi CLI \(spawn pulumi ENOENT\).*--outputs FILE/);
        });

        it("missing credentials: a clear message and exit 2", async () => {
            const e = new Error("Could not load credentials from any providers");
            e.name = "CredentialsProviderError";
            ssmMock.on(StartAutomationExecutionCommand).rejects(e);
            assert.strictEqual(await run(["bake", "--stack", "dev"]), EXIT.USAGE);
            assert.match(err[0], /no usable AWS credentials/);
        });
    });
});

/**
 * ops against the outputs the real program exports (the offline plan of the shipped stacks and of a
 * stack with a non-default backup tag), not a hand-written fixture: the keys ops reads must exist
 * with the types it expects, and the calls must use the configured tag and prefixes.
 */
describe("ops CLI on the outputs of the real program", function () {
    this.timeout(300000);
    const ssmMock = mockClient(SSMClient);
    const s3Mock = mockClient(S3Client);
    const dir = tempDir("ops-real-");
    const files: Record<string, string> = {};
    const outputs: Record<string, Record<string, unknown>> = {};
    const CUSTOM_TAG = { key: "BackupPlan", value: "nightly" };
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    before(async () => {
        for (const stack of ["dev", "prod"]) outputs[stack] = (await stackRun(stack)).graph.outputs;
        const dev = shippedConfig("dev");
        const configFile = tempStackFile("dev", { "platform:webTier": { ...(dev["platform:webTier"] as object), backupTag: CUSTOM_TAG } });
        outputs.custom = (await serialRun({ stack: "dev", configFile })).graph.outputs;
        for (const [name, o] of Object.entries(outputs)) {
            files[name] = path.join(dir, `${name}.json`);
            fs.writeFileSync(files[name], JSON.stringify(o));
        }
    });
    beforeEach(() => {
        ssmMock.reset();
        s3Mock.reset();
    });

    const run = async (name: string, argv: string[]) => {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main([...argv, "--outputs", files[name], "--interval", "0"], {
            ssm: new SSMClient({ region: "us-east-1" }),
            s3: new S3Client({ region: "us-east-1" }),
            io: { out: (l) => out.push(l), err: (l) => err.push(l) },
        });
        return { code, out, err };
    };

    for (const [name, stack, tag] of [
        ["dev", "dev", { key: "Backup", value: "true" }],
        ["prod", "prod", { key: "Backup", value: "true" }],
        ["custom", "dev", CUSTOM_TAG],
    ] as Array<[string, string, { key: string; value: string }]>) {
        it(`${name}: the outputs parse, and backup-now targets Stack=${stack} AND ${tag.key}=${tag.value}`, async () => {
            const parsed = parseOpsOutputs(outputs[name]);
            assert.deepStrictEqual(parsed.backupTag, tag);
            assert.strictEqual(parsed.stack, stack);
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd" } });
            ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: "i-0000000000000000a", Status: "Success" }] });
            ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Success" }] });
            const r = await run(name, ["backup-now", "--stack", stack]);
            assert.strictEqual(r.code, EXIT.OK, r.err.join("\n"));
            assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
                DocumentName: outputs[name].backupDocumentName,
                // Run Command ANDs the keys: this stack's instances that carry the backup tag, no other stack's.
                Targets: [
                    { Key: "tag:Stack", Values: [stack] },
                    { Key: `tag:${tag.key}`, Values: [tag.value] },
                ],
                OutputS3BucketName: outputs[name].logsBucketName,
                OutputS3KeyPrefix: `ssm/backup/${stack}`,
                Comment: "ops backup-now",
            });
        });

        it(`${name}: drill sends the exported drill document to one web instance, logging where the runbook logs`, async () => {
            const parsed = parseOpsOutputs(outputs[name]);
            assert.strictEqual(parsed.drillLogPrefix, `ssm/drill/${stack}`);
            assert.strictEqual(parsed.backupMetricsNamespace, "Platform/Backups");
            ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: "i-0000000000000000a", PingStatus: "Online" }] });
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-d" } });
            ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Success", ResponseCode: 0, StandardOutputContent: ["drill", "i-0000000000000000a", "var-www", "20250302T021500.456Z", "1", "10", "2", "3", "0.500", "extract", "ok", "restored"].join("\t") + "\n" });
            const r = await run(name, ["drill", "--stack", stack]);
            assert.strictEqual(r.code, EXIT.OK, r.err.join("\n"));
            const sent = ssmMock.commandCalls(SendCommandCommand)[0].args[0].input;
            assert.deepStrictEqual(sent, {
                DocumentName: outputs[name].drillDocumentName,
                // dev runs one instance (its id is exported); prod's group is asked for an online one.
                InstanceIds: [outputs[name].webInstanceId ?? "i-0000000000000000a"],
                OutputS3BucketName: outputs[name].logsBucketName,
                OutputS3KeyPrefix: `ssm/drill/${stack}`,
                Comment: "ops drill",
            });
            assert.strictEqual(ssmMock.commandCalls(DescribeInstanceInformationCommand).length, outputs[name].webInstanceId ? 0 : 1);
        });

        it(`${name}: backups and restore read under the exported prefix and log where the documents log`, async () => {
            const prefix = `backups/${stack}`;
            assert.strictEqual(outputs[name].backupPrefix, prefix);
            s3Mock.on(ListObjectsV2Command).resolves({
                Contents: [{ Key: `${prefix}/i-0000000000000000a/var-www/20250301T021500.123Z/manifest.json`, Size: 10, LastModified: new Date("2025-03-01T02:15:09Z") }],
            });
            const listed = await run(name, ["backups", "--stack", stack]);
            assert.strictEqual(listed.code, EXIT.OK, listed.err.join("\n"));
            assert.deepStrictEqual(s3Mock.commandCalls(ListObjectsV2Command)[0].args[0].input, { Bucket: outputs[name].backupBucketName, Prefix: `${prefix}/`, ContinuationToken: undefined });
            ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-r" } });
            ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: "i-0000000000000000a", Status: "Success" }] });
            ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Success" }] });
            const restored = await run(name, ["restore", "--stack", stack, "--snapshot", "latest", "--target", "/srv/restore"]);
            assert.strictEqual(restored.code, EXIT.OK, restored.err.join("\n"));
            const input = ssmMock.commandCalls(SendCommandCommand)[0].args[0].input;
            assert.strictEqual(input.DocumentName, outputs[name].restoreDocumentName);
            assert.strictEqual(input.OutputS3KeyPrefix, `ssm/restore/${stack}`);
        });
    }

    it("refuses the outputs of another stack than --stack (exit 2)", async () => {
        const r = await run("dev", ["backup-now", "--stack", "prod"]);
        assert.strictEqual(r.code, EXIT.USAGE);
        // The stack file's check comes first: dev's outputs say environment "dev", Pulumi.prod.yaml "prod".
        assert.match(r.err.join("\n"), /belongs to a "dev" stack, but Pulumi\.prod\.yaml says environment "prod": wrong file for --stack prod\?/);
        // A stack this checkout has no file for (same environment and region): the `stack` output says it.
        const other = await run("dev", ["backup-now", "--stack", "dev-copy"]);
        assert.strictEqual(other.code, EXIT.USAGE);
        assert.match(other.err.join("\n"), /the outputs of stack "dev", not --stack dev-copy/);
        assert.strictEqual(ssmMock.commandCalls(SendCommandCommand).length, 0);
    });

    it("an output of the wrong type is exit 2 naming it, not a silent default", async () => {
        const bad = path.join(dir, "bad.json");
        fs.writeFileSync(bad, JSON.stringify({ ...outputs.dev, backupTag: "Backup=true", backupPrefix: "/backups/dev/" }));
        const err: string[] = [];
        const code = await main(["backup-now", "--stack", "dev", "--outputs", bad], { io: { out: () => undefined, err: (l) => err.push(l) } });
        assert.strictEqual(code, EXIT.USAGE);
        assert.match(err[0], /backupTag: .*got "Backup=true"/);
        assert.match(err[0], /backupPrefix: must be a key prefix/);
    });
});
