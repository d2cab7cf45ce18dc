/**
 * `buckets.denyUnencryptedUploads: true` against the uploads the platform makes. The AWS rules:
 *
 * - Amazon S3 User Guide, "Setting default server-side encryption behavior for Amazon S3
 *   buckets" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html) and
 *   "Amazon S3 now automatically encrypts all new objects"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq.html): since
 *   January 2023 every new object is encrypted with the bucket's default encryption when the
 *   request names none; bucket policies are evaluated BEFORE default encryption, so a policy
 *   denying PutObject without `x-amz-server-side-encryption` refuses those requests even though
 *   they would be encrypted. The S3 API Reference (PutBucketEncryption,
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html) recommends
 *   setting the default and not overriding it in PUT requests.
 * - backup.sh (`aws s3 cp`, multipart for large streams) and `npm run ops -- deploy`
 *   (PutObject with the SDK) name no encryption: they rely on the default. The bucket policy
 *   must therefore admit header-less uploads and refuse only requests asking for another
 *   algorithm or a customer-provided key (SSE-C).
 *
 * The plan's bucket policy (dev: SSE-S3, prod: SSE-KMS, both with the option on) is judged by
 * the IAM evaluator, and enforced by the S3 test proxy (tests/helpers/s3Policy.ts: identity
 * grant plus the bucket policy's statements) while the real backup.sh runs through it. The
 * proxy is plain HTTP, so the bucket policy's DenyInsecureTransport is left out there (the CLI
 * and the SDK use HTTPS endpoints on AWS; that Deny is tested in tests/bucket.test.ts).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { GetObjectCommand, PutObjectCommand, PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { SSMClient, SendCommandCommand } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { PolicyDocument, PolicyStatement } from "../components/bucket";
import { Graph } from "../tools/graph";
import { main as ops } from "../tools/ops";
import { EvalStatement, evaluate } from "./helpers/iamEvaluator";
import { S3Server, startS3Server } from "./helpers/s3server";
import { runProcess } from "./support/processes";
import { json, serialRun, shippedConfig, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const BACKUP = path.resolve(__dirname, "..", "components", "ssm", "backup.sh");

interface Planned {
    graph: Graph;
    outputs: Record<string, any>;
    /** The named bucket's policy statements, as planned. */
    policy(bucket: "backups" | "releases"): EvalStatement[];
}

async function planWithDeny(stack: "dev" | "prod"): Promise<Planned> {
    const shipped = shippedConfig(stack);
    const buckets = (shipped["platform:buckets"] as object | undefined) ?? {};
    const { graph } = await serialRun({ stack, configFile: tempStackFile(stack, { "platform:buckets": { ...buckets, denyUnencryptedUploads: true } }) });
    return {
        graph,
        outputs: graph.outputs as Record<string, any>,
        policy: (bucket) => json(graph.resources.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy" && r.name === bucket)!.inputs.policy).Statement,
    };
}

/** The request context S3 builds for a PutObject with these SDK inputs (the headers they become). */
function putContext(input: Pick<PutObjectCommandInput, "ServerSideEncryption" | "SSECustomerAlgorithm">): Record<string, string> {
    const context: Record<string, string> = {};
    if (input.ServerSideEncryption) context["s3:x-amz-server-side-encryption"] = input.ServerSideEncryption;
    if (input.SSECustomerAlgorithm) context["s3:x-amz-server-side-encryption-customer-algorithm"] = input.SSECustomerAlgorithm;
    return context;
}

describe("denyUnencryptedUploads: uploads relying on default encryption are admitted, other encryption refused", function () {
    this.timeout(120_000);
    const plans: Record<string, Planned> = {};

    before(async () => {
        for (const stack of ["dev", "prod"] as const) plans[stack] = await planWithDeny(stack);
    });

    for (const [stack, algorithm, other] of [
        ["dev", "AES256", "aws:kms"],
        ["prod", "aws:kms", "AES256"],
    ] as const) {
        it(`${stack}: a PutObject naming no encryption is not denied; ${other} or an SSE-C key is (bucket policy, IAM evaluation)`, () => {
            const plan = plans[stack];
            for (const bucket of ["backups", "releases"] as const) {
                const statements = plan.policy(bucket);
                assert.ok(statements.some((s) => (s as { Sid?: string }).Sid === "DenyWrongEncryption"), `${stack} ${bucket}: the option is on`);
                const object = `arn:aws:s3:::${plan.outputs[bucket === "backups" ? "backupBucketName" : "releaseBucketName"]}/any/key`;
                const decide = (context: Record<string, string>) => evaluate(statements, { action: "s3:PutObject", resource: object, context: { "aws:SecureTransport": "true", ...context } });
                assert.notEqual(decide({}), "explicit-deny", `${stack} ${bucket}: no header (the bucket's default encryption applies)`);
                assert.notEqual(decide({ "s3:x-amz-server-side-encryption": algorithm }), "explicit-deny", `${stack} ${bucket}: the bucket's own algorithm`);
                assert.equal(decide({ "s3:x-amz-server-side-encryption": other }), "explicit-deny", `${stack} ${bucket}: another algorithm`);
                assert.equal(decide({ "s3:x-amz-server-side-encryption-customer-algorithm": "AES256" }), "explicit-deny", `${stack} ${bucket}: a customer-provided key`);
            }
        });
    }

    it("ops deploy's uploads (archive, checksum) name no encryption and pass the release bucket's policy", async () => {
        const plan = plans.prod;
        const s3Mock = mockClient(S3Client);
        const ssmMock = mockClient(SSMClient);
        const dir = tempDir("upload-encryption-ops-");
        try {
            const missing = Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
            s3Mock.on(GetObjectCommand).rejects(missing);
            s3Mock.on(PutObjectCommand).resolves({});
            // The rollout is not what is judged here: the uploads come before it.
            ssmMock.on(SendCommandCommand).rejects(new Error("not under test"));
            const outputs = path.join(dir, "outputs.json");
            fs.writeFileSync(outputs, JSON.stringify({ ...plan.outputs, environment: "prod" }));
            const release = path.join(dir, "2026.12.02-1.tar.gz");
            fs.writeFileSync(release, "pretend this is a gzip archive");
            await ops(["deploy", "--stack", "prod", "--release", release, "--outputs", outputs, "--interval", "0"], {
                ssm: new SSMClient({ region: "us-east-1" }),
                s3: new S3Client({ region: "us-east-1" }),
                io: { out: () => undefined, err: () => undefined },
            });
            const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
            assert.equal(puts.length, 2, "archive and checksum uploaded");
            const statements = plan.policy("releases");
            for (const put of puts) {
                assert.equal(put.Bucket, plan.outputs.releaseBucketName);
                const decision = evaluate(statements, { action: "s3:PutObject", resource: `arn:aws:s3:::${put.Bucket}/${put.Key}`, context: { "aws:SecureTransport": "true", ...putContext(put) } });
                assert.notEqual(decision, "explicit-deny", `${put.Key}: ${JSON.stringify(putContext(put))}`);
            }
        } finally {
            s3Mock.restore();
            ssmMock.restore();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("backup.sh through the S3 proxy enforcing prod's backup bucket policy", () => {
        let s3: S3Server;
        let dir: string;
        let bucket: string;

        before(async function () {
            requireTools(this, ["awsCliV2", "zstd", "tar", "flock"]);
            const plan = plans.prod;
            bucket = plan.outputs.backupBucketName;
            const bucketStatements = (plan.policy("backups") as PolicyStatement[]).filter((s) => s.Sid !== "DenyInsecureTransport");
            const policy: PolicyDocument = {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucket"], Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] }, ...bucketStatements],
            };
            s3 = await startS3Server({ bucket, policy });
            dir = tempDir("upload-encryption-");
        });
        after(async () => {
            if (s3) await s3.stop();
            if (dir) fs.rmSync(dir, { recursive: true, force: true });
        });

        it("a full backup (single and multipart uploads, 6 MiB at a 5 MB threshold) succeeds; an upload asking for SSE-S3 on the SSE-KMS bucket is refused", async () => {
            const src = path.join(dir, "www");
            fs.mkdirSync(src);
            // Incompressible, so the archive stream crosses the multipart threshold.
            fs.writeFileSync(path.join(src, "big.bin"), require("crypto").randomBytes(6 * 1024 * 1024));
            const config = path.join(dir, "aws-config");
            fs.writeFileSync(config, "[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n");
            const state = path.join(dir, "state");
            fs.mkdirSync(state);
            const env = { ...s3.env, AWS_CONFIG_FILE: config, LANG: "C", LC_ALL: "C" };
            const r = await runProcess("/bin/bash", [BACKUP, "--bucket", bucket, "--prefix", "backups/prod", "--instance-id", "i-0123456789abcdef0", "--state-dir", state, "--lock-file", path.join(state, "lock"), src], { env });
            assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
            const requests = s3.takeRequests();
            assert.ok(requests.some((l) => /^UploadPart .* 200$/.test(l)), `multipart used:\n${requests.join("\n")}`);
            assert.ok(requests.every((l) => !/ 403$/.test(l)), requests.join("\n"));
            const file = path.join(dir, "note.txt");
            fs.writeFileSync(file, "x\n");
            const wrong = await runProcess("/usr/bin/aws", ["--endpoint-url", s3.endpoint, "s3api", "put-object", "--bucket", bucket, "--key", "backups/prod/note.txt", "--body", file, "--server-side-encryption", "AES256"], { env });
            assert.notEqual(wrong.code, 0, wrong.stdout);
            assert.match(wrong.stderr, /AccessDenied/);
        });
    });
});
