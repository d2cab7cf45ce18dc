/**
 * The web instance role is enough, and no more, for the scripts it runs: in moto (IAM enforced:
 * every request authenticated by its access key and authorized against the caller's policies),
 * an IAM user per stack holds exactly the inline policies the plan attaches to that stack's web
 * role (every RolePolicy of the graph whose role is `web-instance`, JSON unchanged: the buckets
 * in moto carry the plan's names, and the secret ARN is mapped to moto's). The real scripts run
 * with that user's credentials through the real AWS CLI v2 (`/usr/bin/aws` behind a wrapper that
 * adds `--endpoint-url`): backup.sh (full, incremental, and one multipart upload), restore.sh and
 * deploy.sh succeed on the stack's own prefixes; on another stack's prefix or bucket the same
 * identity is refused (AccessDenied) and each script ends with its documented exit code. Within
 * its own stack the role is refused what its scripts do not need (writing releases, reading the
 * logs and bake-logs buckets, touching another stack's backups or uploads).
 *
 * The IAM user stands in for the role: moto applies no permissions boundary (the role's
 * boundary is judged with the IAM evaluator in tests/permissionsBoundary.test.ts), and the
 * buckets are created bare (no bucket policy, no default encryption: those are judged in
 * tests/bucket.test.ts and tests/uploadEncryption.test.ts).
 *
 * What moto does not judge here, and where it is judged instead:
 * - `s3:prefix` conditions: moto evaluates no condition of an identity policy (the statement then
 *   applies as if unconditioned), so the role's prefix-scoped s3:ListBucket lists the whole
 *   bucket in moto. A listing of another stack's prefix is therefore not refused here; the
 *   writes and reads under it are. tests/backupScripts.test.ts and tests/deployScript.test.ts
 *   run the scripts against tests/helpers/s3Policy.ts, which evaluates the condition;
 * - S3's 403 (not 404) for a missing key without an unconditioned s3:ListBucket: moto answers
 *   404; the same s3Policy tests model it;
 * - Secrets Manager resources: moto authorizes its calls against Resource "*" only, so the
 *   role's GetSecretValue on exactly the master secret's ARN is refused in moto for that secret
 *   too. The db-bootstrap run below therefore proves the exit-5 path of a refused read (and
 *   asserts the refusal of the own secret, to notice when moto changes), not the scoping; that
 *   exactly the stack's own secret is allowed, and no other, is checked with the IAM evaluator of
 *   tests/helpers/iamEvaluator.ts;
 * - KMS key policies (the buckets' SSE-KMS): moto's S3 calls no KMS authorization.
 * - CloudWatch: moto authorizes PutMetricData as monitoring:PutMetricData (its endpoint prefix),
 *   so the user's copy of the policies says monitoring: where the plan says cloudwatch: (inMoto),
 *   and moto evaluates no cloudwatch:namespace condition: the namespace-only grant is judged with
 *   tests/helpers/iamEvaluator.ts.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DB_BOOTSTRAP_EXIT_CODES } from "../components/dbBootstrap";
import { DEPLOY_EXIT_CODES } from "../components/app";
import { DRILL_EXIT_CODES, METRICS_NAMESPACE } from "../components/backup";
import { Graph } from "../tools/graph";
import { EvalStatement, evaluate } from "./helpers/iamEvaluator";
import { Credentials, Moto, resultOf, startMoto, unmocked } from "./helpers/moto";
import { freePort } from "./support/net";
import { runProcess } from "./support/processes";
import { stackRun } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const SSM = path.resolve(__dirname, "..", "components", "ssm");
const BACKUP = path.join(SSM, "backup.sh");
const RESTORE = path.join(SSM, "restore.sh");
const DEPLOY = path.join(SSM, "deploy.sh");
const DB_BOOTSTRAP = path.join(SSM, "db-bootstrap.sh");
const DRILL = path.join(SSM, "drill.sh");
const IID = "i-0123456789abcdef0";
/** backup.sh / restore.sh: "4  S3 transfer failed" (their headers). */
const EX_S3 = 4;

interface StackWorld {
    stack: string;
    outputs: Record<string, any>;
    /** The web role's inline policies, as the plan attaches them. */
    policies: Array<{ name: string; document: string }>;
    credentials: Credentials;
    /** The master secret's ARN in moto. */
    secretArn: string;
}

/**
 * A policy as moto 5.2.1 must read it: moto authorizes CloudWatch calls under its endpoint prefix
 * ("not authorized to perform: monitoring:PutMetricData"), where IAM's action is
 * cloudwatch:PutMetricData (Service Authorization Reference, "Actions, resources, and condition
 * keys for Amazon CloudWatch", https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
 * Only the prefix is translated; the real action name is judged by the IAM evaluator below.
 */
const inMoto = (document: string) => document.split('"cloudwatch:').join('"monitoring:');

/** Every inline policy the plan attaches to the stack's web instance role. */
function webRolePolicies(graph: Graph): Array<{ name: string; document: string }> {
    const role = graph.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "web-instance")!;
    return graph.resources
        .filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && (r.propertyDependencies?.role ?? []).includes(role.urn))
        .map((r) => ({ name: r.name, document: String(r.inputs.policy) }));
}

describe("The web instance role in moto (IAM enforced): enough for the scripts, and no more", function () {
    this.timeout(120_000);
    let moto: Moto;
    let dir: string;
    let admin: Credentials;
    const worlds: Record<string, StackWorld> = {};

    before(async function () {
        requireTools(this, ["moto", "awsCliV2", "zstd", "tar", "flock", "cmp", "curl"]);
        dir = tempDir("moto-role-");
        moto = await startMoto(dir);
        const setup = [];
        for (const stack of ["dev", "prod"]) {
            const { graph } = await stackRun(stack);
            const outputs = graph.outputs as Record<string, any>;
            const buckets = ["backupBucketName", "releaseBucketName", "logsBucketName", "uploadsBucketName", "bakeLogsBucketName"].map((k) => outputs[k] as string);
            assert.ok(buckets.every(Boolean), `${stack} exports its bucket names`);
            // The plan's secret ARN ends in a suffix moto chooses itself: create it, then map.
            const secretName = /:secret:(.+)-[A-Za-z0-9]{6}$/.exec(outputs.databaseSecretArn)![1];
            const [secret] = await moto.botoOk([{ service: "secretsmanager", op: "create_secret", params: { Name: secretName, SecretString: JSON.stringify({ username: "master", password: `pw-${stack}` }) } }]);
            const policies = webRolePolicies(graph);
            assert.ok(policies.length >= 8, `${stack}: ${policies.length} web role policies`);
            const user = `web-${stack}`;
            setup.push({ stack, outputs, policies, secretArn: secret.ARN as string });
            await moto.botoOk([
                ...buckets.map((Bucket) => ({ service: "s3", op: "create_bucket", params: { Bucket } })),
                { service: "iam", op: "create_user", params: { UserName: user } },
                ...policies.map((p) => ({ service: "iam", op: "put_user_policy", params: { UserName: user, PolicyName: p.name, PolicyDocument: inMoto(p.document.split(outputs.databaseSecretArn).join(secret.ARN)) } })),
            ]);
        }
        const keys = await moto.botoOk([
            { service: "iam", op: "create_access_key", params: { UserName: "web-dev" } },
            { service: "iam", op: "create_access_key", params: { UserName: "web-prod" } },
            { service: "iam", op: "create_user", params: { UserName: "admin" } },
            { service: "iam", op: "put_user_policy", params: { UserName: "admin", PolicyName: "all", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) } },
            { service: "iam", op: "create_access_key", params: { UserName: "admin" } },
        ]);
        setup.forEach((s, i) => (worlds[s.stack] = { ...s, credentials: keys[i].AccessKey }));
        admin = keys[4].AccessKey;
        await moto.enforceIam(true);
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    /** A script run as `who` (a stack's web role, or the admin), the way SSM runs it: bash, C locale. */
    const run = (script: string, args: string[], who: Credentials, extra: NodeJS.ProcessEnv = {}) =>
        runProcess("/bin/bash", [script, ...args], { env: { ...moto.envAs(who), LANG: "C", LC_ALL: "C", ...extra } });
    const dump = (r: { code: number | null; stdout: string; stderr: string }) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

    it("enforcement is on: an unknown access key and a caller without a grant are refused", async () => {
        const nobody = await moto.boto([{ service: "s3", op: "list_objects_v2", params: { Bucket: worlds.dev.outputs.backupBucketName } }], { AccessKeyId: "AKIAUNKNOWN000000000", SecretAccessKey: "x" });
        assert.equal(nobody[0].ok, false);
        const web = await moto.boto([{ service: "s3", op: "create_bucket", params: { Bucket: "not-granted-bucket" } }], worlds.dev.credentials);
        assert.deepEqual([web[0].ok, (web[0] as { code: string }).code], [false, "AccessDenied"]);
    });

    function tree(root: string): Record<string, string> {
        const out: Record<string, string> = {};
        const walk = (rel: string) => {
            for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
                const p = path.join(rel, name);
                const st = fs.lstatSync(path.join(root, p));
                if (st.isDirectory()) walk(p);
                else out[p] = crypto.createHash("sha256").update(fs.readFileSync(path.join(root, p))).digest("hex");
            }
        };
        walk("");
        return out;
    }

    const backupArgs = (w: StackWorld, src: string, state: string, over: { bucket?: string; prefix?: string } = {}) => [
        "--bucket", over.bucket ?? w.outputs.backupBucketName, "--prefix", over.prefix ?? w.outputs.backupPrefix, "--instance-id", IID,
        "--state-dir", state, "--lock-file", path.join(state, "lock"), src,
    ];
    const restoreArgs = (w: StackWorld, src: string, target: string, over: { bucket?: string; prefix?: string } = {}) => [
        "--bucket", over.bucket ?? w.outputs.backupBucketName, "--prefix", over.prefix ?? w.outputs.backupPrefix, "--instance-id", IID, "--directory", src, "--target", target,
    ];

    function makeSource(name: string, dataBytes = 50_000): string {
        const src = path.join(dir, name);
        fs.mkdirSync(path.join(src, "sub"), { recursive: true });
        fs.writeFileSync(path.join(src, "index.html"), `<h1>${name}</h1>\n`);
        // Random, so zstd cannot shrink it: the archive stream is as large as the data.
        fs.writeFileSync(path.join(src, "sub", "data.bin"), crypto.randomBytes(dataBytes));
        return src;
    }

    it("backup.sh (full, then incremental) and restore.sh succeed with the web role on its stack's bucket and prefix", async () => {
        const w = worlds.dev;
        const src = makeSource("www-dev");
        const state = path.join(dir, "state-dev");
        fs.mkdirSync(state);
        const full = await run(BACKUP, backupArgs(w, src, state), w.credentials);
        assert.equal(full.code, 0, dump(full));
        assert.match(full.stdout, /^snapshot\t.*\tfull\t/m);
        fs.writeFileSync(path.join(src, "added.txt"), "added after the full backup\n");
        fs.rmSync(path.join(src, "sub", "data.bin"));
        const inc = await run(BACKUP, backupArgs(w, src, state), w.credentials);
        assert.equal(inc.code, 0, dump(inc));
        assert.match(inc.stdout, /^snapshot\t.*\tincremental\t/m);
        const target = path.join(dir, "restored-dev");
        const restored = await run(RESTORE, restoreArgs(w, src, target), w.credentials);
        assert.equal(restored.code, 0, dump(restored));
        assert.deepEqual(tree(target), tree(src), "the restore is the source after the incremental");
        // The objects are where the role may write, and nowhere else.
        const listed = await moto.botoOk([{ service: "s3", op: "list_objects_v2", params: { Bucket: w.outputs.backupBucketName } }], admin);
        const keys = (listed[0].Contents ?? []).map((o: { Key: string }) => o.Key);
        assert.ok(keys.length >= 5 && keys.every((k: string) => k.startsWith("backups/dev/")), keys.join("\n"));
    });

    it("backup.sh succeeds with prod's role on prod's bucket too (the grant is per stack), through a multipart upload (6 MiB at a 5 MB threshold)", async () => {
        const w = worlds.prod;
        const state = path.join(dir, "state-prod");
        fs.mkdirSync(state);
        // The CLI's multipart settings (AWS CLI User Guide, "AWS CLI S3 configuration"): the
        // archive then goes up as CreateMultipartUpload, UploadPart x2, CompleteMultipartUpload,
        // each authorized against the role's s3:PutObject grant.
        const config = path.join(dir, "aws-config-multipart");
        fs.writeFileSync(config, "[default]\ns3 =\n  multipart_threshold = 5MB\n  multipart_chunksize = 5MB\n");
        const full = await run(BACKUP, backupArgs(w, makeSource("www-prod", 6 * 1024 * 1024), state), w.credentials, { AWS_CONFIG_FILE: config });
        assert.equal(full.code, 0, dump(full));
        const listed = await moto.botoOk([{ service: "s3", op: "list_objects_v2", params: { Bucket: w.outputs.backupBucketName, Prefix: `${w.outputs.backupPrefix}/` } }], admin);
        const archives = (listed[0].Contents ?? []).filter((o: { Size: number }) => o.Size >= 6 * 1024 * 1024);
        // A multipart object's ETag is "<md5 of the parts' md5s>-<number of parts>".
        assert.deepEqual(archives.map((o: { ETag: string }) => /-(\d+)"?$/.exec(o.ETag)?.[1]), ["2"], JSON.stringify(listed[0].Contents));
    });

    it("the role may start, list and abort a multipart upload under its own backup prefix, not under another stack's", async () => {
        const own = await moto.boto(
            [
                { service: "s3", op: "create_multipart_upload", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: `${worlds.dev.outputs.backupPrefix}/abandoned.tar.zst` } },
                { service: "s3", op: "list_parts", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: `${worlds.dev.outputs.backupPrefix}/abandoned.tar.zst`, UploadId: resultOf(0, "UploadId") } },
                { service: "s3", op: "abort_multipart_upload", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: `${worlds.dev.outputs.backupPrefix}/abandoned.tar.zst`, UploadId: resultOf(0, "UploadId") } },
            ],
            worlds.dev.credentials,
        );
        assert.deepEqual(own.map((r) => r.ok), [true, true, true], JSON.stringify(own));
        // Started by prod's role in prod's space; dev's role may neither list nor abort it.
        const key = `${worlds.prod.outputs.backupPrefix}/in-progress.tar.zst`;
        const [started] = await moto.botoOk([{ service: "s3", op: "create_multipart_upload", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: key } }], admin);
        const other = await moto.boto(
            [
                { service: "s3", op: "list_parts", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: key, UploadId: started.UploadId } },
                { service: "s3", op: "abort_multipart_upload", params: { Bucket: worlds.dev.outputs.backupBucketName, Key: key, UploadId: started.UploadId } },
                { service: "s3", op: "create_multipart_upload", params: { Bucket: worlds.prod.outputs.backupBucketName, Key: `${worlds.dev.outputs.backupPrefix}/x.tar.zst` } },
            ],
            worlds.dev.credentials,
        );
        assert.deepEqual(other.map((r) => (r.ok ? "ok" : r.code)), ["AccessDenied", "AccessDenied", "AccessDenied"], JSON.stringify(other));
    });

    it("no more within its own stack: no writes to its releases, no deletes of another stack's backups, no reads of logs, bake logs or another stack's uploads", async () => {
        const dev = worlds.dev.outputs;
        const prod = worlds.prod.outputs;
        // Objects that exist (as the admin), so a refusal cannot be a 404 in disguise.
        const existing: Array<[string, string]> = [
            [dev.backupBucketName, `${prod.backupPrefix}/kept.json`],
            [prod.backupBucketName, `${prod.backupPrefix}/kept.json`],
            [dev.logsBucketName, `${dev.backupLogPrefix}/i-0/stdout`],
            [dev.bakeLogsBucketName, "ami-bake/dev/i-0/stdout"],
            [prod.uploadsBucketName, "user/photo.jpg"],
        ];
        await moto.botoOk(existing.map(([Bucket, Key]) => ({ service: "s3", op: "put_object", params: { Bucket, Key, Body: "kept" } })), admin);
        const attempts: Array<[string, { service: string; op: string; params: Record<string, unknown> }]> = [
            ["PutObject under its own releases/<stack>/ (the releases grant is read-only)", { service: "s3", op: "put_object", params: { Bucket: dev.releaseBucketName, Key: `${dev.releasePrefix}/v9.tar.gz`, Body: "x" } }],
            ["DeleteObject under prod's backup prefix in dev's bucket", { service: "s3", op: "delete_object", params: { Bucket: dev.backupBucketName, Key: existing[0][1] } }],
            ["DeleteObject in prod's backup bucket", { service: "s3", op: "delete_object", params: { Bucket: prod.backupBucketName, Key: existing[1][1] } }],
            ["GetObject of its own command output in the logs bucket (write-only)", { service: "s3", op: "get_object", params: { Bucket: dev.logsBucketName, Key: existing[2][1] } }],
            ["ListObjectsV2 of the logs bucket", { service: "s3", op: "list_objects_v2", params: { Bucket: dev.logsBucketName } }],
            ["PutObject into prod's command-output prefix", { service: "s3", op: "put_object", params: { Bucket: dev.logsBucketName, Key: `${prod.backupLogPrefix}/i-0/stdout`, Body: "x" } }],
            ["GetObject in the bake-logs bucket", { service: "s3", op: "get_object", params: { Bucket: dev.bakeLogsBucketName, Key: existing[3][1] } }],
            ["GetObject in prod's uploads bucket", { service: "s3", op: "get_object", params: { Bucket: prod.uploadsBucketName, Key: existing[4][1] } }],
            ["ListObjectsV2 of prod's uploads bucket", { service: "s3", op: "list_objects_v2", params: { Bucket: prod.uploadsBucketName } }],
        ];
        const results = await moto.boto(attempts.map(([, call]) => call), worlds.dev.credentials);
        assert.deepEqual(
            results.map((r, i) => `${attempts[i][0]}: ${r.ok ? "allowed" : r.code}`),
            attempts.map(([what]) => `${what}: AccessDenied`),
        );
        const after = await moto.boto([...existing.map(([Bucket, Key]) => ({ service: "s3", op: "head_object", params: { Bucket, Key } })), { service: "s3", op: "head_object", params: { Bucket: dev.releaseBucketName, Key: `${dev.releasePrefix}/v9.tar.gz` } }], admin);
        assert.deepEqual(after.map((r) => r.ok), [...existing.map(() => true), false], "nothing deleted, nothing released");
    });

    it("backup.sh is refused (AccessDenied, exit 4) on another stack's prefix and on another stack's bucket", async () => {
        const dev = worlds.dev;
        const src = makeSource("www-cross");
        for (const [what, over] of [
            ["prod's prefix in dev's bucket", { prefix: worlds.prod.outputs.backupPrefix }],
            ["prod's bucket, under dev's own prefix", { bucket: worlds.prod.outputs.backupBucketName }],
        ] as const) {
            const state = fs.mkdtempSync(path.join(dir, "state-cross-"));
            const r = await run(BACKUP, backupArgs(dev, src, state, over), dev.credentials);
            assert.equal(r.code, EX_S3, `${what}: ${dump(r)}`);
            assert.match(r.stderr, /AccessDenied|Access Denied|403/, what);
            assert.doesNotMatch(r.stdout, /^snapshot\t/m, `${what}: no snapshot reported`);
        }
        const prodKeys = await moto.botoOk([{ service: "s3", op: "list_objects_v2", params: { Bucket: worlds.prod.outputs.backupBucketName, Prefix: "backups/dev/" } }], admin);
        assert.equal((prodKeys[0].Contents ?? []).length, 0, "nothing written into prod's bucket");
    });

    describe("drill.sh (the restore drill runs with the same role)", () => {
        const drillArgs = (w: StackWorld, expect: string, over: { bucket?: string; prefix?: string } = {}) => [
            "--bucket", over.bucket ?? w.outputs.backupBucketName, "--prefix", over.prefix ?? w.outputs.backupPrefix, "--stack", w.stack, "--expect", expect,
            "--scratch-dir", fs.mkdtempSync(path.join(dir, "drill-scratch-")), "--lock-file", path.join(dir, `drill-${w.stack}.lock`), "--reserve-bytes", "0",
        ];
        const drilledMetrics = async (stack: string) => {
            const [listed] = await moto.botoOk([{ service: "cloudwatch", op: "list_metrics", params: { Namespace: METRICS_NAMESPACE, MetricName: "RestoreDrillSuccess" } }], admin);
            return (listed.Metrics as Array<{ Dimensions: Array<{ Name: string; Value: string }> }>).filter((m) => m.Dimensions.some((d) => d.Name === "Stack" && d.Value === stack));
        };

        it("with the web role: reads the stack's backup prefix, restores the whole chain, verifies it and publishes RestoreDrillSuccess/Seconds (PutMetricData authorized by the role's grant)", async () => {
            const w = worlds.dev;
            const r = await run(DRILL, drillArgs(w, path.join(dir, "www-dev")), w.credentials);
            assert.equal(r.code, 0, dump(r));
            assert.match(r.stdout, new RegExp(`^drill\\t${IID}\\t[^\\t]+\\t\\d{8}T\\d{6}\\.\\d{3}Z\\t2\\t.*\\tok\\t`, "m"), "the full and the incremental, verified");
            assert.equal((await drilledMetrics("dev")).length, 2, "Stack+Directory and Stack+InstanceId+Directory");
        });

        it("without the role's metrics grant the same drill verifies everything but cannot publish: exit 11 (moto refuses PutMetricData), so the not-run alarm fires", async () => {
            const w = worlds.dev;
            const withoutMetrics = w.policies.filter((p) => !JSON.parse(p.document).Statement.some((st: { Action: unknown }) => JSON.stringify(st.Action).includes("cloudwatch:")));
            assert.equal(withoutMetrics.length, w.policies.length - 1, "exactly one of the role's policies grants CloudWatch");
            const user = "web-dev-no-metrics";
            const created = await moto.botoOk(
                [
                    { service: "iam", op: "create_user", params: { UserName: user } },
                    ...withoutMetrics.map((p) => ({ service: "iam", op: "put_user_policy", params: { UserName: user, PolicyName: p.name, PolicyDocument: inMoto(p.document.split(w.outputs.databaseSecretArn).join(w.secretArn)) } })),
                    { service: "iam", op: "create_access_key", params: { UserName: user } },
                ],
                admin,
            );
            const before = (await drilledMetrics("dev")).length;
            const r = await run(DRILL, drillArgs(w, path.join(dir, "www-dev")), created.at(-1).AccessKey);
            assert.equal(r.code, 11, `${DRILL_EXIT_CODES[11]}: ${dump(r)}`);
            assert.match(r.stdout, /\tok\t/, "the directory itself verified");
            assert.match(r.stderr, /AccessDenied|not authorized/);
            assert.equal((await drilledMetrics("dev")).length, before);
        });

        it("is refused (exit 4, nothing published) on another stack's bucket, whose backups exist", async () => {
            const dev = worlds.dev;
            const before = (await drilledMetrics("dev")).length;
            const r = await run(DRILL, drillArgs(dev, path.join(dir, "www-prod"), { bucket: worlds.prod.outputs.backupBucketName, prefix: worlds.prod.outputs.backupPrefix }), dev.credentials);
            assert.equal(r.code, 4, `${DRILL_EXIT_CODES[4]}: ${dump(r)}`);
            assert.match(r.stderr, /AccessDenied|Access Denied|403/);
            assert.doesNotMatch(r.stdout, /\tok\t/);
            assert.equal((await drilledMetrics("dev")).length, before);
            assert.equal((await drilledMetrics("prod")).length, 0);
        });

        it("the metrics grant is PutMetricData in the backup namespace only (IAM evaluation of the cloudwatch:namespace condition, which moto does not evaluate)", () => {
            for (const stack of ["dev", "prod"]) {
                const statements: EvalStatement[] = worlds[stack].policies.flatMap((p) => JSON.parse(p.document).Statement);
                const put = (namespace: string | undefined) => evaluate(statements, { action: "cloudwatch:PutMetricData", resource: "*", context: { "cloudwatch:namespace": namespace } });
                assert.equal(put(METRICS_NAMESPACE), "allow", stack);
                assert.equal(put("Platform/Other"), "implicit-deny", `${stack}: another namespace`);
                assert.equal(put("AWS/EC2"), "implicit-deny", `${stack}: an AWS namespace`);
                assert.equal(evaluate(statements, { action: "cloudwatch:PutMetricAlarm", resource: "*", context: {} }), "implicit-deny", `${stack}: no other CloudWatch action`);
                assert.equal(evaluate(statements, { action: "cloudwatch:GetMetricData", resource: "*", context: {} }), "implicit-deny", `${stack}: no CloudWatch read either`);
            }
        });
    });

    it("restore.sh is refused (exit 4) on another stack's bucket, whose backups exist", async () => {
        const dev = worlds.dev;
        const r = await run(RESTORE, restoreArgs(dev, path.join(dir, "www-prod"), path.join(dir, "stolen"), { bucket: worlds.prod.outputs.backupBucketName, prefix: worlds.prod.outputs.backupPrefix }), dev.credentials);
        assert.equal(r.code, EX_S3, dump(r));
        assert.ok(!fs.existsSync(path.join(dir, "stolen")), "nothing restored");
    });

    describe("deploy.sh", () => {
        let server: http.Server;
        let port: number;
        let bin: string;

        /** Packs files as <version>.tar.gz with its sha256 into `releases/<stack>/` (as the admin: `npm run ops -- deploy` uploads). */
        async function publish(w: StackWorld, version: string, bucket = w.outputs.releaseBucketName, prefix = w.outputs.releasePrefix) {
            const src = fs.mkdtempSync(path.join(dir, "release-"));
            fs.writeFileSync(path.join(src, "index.html"), `<h1>${version}</h1>\n`);
            fs.writeFileSync(path.join(src, "healthz"), "ok\n");
            const archive = path.join(dir, `${version}-${w.stack}.tar.gz`);
            assert.equal(spawnSync("tar", ["-czf", archive, "-C", src, "."]).status, 0);
            const bytes = fs.readFileSync(archive);
            const sha = crypto.createHash("sha256").update(bytes).digest("hex");
            const s3 = new S3Client({ region: "us-east-1", endpoint: moto.endpoint, forcePathStyle: true, credentials: { accessKeyId: admin.AccessKeyId, secretAccessKey: admin.SecretAccessKey } });
            try {
                await unmocked(s3).send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${version}.tar.gz`, Body: bytes }));
                await unmocked(s3).send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${version}.tar.gz.sha256`, Body: `${sha}  ${version}.tar.gz\n` }));
            } finally {
                s3.destroy();
            }
        }

        before(async () => {
            // The app: files of the current release over HTTP (what nginx serves on an instance).
            port = await freePort();
            server = http.createServer((req, res) => {
                const file = path.join(dir, "app", "current", decodeURIComponent(req.url ?? "/").replace(/^\/+/, ""));
                fs.readFile(file, (err, data) => {
                    res.statusCode = err ? 404 : 200;
                    res.end(err ? "" : data);
                });
            });
            await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
            // No systemd here: restarting the app unit is a no-op for a server that reads files per request.
            bin = path.join(dir, "deploy-bin");
            fs.mkdirSync(bin);
            fs.writeFileSync(path.join(bin, "systemctl"), '#!/bin/bash\n[ "$1" = restart ] && [ "$2" = platform-app.service ] && exit 0\necho "systemctl stand-in: $*" >&2\nexit 1\n', { mode: 0o755 });
        });
        after(async () => {
            if (server) await new Promise((r) => server.close(r));
        });

        const deploy = (w: StackWorld, release: string, over: { bucket?: string; prefix?: string } = {}) =>
            run(DEPLOY, ["--bucket", over.bucket ?? w.outputs.releaseBucketName, "--prefix", over.prefix ?? w.outputs.releasePrefix, "--release", release, "--app-dir", path.join(dir, "app"), "--port", String(port), "--health-path", "/healthz", "--health-timeout", "2"], w.credentials, { PATH: `${bin}:${moto.env.PATH}` });

        it("installs a release from the stack's releases/<stack>/ with the web role", async () => {
            await publish(worlds.dev, "v1");
            const r = await deploy(worlds.dev, "v1");
            assert.equal(r.code, 0, dump(r));
            assert.ok(DEPLOY_EXIT_CODES[4], "exit 4 (S3 download failed) is documented");
            assert.match(r.stderr, /checksum verified: [0-9a-f]{64}/);
            assert.match(r.stdout, /^platform-deploy: OK v1 \(previous none\)$/m);
            assert.equal(fs.readFileSync(path.join(dir, "app", "current", "index.html"), "utf8"), "<h1>v1</h1>\n");
        });

        it("is refused on another stack's releases (exit 4, nothing switched)", async () => {
            await publish(worlds.prod, "p1");
            await publish(worlds.prod, "p2", worlds.dev.outputs.releaseBucketName, worlds.prod.outputs.releasePrefix);
            for (const [what, over] of [
                ["prod's bucket", { bucket: worlds.prod.outputs.releaseBucketName, prefix: worlds.prod.outputs.releasePrefix }],
                ["prod's prefix in dev's bucket", { prefix: worlds.prod.outputs.releasePrefix }],
            ] as const) {
                const r = await deploy(worlds.dev, what === "prod's bucket" ? "p1" : "p2", over);
                assert.equal(r.code, 4, `${what}: ${dump(r)}`);
                assert.match(r.stderr, /AccessDenied|Access Denied|403/, what);
                assert.equal(fs.readlinkSync(path.join(dir, "app", "current")), "releases/v1", `${what}: still v1`);
            }
        });
    });

    describe("db-bootstrap.sh's secret read", () => {
        // moto authorizes Secrets Manager calls against Resource "*" only, so the role's grant on
        // its own secret's exact ARN matches nothing there and its own secret is refused too: this
        // run proves the exit-5 path, not the scoping (the IAM evaluation below proves that). The
        // own-secret assertion fails once moto judges resources, and then turns this into a test
        // of the scoping as well.
        it("a refused secret read (AccessDeniedException) ends db-bootstrap.sh with exit 5, before any database connection; in moto the role's own secret is refused too", async () => {
            const dev = worlds.dev;
            const sql = path.join(dir, "bootstrap.sql");
            fs.writeFileSync(sql, "SELECT 1;\n");
            assert.ok(DB_BOOTSTRAP_EXIT_CODES[5], "exit 5 is documented");
            for (const [what, secretArn] of [
                ["another stack's secret", worlds.prod.secretArn],
                ["its own secret (moto: Resource \"*\" only)", dev.secretArn],
            ]) {
                const r = await run(DB_BOOTSTRAP, ["--engine", "postgres", "--host", "127.0.0.1", "--port", "1", "--database", "app", "--user", "app_user", "--secret-arn", secretArn, "--sql", sql, "--ca-bundle", sql], dev.credentials);
                assert.equal(r.code, 5, `${what}: ${dump(r)}`);
                assert.match(r.stderr, /AccessDenied/, what);
            }
        });

        it("the role's grant names exactly its own master secret (IAM evaluation; moto cannot judge Secrets Manager resources)", () => {
            for (const stack of ["dev", "prod"]) {
                const w = worlds[stack];
                const statements = w.policies.flatMap((p) => JSON.parse(p.document).Statement as EvalStatement[]);
                const allowed = (resource: string) => evaluate(statements, { action: "secretsmanager:GetSecretValue", resource, context: {} }) === "allow";
                assert.equal(allowed(w.outputs.databaseSecretArn), true, `${stack}: its own master secret`);
                const other = worlds[stack === "dev" ? "prod" : "dev"].outputs.databaseSecretArn;
                assert.equal(allowed(other), false, `${stack}: not the other stack's`);
                assert.equal(allowed(`${w.outputs.databaseSecretArn.slice(0, -6)}zzzzzz`), false, `${stack}: not a secret of the same name created again`);
            }
        });
    });
});
