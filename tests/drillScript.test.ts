/**
 * Real runs of components/ssm/drill.sh (with the restore.sh it runs and lib.sh) against backups the
 * real backup.sh made, on a local S3 (s3rver) behind the proxy that answers as S3 answers the web
 * role's exact backup grant (403 for a missing key: tests/helpers/s3child.ts), with the real AWS
 * CLI v2. CloudWatch calls go, through the same CLI, to a loopback PutMetricData endpoint that
 * enforces the planned metrics policy (the cloudwatch:namespace condition) and records what the CLI
 * sent (tests/helpers/metricsServer.ts).
 *
 * The good backups are made once (before); tests that break something copy the objects they need
 * to a prefix of their own (under the granted one) and break the copy.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DRILL_EXIT_CODES, METRICS_NAMESPACE, metricsPolicyDocument } from "../components/backup";
import { grantPolicyDocument, PolicyDocument } from "../components/bucket";
import { MetricsServer, RecordedCall, startMetricsServer } from "./helpers/metricsServer";
import { S3Server, startS3Server } from "./helpers/s3server";
import { arrayAssignment } from "./helpers/shellCommands";
import { requireTools, RequirementName } from "./support/tools";
import { tempDir } from "./support/tmp";

const ROOT = path.resolve(__dirname, "..");
const SSM = path.join(ROOT, "components/ssm");
const DRILL = path.join(SSM, "drill.sh");
const BACKUP = path.join(SSM, "backup.sh");
const TOOLS: RequirementName[] = ["awsCliV2", "zstd", "flock", "tar", "root"];

const BUCKET = "platform-backups";
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const GRANTED = "backups/test";
const GOOD = `${GRANTED}/good`;
const STACK = "test";

interface Line {
    instance: string;
    slug: string;
    snapshot: string;
    chain: string;
    archiveBytes: string;
    entries: string;
    bytes: string;
    seconds: string;
    mode: string;
    verdict: string;
    detail: string;
}

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    lines: Line[];
}

function parseLines(stdout: string): Line[] {
    return stdout
        .split("\n")
        .filter((l) => l.startsWith("drill\t"))
        .map((l) => {
            const f = l.split("\t");
            assert.equal(f.length, 12, `a drill line has 12 fields: ${JSON.stringify(l)}`);
            const [, instance, slug, snapshot, chain, archiveBytes, entries, bytes, seconds, mode, verdict, detail] = f;
            return { instance, slug, snapshot, chain, archiveBytes, entries, bytes, seconds, mode, verdict, detail };
        });
}

/** What a restore of `root` holds: every name below it, and the apparent bytes of its regular files, each inode once. */
function treeCounts(root: string, exclude: (name: string) => boolean = () => false): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    const seen = new Set<string>();
    const walk = (dir: string) => {
        for (const name of fs.readdirSync(dir)) {
            if (exclude(name)) continue;
            const p = path.join(dir, name);
            const st = fs.lstatSync(p, { bigint: true });
            entries++;
            if (st.isFile() && !seen.has(`${st.dev}:${st.ino}`)) {
                seen.add(`${st.dev}:${st.ino}`);
                bytes += Number(st.size);
            }
            if (st.isDirectory()) walk(p);
        }
    };
    walk(root);
    return { entries, bytes };
}

describe("restore drill (drill.sh) against a local S3 with backups made by backup.sh", function () {
    // A safety net, not a measure (a loaded 2-core machine starts the AWS CLI in seconds).
    this.timeout(360000);
    let s3: S3Server;
    let cw: MetricsServer;
    let work: string;
    let scratch: string;
    let binDir: string;
    const GRANT: PolicyDocument = grantPolicyDocument("readwrite", BUCKET_ARN, `${GRANTED}/`, undefined);
    const www = () => path.join(work, "src", "www");
    const etc = () => path.join(work, "src", "etc");
    /** Per source directory and instance: the counts of the tree its latest snapshot holds. */
    const expected = new Map<string, { entries: number; bytes: number; chain: number }>();
    let backupCalls: RecordedCall[] = [];
    const slugOf = (dir: string) => {
        const r = spawnSync("bash", ["-c", `source ${JSON.stringify(path.join(SSM, "lib.sh"))}; slugify "$1"; printf %s "$REPLY"`, "_", dir], { encoding: "utf8" });
        return r.stdout;
    };

    const env = (extra: NodeJS.ProcessEnv = {}) => ({ ...cw.env, PATH: `${binDir}:${cw.env.PATH}`, LANG: "C", LC_ALL: "C", ...extra });
    const drillArgs = (prefix: string, ...extra: string[]) => [
        "--bucket", BUCKET, "--prefix", prefix, "--stack", STACK, "--scratch-dir", scratch, "--lock-file", path.join(work, "drill.lock"), "--reserve-bytes", "0", ...extra,
    ];
    const drill = (args: string[], extra: NodeJS.ProcessEnv = {}): Run => {
        const r = spawnSync("/bin/bash", [DRILL, ...args], { env: env(extra), encoding: "utf8", timeout: 300000 });
        if (r.error) throw r.error;
        // Whatever happened, the drill leaves nothing in its scratch directory.
        assert.deepStrictEqual(scratchLeft(), [], `scratch directory not empty after the drill; stderr:\n${r.stderr}`);
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: parseLines(r.stdout) };
    };
    const backup = (instance: string, dir: string) => {
        const r = spawnSync(
            "/bin/bash",
            [BACKUP, "--bucket", BUCKET, "--prefix", GOOD, "--instance-id", instance, "--state-dir", path.join(work, `state-${instance}`), "--lock-file", path.join(work, "backup.lock"),
                "--exclude", "*.tmp", "--stack", STACK, dir],
            { env: env(), encoding: "utf8", timeout: 120000 },
        );
        assert.equal(r.status, 0, `backup of ${dir} on ${instance}: ${r.stderr}`);
        const counts = treeCounts(dir, (n) => n.endsWith(".tmp"));
        const key = `${instance} ${slugOf(dir)}`;
        expected.set(key, { ...counts, chain: (expected.get(key)?.chain ?? 0) + 1 });
        return r.stdout.split("\t")[2];
    };
    /** s3rver keeps each object as a file under its key's directories: a prefix is a directory. */
    const storage = (key: string) => path.join(s3.dir, s3.bucket, ...key.split("/"));
    const copyPrefix = (from: string, to: string) => fs.cpSync(storage(from), storage(to), { recursive: true });
    const objectFile = (key: string) => {
        const parts = key.split("/");
        const last = parts.pop()!;
        return path.join(s3.dir, s3.bucket, ...parts, `${last}._S3rver_object`);
    };
    const awsCli = (args: string[]) => {
        const r = spawnSync("aws", args, { env: env(), encoding: "utf8", timeout: 60000 });
        assert.equal(r.status, 0, `aws ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
    };
    const scratchLeft = () => (fs.existsSync(scratch) ? fs.readdirSync(scratch) : []);
    const drillCalls = (calls: RecordedCall[]) => calls.flatMap((c) => c.data.map((d) => ({ ns: c.namespace, ...d })));

    before(async function () {
        requireTools(this, TOOLS);
        work = tempDir("drill-test-");
        scratch = path.join(work, "scratch");
        s3 = await startS3Server({ bucket: BUCKET, policy: GRANT });
        cw = await startMetricsServer(s3, metricsPolicyDocument());
        // A third wrapper layer, for the SIGTERM test: downloads to stdout slowed to the given rate.
        binDir = path.join(work, "bin");
        fs.mkdirSync(binDir);
        fs.writeFileSync(
            path.join(binDir, "aws"),
            [
                "#!/bin/bash",
                `if [ -n "\${DRILL_TEST_DOWNLOAD_BPS:-}" ] && [ "$1" = s3 ] && [ "$2" = cp ] && [ "\${*: -1}" = - ]; then`,
                `  ${JSON.stringify(path.join(cw.binDir, "aws"))} "$@" | ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(s3.binDir, "throttle.js"))} "$DRILL_TEST_DOWNLOAD_BPS"`,
                '  exit "${PIPESTATUS[0]}"',
                "fi",
                `exec ${JSON.stringify(path.join(cw.binDir, "aws"))} "$@"`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );

        // www: a full and two incrementals on i-aaa (changes, additions, deletions between them), a full on i-bbb; etc: a full on i-aaa.
        const p = (...x: string[]) => path.join(www(), ...x);
        fs.mkdirSync(p("assets", "img"), { recursive: true });
        fs.mkdirSync(p("empty"));
        fs.writeFileSync(p("index.html"), "<h1>hello</h1>\n");
        fs.writeFileSync(p("assets", "img", "logo.bin"), crypto.randomBytes(300_000));
        fs.writeFileSync(p("assets", "app.js"), "console.log(1)\n".repeat(1000));
        fs.symlinkSync("index.html", p("home.html"));
        fs.linkSync(p("index.html"), p("index-hardlink.html"));
        fs.writeFileSync(p("new\nline and ünï \"q\" \\b"), "odd name");
        fs.writeFileSync(p("scratch.tmp"), "excluded");
        const fd = fs.openSync(p("sparse.img"), "w");
        fs.writeSync(fd, Buffer.from("tail"), 0, 4, 8 * 1024 * 1024);
        fs.closeSync(fd);
        fs.mkdirSync(path.join(etc(), "conf.d"), { recursive: true });
        fs.writeFileSync(path.join(etc(), "platform.conf"), "a=1\n");
        fs.writeFileSync(path.join(etc(), "conf.d", "x.conf"), "x=2\n");

        backup("i-aaa", www());
        backup("i-bbb", www());
        fs.rmSync(p("assets", "app.js"));
        fs.writeFileSync(p("index.html"), "<h1>hello, again</h1>\n");
        fs.mkdirSync(p("added"));
        fs.writeFileSync(p("added", "a.txt"), "added");
        backup("i-aaa", www());
        fs.rmSync(p("empty"), { recursive: true });
        fs.writeFileSync(p("added", "b.txt"), "b".repeat(5000));
        backup("i-aaa", www());
        backup("i-aaa", etc());
        backupCalls = cw.takeCalls();
    });

    afterEach(() => {
        if (cw) {
            cw.takeCalls();
            cw.setPolicy(metricsPolicyDocument());
        }
    });

    after(async () => {
        if (cw) await cw.stop();
        if (s3) await s3.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("each committed backup published BackupSuccess=1 for Stack+Directory and Stack+InstanceId+Directory, through the CLI, in the granted namespace", function () {
        assert.equal(backupCalls.length, 5, JSON.stringify(backupCalls));
        const seen = drillCalls(backupCalls).map((d) => `${d.ns} ${d.metricName}=${d.value} ${d.unit} ${JSON.stringify(d.dimensions)}`);
        const dims = (instance: string | undefined, dir: string) => JSON.stringify(instance ? { Stack: STACK, InstanceId: instance, Directory: dir } : { Stack: STACK, Directory: dir });
        const want = (instance: string, dir: string) => [`${METRICS_NAMESPACE} BackupSuccess=1 Count ${dims(undefined, dir)}`, `${METRICS_NAMESPACE} BackupSuccess=1 Count ${dims(instance, dir)}`];
        assert.deepStrictEqual(seen, [...want("i-aaa", www()), ...want("i-bbb", www()), ...want("i-aaa", www()), ...want("i-aaa", www()), ...want("i-aaa", etc())]);
    });

    it("restores the latest snapshot (the whole chain) of every directory of every instance, matches the manifests, removes the copy, publishes success and seconds", function () {
        const r = drill(drillArgs(GOOD, "--expect", www(), "--expect", etc()));
        assert.equal(r.status, 0, r.stderr);
        const got = r.lines.map((l) => [l.instance, l.slug, l.chain, l.entries, l.bytes, l.mode, l.verdict].join(" "));
        const want = [
            ["i-aaa", slugOf(etc())],
            ["i-aaa", slugOf(www())],
            ["i-bbb", slugOf(www())],
        ].map(([instance, slug]) => {
            const e = expected.get(`${instance} ${slug}`)!;
            return [instance, slug, e.chain, e.entries, e.bytes, "extract", "ok"].join(" ");
        });
        assert.deepStrictEqual(got, want);
        assert.ok(expected.get(`i-aaa ${slugOf(www())}`)!.chain === 3, "the chain drilled is a full and two incrementals");
        for (const l of r.lines) {
            assert.match(l.snapshot, /^\d{8}T\d{6}\.\d{3}Z$/);
            assert.match(l.seconds, /^\d+\.\d{3}$/);
            assert.ok(Number(l.archiveBytes) > 0);
            assert.match(l.detail, /^restored; checksums and tree \(\d+ entries, \d+ bytes\) match the manifests$/);
        }
        // Metrics, as the CLI sent them: per directory one call, success and seconds, both dimension sets.
        const calls = cw.takeCalls();
        assert.equal(calls.length, 3);
        for (const [i, call] of calls.entries()) {
            const l = r.lines[i];
            const dir = l.slug === slugOf(www()) ? www() : etc();
            assert.equal(call.namespace, METRICS_NAMESPACE);
            assert.deepStrictEqual(call.data, [
                { metricName: "RestoreDrillSuccess", value: 1, unit: "Count", dimensions: { Stack: STACK, Directory: dir } },
                { metricName: "RestoreDrillSuccess", value: 1, unit: "Count", dimensions: { Stack: STACK, InstanceId: l.instance, Directory: dir } },
                { metricName: "RestoreDrillSeconds", value: Number(l.seconds), unit: "Seconds", dimensions: { Stack: STACK, Directory: dir } },
                { metricName: "RestoreDrillSeconds", value: Number(l.seconds), unit: "Seconds", dimensions: { Stack: STACK, InstanceId: l.instance, Directory: dir } },
            ]);
        }
        assert.match(r.stderr, /every directory restored and verified/);
    });

    it("streams a chain through verification when the scratch file system has no room (auto), and says so", function () {
        const prefix = `${GRANTED}/stream`;
        copyPrefix(`${GOOD}/i-aaa/${slugOf(www())}`, `${prefix}/i-aaa/${slugOf(www())}`);
        const r = drill(drillArgs(prefix, "--reserve-bytes", "100000000000000000"));
        assert.equal(r.status, 0, r.stderr);
        assert.deepStrictEqual(r.lines.map((l) => `${l.chain} ${l.mode} ${l.verdict}`), ["3 stream ok"]);
        for (const l of r.lines) assert.match(l.detail, /^streamed \(no room to extract or --mode stream\): checksums verified, \d+ members \(\d+ bytes\) decompressed and listed, matching the manifests; the tree itself was not extracted$/);
        assert.match(r.stderr, /bytes free, \d+ needed: stream/);
        assert.deepStrictEqual(drillCalls(cw.takeCalls()).map((d) => `${d.metricName}=${d.metricName === "RestoreDrillSuccess" ? d.value : "s"}`), ["RestoreDrillSuccess=1", "RestoreDrillSuccess=1", "RestoreDrillSeconds=s", "RestoreDrillSeconds=s"]);
    });

    /**
     * A prefix of broken copies: i-1corrupt (a flipped byte in the chain's middle archive), i-2entries
     * and i-3bytes (an archive whose tree lacks a name / a byte the manifest records), then i-4good
     * (intact) or i-5missing (the full its chain builds on is gone).
     */
    const brokenPrefix = (name: string, last: "i-4good" | "i-5missing") => {
        const prefix = `${GRANTED}/${name}`;
        const wwwSlug = slugOf(www());
        const etcSlug = slugOf(etc());
        copyPrefix(`${GOOD}/i-aaa/${wwwSlug}`, `${prefix}/i-1corrupt/${wwwSlug}`);
        copyPrefix(`${GOOD}/i-aaa/${etcSlug}`, `${prefix}/i-2entries/${etcSlug}`);
        copyPrefix(`${GOOD}/i-aaa/${etcSlug}`, `${prefix}/i-3bytes/${etcSlug}`);
        if (last === "i-4good") copyPrefix(`${GOOD}/i-bbb/${wwwSlug}`, `${prefix}/i-4good/${wwwSlug}`);
        else {
            copyPrefix(`${GOOD}/i-aaa/${wwwSlug}`, `${prefix}/i-5missing/${wwwSlug}`);
            const full = fs.readdirSync(storage(`${prefix}/i-5missing/${wwwSlug}`)).filter((n) => /^\d{8}T/.test(n)).sort()[0];
            fs.rmSync(storage(`${prefix}/i-5missing/${wwwSlug}/${full}`), { recursive: true });
        }
        // Corrupt the middle of the chain (level 1).
        const snapshots = fs.readdirSync(storage(`${prefix}/i-1corrupt/${wwwSlug}`)).filter((n) => /^\d{8}T/.test(n)).sort();
        const archive = objectFile(`${prefix}/i-1corrupt/${wwwSlug}/${snapshots[1]}/archive.tar.zst`);
        const bytes = fs.readFileSync(archive);
        bytes[Math.floor(bytes.length / 2)] ^= 0xff;
        fs.writeFileSync(archive, bytes);
        // An archive that does not hold what its manifest recorded, with a manifest whose checksum
        // matches it: one name fewer (entries), or one byte fewer (bytes).
        for (const [instance, change] of [["i-2entries", (d: string) => fs.rmSync(path.join(d, "conf.d", "x.conf"))], ["i-3bytes", (d: string) => fs.writeFileSync(path.join(d, "platform.conf"), "a=\n")]] as const) {
            const base = `${prefix}/${instance}/${etcSlug}`;
            const snapshot = fs.readFileSync(objectFile(`${base}/latest`), "utf8").trim();
            const copy = tempDir("drill-tree-");
            fs.cpSync(etc(), copy, { recursive: true });
            change(copy);
            const file = path.join(copy, "..", `${path.basename(copy)}.tar.zst`);
            const made = spawnSync("bash", ["-c", `tar -c --format=posix -C "$1" . | zstd -q -c > "$2"`, "_", copy, file]);
            assert.equal(made.status, 0, String(made.stderr));
            const data = fs.readFileSync(file);
            const sha = crypto.createHash("sha256").update(data).digest("hex");
            const manifestKey = `${base}/${snapshot}/manifest.json`;
            const manifest = fs.readFileSync(objectFile(manifestKey), "utf8");
            const patched = manifest.replace(/"size": \d+, "sha256": "[0-9a-f]{64}"/, `"size": ${data.length}, "sha256": "${sha}"`);
            assert.notEqual(patched, manifest);
            const manifestFile = `${file}.manifest.json`;
            fs.writeFileSync(manifestFile, patched);
            awsCli(["s3", "cp", "--only-show-errors", file, `s3://${BUCKET}/${base}/${snapshot}/archive.tar.zst`]);
            awsCli(["s3", "cp", "--only-show-errors", manifestFile, `s3://${BUCKET}/${manifestKey}`]);
            fs.rmSync(copy, { recursive: true });
            fs.rmSync(file);
            fs.rmSync(manifestFile);
        }
        return prefix;
    };

    it("fails (non-zero, RestoreDrillSuccess=0, no seconds) on a corrupted archive and on a restored tree that differs from the manifest (entries, bytes); drills every other directory; removes every copy", function () {
        const r = drill(drillArgs(brokenPrefix("broken-extract", "i-4good")));
        assert.equal(r.status, 5, r.stderr);
        assert.deepStrictEqual(r.lines.map((l) => `${l.instance} ${l.mode} ${l.verdict}`), ["i-1corrupt extract failed", "i-2entries extract failed", "i-3bytes extract failed", "i-4good extract ok"]);
        assert.match(r.lines[0].detail, /^restore\.sh exit 5: verification failed for s3:\/\/.*archive\.tar\.zst: manifest sha256=/);
        const e = expected.get(`i-aaa ${slugOf(etc())}`)!;
        assert.equal(r.lines[1].detail, `manifest mismatch: the manifest of ${r.lines[1].snapshot} says ${e.entries} entries and ${e.bytes} bytes, the restored tree has ${e.entries - 1} entries and ${e.bytes - 4} bytes`);
        assert.equal(r.lines[2].detail, `manifest mismatch: the manifest of ${r.lines[2].snapshot} says ${e.entries} entries and ${e.bytes} bytes, the restored tree has ${e.entries} entries and ${e.bytes - 1} bytes`);
        const data = drillCalls(cw.takeCalls());
        for (const instance of ["i-1corrupt", "i-2entries", "i-3bytes"]) {
            const mine = data.filter((d) => d.dimensions.InstanceId === instance);
            assert.deepStrictEqual(mine.map((d) => `${d.metricName}=${d.value}`), ["RestoreDrillSuccess=0"], `${instance}: a failure is reported as such and nothing else`);
        }
        assert.deepStrictEqual(data.filter((d) => d.dimensions.InstanceId === "i-4good").map((d) => `${d.metricName}=${d.metricName === "RestoreDrillSuccess" ? d.value : "s"}`), ["RestoreDrillSuccess=1", "RestoreDrillSeconds=s"]);
        assert.equal(data.filter((d) => d.metricName === "RestoreDrillSuccess" && d.value === 1 && d.dimensions.InstanceId !== "i-4good" && d.dimensions.InstanceId !== undefined).length, 0);
    });

    it("in stream mode the same defects fail too: the checksum, the archive's members or bytes against the manifest, a missing chain member", function () {
        const r = drill(drillArgs(brokenPrefix("broken-stream", "i-5missing"), "--mode", "stream"));
        assert.equal(r.status, 5, r.stderr);
        assert.deepStrictEqual(r.lines.map((l) => `${l.instance} ${l.mode} ${l.verdict}`), ["i-1corrupt stream failed", "i-2entries stream failed", "i-3bytes stream failed", "i-5missing none failed"]);
        assert.match(r.lines[3].detail, /^snapshot \S+ not found: s3:\/\/.*\/manifest\.json does not exist$/);
        assert.match(r.lines[0].detail, /^checksum mismatch for s3:\/\/.*archive\.tar\.zst: manifest sha256=[0-9a-f]{64} size=\d+, downloaded sha256=/);
        const m1 = /^manifest mismatch: the manifest of \S+ says (\d+) members and (\d+) bytes, the archive lists (\d+) members and (\d+) bytes$/.exec(r.lines[1].detail);
        assert.ok(m1, r.lines[1].detail);
        assert.deepStrictEqual([Number(m1[1]) - Number(m1[3]), Number(m1[2]) - Number(m1[4])], [1, 4], "one member (of 4 bytes) fewer than the manifest says");
        assert.match(r.lines[2].detail, /^manifest mismatch: the manifest of \S+ says (\d+) members and \d+ bytes, the archive lists \1 members and \d+ bytes$/);
        assert.deepStrictEqual(drillCalls(cw.takeCalls()).filter((d) => d.dimensions.InstanceId !== undefined && d.metricName === "RestoreDrillSuccess").map((d) => `${d.dimensions.InstanceId}=${d.value}`), ["i-1corrupt=0", "i-2entries=0", "i-3bytes=0", "i-5missing=0"]);
    });

    it("a missing chain member (the full a chain builds on) is exit 8, decided by listing (S3 answers 403 for it)", function () {
        const prefix = `${GRANTED}/missing-member`;
        const slug = slugOf(www());
        copyPrefix(`${GOOD}/i-aaa/${slug}`, `${prefix}/i-aaa/${slug}`);
        const full = fs.readdirSync(storage(`${prefix}/i-aaa/${slug}`)).filter((n) => /^\d{8}T/.test(n)).sort()[0];
        fs.rmSync(storage(`${prefix}/i-aaa/${slug}/${full}`), { recursive: true });
        {
            s3.takeRequests();
            const r = drill(drillArgs(prefix));
            assert.equal(r.status, 8, r.stderr);
            assert.equal(r.lines.length, 1);
            assert.equal(r.lines[0].verdict, "failed");
            assert.equal(r.lines[0].detail, `snapshot ${full} not found: s3://${BUCKET}/${prefix}/i-aaa/${slug}/${full}/manifest.json does not exist`);
            assert.ok(s3.takeRequests().includes(`HeadObject ${prefix}/i-aaa/${slug}/${full}/manifest.json 403`), "the 403 S3 gives this role for a missing key");
            assert.deepStrictEqual(drillCalls(cw.takeCalls()).map((d) => `${d.metricName}=${d.value}`), ["RestoreDrillSuccess=0", "RestoreDrillSuccess=0"]);
        }
    });

    it("SIGTERM in the middle of a restore stops it, removes the scratch copy, leaves no process behind and publishes nothing", async function () {
        const prefix = `${GRANTED}/big`;
        const big = path.join(work, "src", "big");
        fs.mkdirSync(big, { recursive: true });
        fs.writeFileSync(path.join(big, "blob.bin"), crypto.randomBytes(12 * 1024 * 1024));
        const r0 = spawnSync("/bin/bash", [BACKUP, "--bucket", BUCKET, "--prefix", prefix, "--instance-id", "i-big", "--state-dir", path.join(work, "state-big"), "--lock-file", path.join(work, "backup.lock"), big], { env: env(), encoding: "utf8" });
        assert.equal(r0.status, 0, r0.stderr);
        const child = spawn("/bin/bash", [DRILL, ...drillArgs(prefix)], { env: env({ DRILL_TEST_DOWNLOAD_BPS: String(1024 * 1024) }), stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d) => (stdout += d));
        child.stderr!.on("data", (d) => (stderr += d));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const staged = () => {
            for (const run of scratchLeft()) {
                for (const d of fs.existsSync(path.join(scratch, run)) ? fs.readdirSync(path.join(scratch, run)) : []) {
                    const stage = path.join(scratch, run, d, "stage");
                    if (fs.existsSync(stage) && fs.readdirSync(stage).length > 0) return true;
                }
            }
            return false;
        };
        const deadline = Date.now() + 60000;
        while (!staged()) {
            assert.ok(Date.now() < deadline, `the drill never started staging; stderr: ${stderr}`);
            await new Promise((r) => setTimeout(r, 50));
        }
        child.kill("SIGTERM");
        assert.equal(await exited, 143, stderr);
        assert.match(stderr, /interrupted by SIGTERM: stopping and removing the scratch copy; nothing is published/);
        assert.equal(parseLines(stdout).length, 0, "no verdict for an interrupted drill");
        await new Promise((r) => setTimeout(r, 500));
        assert.deepStrictEqual(scratchLeft(), [], "scratch copy left (or refilled by a process that survived)");
        const survivors = spawnSync("pgrep", ["-f", scratch], { encoding: "utf8" }).stdout.trim();
        assert.equal(survivors, "", `processes of the drill survived it: ${survivors}`);
        assert.deepStrictEqual(cw.takeCalls(), []);
    });

    it("exit codes: nothing to drill 3, a configured directory without a snapshot 8 (with its failure metric), lock held 6, bad arguments 2", async function () {
        const nothing = drill(drillArgs(`${GRANTED}/nothing-here`));
        assert.equal(nothing.status, 3, nothing.stderr);
        assert.match(nothing.stderr, /nothing to drill: no committed snapshot under s3:\/\/platform-backups\/backups\/test\/nothing-here\//);
        assert.deepStrictEqual(cw.takeCalls(), []);

        const prefix = `${GRANTED}/expect`;
        copyPrefix(`${GOOD}/i-aaa/${slugOf(etc())}`, `${prefix}/i-aaa/${slugOf(etc())}`);
        const missing = drill(drillArgs(prefix, "--expect", etc(), "--expect", "/srv/never-backed-up"));
        assert.equal(missing.status, 8, missing.stderr);
        assert.deepStrictEqual(missing.lines.map((l) => `${l.instance} ${l.slug} ${l.verdict}`), [`i-aaa ${slugOf(etc())} ok`, "- srv-never_2dbacked_2dup failed"]);
        assert.match(missing.lines[1].detail, /^no instance has a committed snapshot of \/srv\/never-backed-up under s3:\/\//);
        assert.deepStrictEqual(
            drillCalls(cw.takeCalls()).filter((d) => d.dimensions.Directory === "/srv/never-backed-up"),
            [{ ns: METRICS_NAMESPACE, metricName: "RestoreDrillSuccess", value: 0, unit: "Count", dimensions: { Stack: STACK, Directory: "/srv/never-backed-up" } }],
        );

        const lock = path.join(work, "drill.lock");
        const holder = spawn("flock", [lock, "sleep", "60"], { stdio: "ignore", detached: true });
        try {
            const deadline = Date.now() + 5000;
            while (spawnSync("flock", ["-n", lock, "true"]).status === 0) {
                assert.ok(Date.now() < deadline, "flock holder did not take the lock");
                await new Promise((r) => setTimeout(r, 20));
            }
            const locked = drill(drillArgs(prefix));
            assert.equal(locked.status, 6, locked.stderr);
            assert.match(locked.stderr, /another drill is running/);
        } finally {
            process.kill(-holder.pid!, "SIGKILL");
        }

        for (const args of [[], ["--bucket", BUCKET, "--prefix", prefix], drillArgs(prefix, "--mode", "maybe"), drillArgs(prefix, "--reserve-bytes", "lots"), drillArgs(prefix, "--scratch-dir", "relative"), drillArgs(prefix, "--metrics-namespace", "AWS/EC2"), drillArgs(prefix, "--bogus")]) {
            const r = drill(args);
            assert.equal(r.status, 2, `${JSON.stringify(args)}: ${r.stderr}`);
            assert.match(r.stderr, /^platform-drill: ERROR: /m);
        }
        assert.deepStrictEqual(cw.takeCalls(), []);
    });

    it("publishing outside the granted namespace is denied by the planned policy: every directory verified, exit 11, nothing published; a scratch copy a killed drill left is removed", function () {
        const prefix = `${GRANTED}/denied-metrics`;
        copyPrefix(`${GOOD}/i-aaa/${slugOf(etc())}`, `${prefix}/i-aaa/${slugOf(etc())}`);
        fs.mkdirSync(path.join(scratch, "drill.KILLED", "d.x", "tree"), { recursive: true });
        fs.writeFileSync(path.join(scratch, "drill.KILLED", "d.x", "tree", "f"), "left by SIGKILL");
        const r = drill(drillArgs(prefix, "--metrics-namespace", "Other/Backups"));
        assert.match(r.stderr, /removing the scratch copy a killed drill left: .*drill\.KILLED/);
        assert.equal(r.status, 11, r.stderr);
        assert.equal(r.lines[0].verdict, "ok");
        assert.match(r.stderr, /ERROR: publishing the drill's metrics for .* failed: .*AccessDenied.*in namespace Other\/Backups/s);
        // (The granted namespace is accepted by the same endpoint: every other test.)
        assert.deepStrictEqual(cw.takeCalls(), []);
    });

    it("a missing tool is exit 9 naming it, before S3 is called; with only the declared tools on PATH the drill runs through; restore.sh must be beside it", function () {
        const tools = arrayAssignment(DRILL, "REQUIRED_TOOLS")!;
        const linkDir = (names: string[]) => {
            const dir = fs.mkdtempSync(path.join(work, "path-"));
            for (const t of names) {
                const real = t === "aws" ? path.join(binDir, "aws") : spawnSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim();
                assert.ok(real, `${t} is not installed here`);
                fs.symlinkSync(real, path.join(dir, t));
            }
            return dir;
        };
        const prefix = `${GRANTED}/minimal`;
        copyPrefix(`${GOOD}/i-aaa/${slugOf(etc())}`, `${prefix}/i-aaa/${slugOf(etc())}`);
        for (const missing of tools) {
            s3.takeRequests();
            const r = drill(drillArgs(prefix), { PATH: linkDir(tools.filter((t) => t !== missing)) });
            assert.equal(r.status, 9, `without ${missing}: ${r.stderr}`);
            assert.match(r.stderr, new RegExp(`required tools missing: ${missing}$`, "m"));
            assert.deepStrictEqual(s3.takeRequests(), [], "S3 was called before the tool check");
        }
        // The wrappers themselves need node, the CLI and a shell: they run outside the declared PATH.
        const r = drill(drillArgs(prefix), { PATH: linkDir(tools) });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.lines[0].verdict, "ok");

        const lonely = fs.mkdtempSync(path.join(work, "lonely-"));
        fs.copyFileSync(DRILL, path.join(lonely, "drill.sh"));
        fs.copyFileSync(path.join(SSM, "lib.sh"), path.join(lonely, "lib.sh"));
        const alone = spawnSync("/bin/bash", [path.join(lonely, "drill.sh"), ...drillArgs(prefix)], { env: env(), encoding: "utf8" });
        assert.equal(alone.status, 9, alone.stderr);
        assert.match(alone.stderr, /restore\.sh is missing: install it beside this script/);
    });

    it("the exit codes the script documents are the ones ops explains", function () {
        const header = fs.readFileSync(DRILL, "utf8").split("\n").filter((l) => /^#   \d+ /.test(l));
        const codes = header.map((l) => Number(/^#   (\d+)/.exec(l)![1])).filter((c) => c > 0 && c < 100);
        assert.deepStrictEqual(codes, Object.keys(DRILL_EXIT_CODES).map(Number));
    });
});
