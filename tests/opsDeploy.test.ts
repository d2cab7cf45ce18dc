/**
 * `npm run ops -- deploy` and `db-bootstrap` against mocked SSM and S3 (aws-sdk-client-mock):
 * the upload (archive first, checksum last, versions immutable), the rate-controlled
 * SendCommand (one instance at a time in prod, stop at the first failure), per-instance
 * progress, the failure report with deploy.sh's exit meaning, and the `current` pointer moving
 * only after every instance succeeded. The CLI's exit code is also checked as a shell sees it.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CommandInvocation, DescribeInstanceInformationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SSMClient, SendCommandCommand } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { EXIT, main } from "../tools/ops";
import { tempDir } from "./support/tmp";

/** A dev stack's outputs (ops checks environment and region against Pulumi.dev.yaml). */
const BASE = {
    environment: "dev",
    region: "us-east-1",
    logsBucketName: "logs-abc",
    releaseBucketName: "releases-abc",
    releasePrefix: "releases/dev",
    deployDocumentName: "web-deploy-0123456",
    autoScalingGroupName: "web-0123456",
};

/** A GetObject answer: the SDK's body stream offers transformToString, which is all ops reads. */
/** A prod stack's (for --stack prod: the prod rules apply). */
const PROD = { environment: "prod", releasePrefix: "releases/prod" };

const body = (text: string) => ({ Body: { transformToString: async () => text } as any });
const missing = () => Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
const notFound = () => Object.assign(new Error("NotFound"), { name: "NotFound", $metadata: { httpStatusCode: 404 } });
const invocation = (id: string, status: string, responseCode?: number): CommandInvocation =>
    ({ InstanceId: id, Status: status, StatusDetails: status, ...(responseCode !== undefined ? { CommandPlugins: [{ Name: "deploy", ResponseCode: responseCode }] } : {}) }) as CommandInvocation;

describe("ops deploy and db-bootstrap", () => {
    const ssmMock = mockClient(SSMClient);
    const s3Mock = mockClient(S3Client);
    let dir: string;
    let out: string[];
    let err: string[];

    before(() => (dir = tempDir("ops-deploy-")));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    beforeEach(() => {
        ssmMock.reset();
        s3Mock.reset();
        out = [];
        err = [];
    });

    function outputsFile(extra: Record<string, unknown> = {}): string {
        const f = path.join(dir, `outputs-${crypto.randomUUID()}.json`);
        fs.writeFileSync(f, JSON.stringify({ ...BASE, ...extra }));
        return f;
    }
    const run = (argv: string[], outputs = outputsFile()) =>
        main([...argv, "--outputs", outputs, "--interval", "0"], {
            ssm: new SSMClient({ region: "us-east-1" }),
            s3: new S3Client({ region: "us-east-1" }),
            io: { out: (l) => out.push(l), err: (l) => err.push(l) },
        });
    const puts = () => s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);

    it("uploads a file (archive, then checksum), rolls it out one instance at a time with progress, then moves current", async () => {
        const file = path.join(dir, "2026.12.01-1.tar.gz");
        fs.writeFileSync(file, "pretend this is a gzip archive");
        const sha = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
        s3Mock.on(GetObjectCommand, { Key: "releases/prod/2026.12.01-1.tar.gz.sha256" }).rejects(missing());
        s3Mock.on(GetObjectCommand, { Key: "releases/prod/current" }).resolves(body("2026.11.30-2\n"));
        s3Mock.on(PutObjectCommand).resolves({});
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-deploy" } });
        ssmMock
            .on(ListCommandInvocationsCommand)
            .resolvesOnce({ CommandInvocations: [invocation("i-0000000000000000a", "InProgress")] })
            .resolvesOnce({ CommandInvocations: [invocation("i-0000000000000000a", "Success"), invocation("i-0000000000000000b", "InProgress")] })
            .resolves({ CommandInvocations: [invocation("i-0000000000000000a", "Success"), invocation("i-0000000000000000b", "Success")] });
        ssmMock.on(ListCommandsCommand).resolvesOnce({ Commands: [{ Status: "InProgress", TargetCount: 2 }] }).resolvesOnce({ Commands: [{ Status: "InProgress", TargetCount: 2 }] }).resolves({ Commands: [{ Status: "Success", TargetCount: 2 }] });

        const code = await run(["deploy", "--stack", "prod", "--release", file], outputsFile(PROD));
        assert.strictEqual(code, EXIT.OK, err.join("\n"));
        const [archive, checksum, pointer] = puts();
        assert.deepStrictEqual({ ...archive, Body: undefined }, { Bucket: "releases-abc", Key: "releases/prod/2026.12.01-1.tar.gz", Body: undefined, ContentType: "application/gzip", ChecksumAlgorithm: "SHA256" });
        assert.deepStrictEqual(checksum, { Bucket: "releases-abc", Key: "releases/prod/2026.12.01-1.tar.gz.sha256", Body: `${sha}  2026.12.01-1.tar.gz\n`, ContentType: "text/plain" });
        assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
            DocumentName: "web-deploy-0123456",
            Targets: [{ Key: "tag:aws:autoscaling:groupName", Values: ["web-0123456"] }],
            Parameters: { Release: ["2026.12.01-1"] },
            MaxConcurrency: "1",
            MaxErrors: "0",
            OutputS3BucketName: "logs-abc",
            OutputS3KeyPrefix: "ssm/deploy/prod",
            Comment: "ops deploy 2026.12.01-1",
        });
        // Progress per instance, details asked (for exit codes on failure).
        assert.ok(ssmMock.commandCalls(ListCommandInvocationsCommand).every((c) => c.args[0].input.Details === true));
        assert.deepStrictEqual(out.slice(1), [
            "deploying 2026.12.01-1 (current: 2026.11.30-2) to the instances of web-0123456, 1 at a time, stopping at the first failure: command cmd-deploy",
            "i-0000000000000000a: InProgress",
            "i-0000000000000000a: Success",
            "i-0000000000000000b: InProgress",
            "i-0000000000000000b: Success",
            "deploy: 2/2 instances succeeded",
            "current release: 2026.12.01-1 (was 2026.11.30-2); new instances install it at boot",
        ]);
        assert.match(out[0], new RegExp(`^uploading .*2026\\.12\\.01-1\\.tar\\.gz as s3://releases-abc/releases/prod/2026\\.12\\.01-1\\.tar\\.gz \\(30 B, sha256 ${sha}\\)$`));
        assert.deepStrictEqual(pointer, { Bucket: "releases-abc", Key: "releases/prod/current", Body: "2026.12.01-1\n", ContentType: "text/plain" });
    });

    it("halts at the first failing instance: names it with deploy.sh's exit meaning, counts the instances not reached, leaves current alone", async () => {
        s3Mock.on(HeadObjectCommand).resolves({});
        s3Mock.on(GetObjectCommand, { Key: "releases/prod/current" }).resolves(body("v1\n"));
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-bad" } });
        ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation("i-0000000000000000a", "Success"), invocation("i-0000000000000000b", "Failed", 7)] });
        ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Failed", TargetCount: 3, ErrorCount: 1 }] });
        const code = await run(["deploy", "--stack", "prod", "--release", "v2"], outputsFile(PROD));
        assert.strictEqual(code, EXIT.FAILED);
        assert.ok(out.includes("deploy: 1/3 instances succeeded, 1 not reached (the rollout stopped at the first failure)"), out.join("\n"));
        assert.deepStrictEqual(err, [
            "deploy failed on i-0000000000000000b: Failed (exit 7: unhealthy: rolled back to the previous release)",
            "deploy of v2 stopped: i-0000000000000000a run v2; the current release stays v1 (new instances install it). Fix the release and deploy a new version, or deploy v1 to bring every instance back.",
        ]);
        assert.deepStrictEqual(puts(), [], "nothing written: current stays v1");
        assert.deepStrictEqual(s3Mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key), ["releases/prod/v2.tar.gz", "releases/prod/v2.tar.gz.sha256"]);
    });

    it("prod always deploys one at a time; elsewhere the rate can be raised; the single instance is targeted by id", async () => {
        assert.strictEqual(await run(["deploy", "--stack", "prod", "--release", "v2", "--max-concurrency", "2"], outputsFile(PROD)), EXIT.USAGE);
        assert.match(err.join("\n"), /prod deploys one instance at a time and stops at the first failure/);
        assert.strictEqual(ssmMock.commandCalls(SendCommandCommand).length, 0);

        s3Mock.on(HeadObjectCommand).resolves({});
        s3Mock.on(GetObjectCommand).rejects(missing());
        s3Mock.on(PutObjectCommand).resolves({});
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-dev" } });
        ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation("i-0123456789abcdef0", "Success")] });
        ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Success", TargetCount: 1 }] });
        const single = outputsFile({ environment: "dev", autoScalingGroupName: undefined, webInstanceId: "i-0123456789abcdef0" });
        assert.strictEqual(await run(["deploy", "--stack", "dev", "--release", "v2", "--max-concurrency", "50%", "--max-errors", "1"], single), EXIT.OK, err.join("\n"));
        const input = ssmMock.commandCalls(SendCommandCommand)[0].args[0].input;
        assert.deepStrictEqual([input.InstanceIds, input.Targets, input.MaxConcurrency, input.MaxErrors], [["i-0123456789abcdef0"], undefined, "50%", "1"]);
        assert.ok(out.includes("current release: v2 (was none); new instances install it at boot"), out.join("\n"));
    });

    it("refuses a version that exists with other bytes (releases are immutable), a missing version, and reserved names", async () => {
        const file = path.join(dir, "v3.tar.gz");
        fs.writeFileSync(file, "new bytes");
        s3Mock.on(GetObjectCommand, { Key: "releases/dev/v3.tar.gz.sha256" }).resolves(body(`${"0".repeat(64)}  v3.tar.gz\n`));
        assert.strictEqual(await run(["deploy", "--stack", "dev", "--release", file]), EXIT.USAGE);
        assert.match(err.join("\n"), /release v3 already exists in s3:\/\/releases-abc\/releases\/dev\/ with another checksum \(0{64}\); releases are immutable: give this build a new version \(--version\)/);
        assert.deepStrictEqual(puts(), []);

        s3Mock.on(HeadObjectCommand).rejects(notFound());
        err = [];
        assert.strictEqual(await run(["deploy", "--stack", "dev", "--release", "v9"]), EXIT.USAGE);
        assert.match(err.join("\n"), /no release v9 in s3:\/\/releases-abc\/releases\/dev\/ \(v9\.tar\.gz is missing\); upload one with --release FILE/);
        for (const bad of ["current", "platform-default", "../v1", "./missing.tar.gz"]) {
            err = [];
            assert.strictEqual(await run(["deploy", "--stack", "dev", "--release", bad]), EXIT.USAGE, bad);
        }
        assert.strictEqual(ssmMock.commandCalls(SendCommandCommand).length, 0);
    });

    it("an already uploaded identical file is not uploaded again", async () => {
        const file = path.join(dir, "v4.tar.gz");
        fs.writeFileSync(file, "same bytes");
        const sha = crypto.createHash("sha256").update("same bytes").digest("hex");
        s3Mock.on(GetObjectCommand, { Key: "releases/dev/v4.tar.gz.sha256" }).resolves(body(`${sha}  v4.tar.gz\n`));
        s3Mock.on(GetObjectCommand, { Key: "releases/dev/current" }).rejects(missing());
        s3Mock.on(PutObjectCommand).resolves({});
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-4" } });
        ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation("i-0000000000000000a", "Success")] });
        ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Success", TargetCount: 1 }] });
        assert.strictEqual(await run(["deploy", "--stack", "dev", "--release", file]), EXIT.OK, err.join("\n"));
        assert.ok(out.includes(`release v4 is already uploaded (sha256 ${sha})`));
        assert.deepStrictEqual(puts().map((p) => p.Key), ["releases/dev/current"]);
    });

    it("db-bootstrap runs its document on one online instance of the group and explains a failure", async () => {
        ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: "i-0000000000000000c", PingStatus: "Online" }] });
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-db" } });
        ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [invocation("i-0000000000000000c", "Failed", 5)] });
        ssmMock.on(ListCommandsCommand).resolves({ Commands: [{ Status: "Failed", TargetCount: 1 }] });
        const code = await run(["db-bootstrap", "--stack", "dev"], outputsFile({ dbBootstrapDocumentName: "db-bootstrap-0123456" }));
        assert.strictEqual(code, EXIT.FAILED);
        // The tag filter alone: DescribeInstanceInformation refuses a tag filter combined with another
        // filter type ("Tag filters can't be combined with other filter types": AWS Systems Manager API
        // Reference, DescribeInstanceInformation, Filters,
        // https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html);
        // ops keeps the Online agents itself.
        assert.deepStrictEqual(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0].args[0].input.Filters, [{ Key: "tag:aws:autoscaling:groupName", Values: ["web-0123456"] }]);
        assert.deepStrictEqual(ssmMock.commandCalls(SendCommandCommand)[0].args[0].input, {
            DocumentName: "db-bootstrap-0123456",
            InstanceIds: ["i-0000000000000000c"],
            OutputS3BucketName: "logs-abc",
            OutputS3KeyPrefix: "ssm/db-bootstrap/dev",
            Comment: "ops db-bootstrap",
        });
        assert.deepStrictEqual(err, ["db-bootstrap failed on i-0000000000000000c: Failed (exit 5: the master secret could not be read)"]);
    });

    it("the shell sees exit 2 and the reason when deploy has no --release", () => {
        const outputs = outputsFile();
        const r = spawnSync(process.execPath, ["-r", path.join(__dirname, "..", "tools", "register.js"), path.join(__dirname, "..", "tools", "ops.ts"), "deploy", "--stack", "dev", "--outputs", outputs], { encoding: "utf8" });
        assert.strictEqual(r.status, 2, r.stderr);
        assert.match(r.stderr, /deploy needs --release FILE \(a \.tar\.gz to upload\) or --release VERSION \(one already uploaded\)/);
    });
});
