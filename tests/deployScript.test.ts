/**
 * components/ssm/deploy.sh for real: releases in a local S3 server (s3rver, with the real AWS
 * CLI v2 through tests/helpers/s3server.ts), served by real nginx with the default app's config
 * (tests/helpers/nginx.ts). The only stand-in is `systemctl`: there is no systemd in the test
 * machine, so a `systemctl` first on PATH turns `restart platform-app.service` into a reload of
 * the test's nginx (and records the call), which is what the unit's restart amounts to.
 */
import { strict as assert } from "assert";
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DEPLOY_EXIT_CODES } from "../components/app";
import { freePort } from "./support/net";
import { requireTools } from "./support/tools";
import { NGINX, RunningNginx, get, startNginx } from "./helpers/nginx";
import { S3Server, startS3Server } from "./helpers/s3server";
import { tempDir } from "./support/tmp";

const DEPLOY = path.resolve(__dirname, "..", "components/ssm/deploy.sh");
const PREFIX = "releases/dev";

describe("deploy.sh: installing releases from S3 for real", function () {
    this.timeout(120_000);
    let s3: S3Server;
    let nginx: RunningNginx;
    let dir: string;
    let app: string;
    let port: number;
    let env: NodeJS.ProcessEnv;
    let restarts: string;
    let client: S3Client;

    /** Uploads with the SDK (fast: no CLI start per object); the script under test uses the real CLI. */
    async function put(key: string, body: Buffer | string): Promise<void> {
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
    }

    /** Packs `files` as <version>.tar.gz and uploads it with its sha256 (or a wrong one). */
    async function upload(version: string, files: Record<string, string>, opts: { sha256?: string; raw?: Buffer } = {}): Promise<Buffer> {
        const src = fs.mkdtempSync(path.join(dir, "src-"));
        for (const [file, text] of Object.entries(files)) {
            fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
            fs.writeFileSync(path.join(src, file), text);
        }
        const archive = path.join(dir, `${version}.tar.gz`);
        if (opts.raw) fs.writeFileSync(archive, opts.raw);
        else assert.equal(spawnSync("tar", ["-czf", archive, "-C", src, "."]).status, 0);
        const bytes = fs.readFileSync(archive);
        const sha = opts.sha256 ?? crypto.createHash("sha256").update(bytes).digest("hex");
        await put(`${PREFIX}/${version}.tar.gz`, bytes);
        await put(`${PREFIX}/${version}.tar.gz.sha256`, `${sha}  ${version}.tar.gz\n`);
        return bytes;
    }

    async function setPointer(version: string): Promise<void> {
        await put(`${PREFIX}/current`, `${version}\n`);
    }

    function deploy(release: string, extra: string[] = [], appDir = app) {
        const r = spawnSync("bash", [DEPLOY, "--bucket", s3.bucket, "--prefix", PREFIX, "--release", release, "--app-dir", appDir, "--port", String(port), "--health-path", "/healthz", "--health-timeout", "2", ...extra], { env, encoding: "utf8" });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    const current = () => fs.readlinkSync(path.join(app, "current"));
    const releases = () => fs.readdirSync(path.join(app, "releases")).sort();
    const healthy = (version: string) => ({ "index.html": `<h1>${version}</h1>\n`, healthz: "ok\n" });

    before(async function () {
        requireTools(this, ["awsCliV2", "nginx", "curl", "flock", "tar"]);
        dir = tempDir("platform-deploy-");
        s3 = await startS3Server({ bucket: "platform-releases" });
        port = await freePort();
        nginx = await startNginx(dir, { port, healthPath: "/healthz" });
        app = nginx.root;
        const bin = path.join(dir, "bin");
        restarts = path.join(dir, "restarts.log");
        fs.mkdirSync(bin);
        fs.writeFileSync(
            path.join(bin, "systemctl"),
            [
                "#!/bin/bash",
                "# Test stand-in for systemd (none in the test machine): restarting the app reloads the test's nginx.",
                `echo "$*" >> ${restarts}`,
                '# The test\'s nginx is always running.',
                'if [ "$1" = is-active ]; then exit 0; fi',
                'if [ "$1" = restart ] && [ "$2" = platform-app.service ]; then',
                `  exec ${NGINX} -e stderr -p ${dir} -c ${nginx.configFile} -s reload`,
                "fi",
                'echo "systemctl stand-in: unexpected arguments: $*" >&2',
                "exit 1",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        env = { ...s3.env, PATH: `${bin}:${s3.env.PATH}`, LANG: "C", LC_ALL: "C" };
        client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    });
    after(async () => {
        client?.destroy();
        if (nginx) await nginx.stop();
        if (s3) await s3.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("installs a release: checksum verified, new directory, current switched, service restarted, healthy", async () => {
        await upload("v1", { ...healthy("v1"), "css/site.css": "body{}\n" });
        const r = deploy("v1");
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /checksum verified: [0-9a-f]{64}/);
        assert.match(r.stdout, /^platform-deploy: OK v1 \(previous none\)$/m);
        assert.equal(current(), "releases/v1");
        assert.ok(fs.lstatSync(path.join(app, "current")).isSymbolicLink());
        assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, body: "<h1>v1</h1>\n" });
        assert.equal((await get(`http://127.0.0.1:${port}/css/site.css`)).body, "body{}\n");
        assert.match(fs.readFileSync(restarts, "utf8"), /^restart platform-app\.service$/m);
    });

    it("switches atomically (a reader never finds no current release) and keeps the previous release", async () => {
        await upload("v2", healthy("v2"));
        // A reader hammering the current release while the switch happens.
        const stop = path.join(dir, "stop-reader");
        const reader: ChildProcess = spawn("bash", ["-c", `n=0; miss=0; while [ ! -e '${stop}' ]; do [ -f '${app}/current/index.html' ] || miss=$((miss+1)); n=$((n+1)); done; echo "$n $miss"`], { stdio: ["ignore", "pipe", "inherit"] });
        let counts = "";
        reader.stdout!.on("data", (d) => (counts += d.toString()));
        const done = new Promise((resolve) => reader.once("exit", resolve));
        await new Promise((r) => setTimeout(r, 200));
        const r = deploy("v2");
        fs.writeFileSync(stop, "");
        await done;
        assert.equal(r.code, 0, r.stderr);
        const [reads, misses] = counts.trim().split(" ").map(Number);
        assert.ok(reads > 100, `the reader ran (${reads} reads)`);
        assert.equal(misses, 0, `${misses} of ${reads} reads found no current release`);
        assert.equal(current(), "releases/v2");
        assert.deepEqual(releases(), ["v1", "v2"]);
        assert.equal((await get(`http://127.0.0.1:${port}/`)).body, "<h1>v2</h1>\n");
    });

    it("refuses a corrupted artifact (exit 5): nothing extracted, nothing switched", async () => {
        const good = await upload("v3", healthy("v3"));
        // The stored object is changed after its checksum was published (bit rot, tampering).
        const corrupt = Buffer.from(good);
        corrupt[corrupt.length - 10] ^= 0xff;
        await put(`${PREFIX}/v3.tar.gz`, corrupt);
        const r = deploy("v3");
        assert.equal(r.code, 5, r.stderr);
        assert.equal(DEPLOY_EXIT_CODES[5], "checksum mismatch: nothing switched");
        assert.match(r.stderr, /checksum mismatch for v3\.tar\.gz: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was switched/);
        assert.equal(current(), "releases/v2");
        assert.deepEqual(releases(), ["v1", "v2"], "no v3 directory and no staging left behind");
        // A checksum file that holds no checksum is refused the same way.
        await upload("v3b", healthy("v3b"), { sha256: "not-a-checksum" });
        assert.equal(deploy("v3b").code, 5);
        assert.equal(current(), "releases/v2");
    });

    it("rolls back to the previous release when the new one fails its health check (exit 7), keeping the previous", async () => {
        await upload("v4", { "index.html": "<h1>v4 without a health file</h1>\n" });
        const before = fs.readFileSync(restarts, "utf8").split("\n").length;
        const r = deploy("v4");
        assert.equal(r.code, 7, r.stderr);
        assert.match(r.stderr, /release v4 is unhealthy: \/healthz did not answer on port \d+ within 2s/);
        assert.match(r.stderr, /rolled back to release v2 \(healthy\); release v4 was removed/);
        assert.equal(current(), "releases/v2");
        assert.deepEqual(releases(), ["v1", "v2"]);
        assert.deepEqual(await get(`http://127.0.0.1:${port}/healthz`), { status: 200, body: "ok\n" });
        assert.equal((await get(`http://127.0.0.1:${port}/`)).body, "<h1>v2</h1>\n");
        // Restarted for the new release, then again for the rollback.
        assert.equal(fs.readFileSync(restarts, "utf8").split("\n").length - before, 2);
    });

    it("with no previous release to return to, an unhealthy release exits 8", async () => {
        // A fresh instance whose app never answers (nothing listens on this port).
        const fresh = path.join(dir, "fresh-app");
        const silent = ["--port", String(port + 1 === 65536 ? port - 1 : port + 1)];
        const r = deploy("v4-broken-first", silent, fresh);
        assert.equal(r.code, 3, r.stderr);
        await upload("v4-broken-first", { "index.html": "no health file\n" });
        const again = deploy("v4-broken-first", silent, fresh);
        assert.equal(again.code, 8, again.stderr);
        assert.match(again.stderr, /no previous release to roll back to; this instance is unhealthy/);
    });

    it("installs the stack's current release at boot: none yet is fine with --missing-ok; then the pointer's version; then nothing to do", async () => {
        const none = deploy("current", ["--missing-ok"]);
        assert.equal(none.code, 0, none.stderr);
        assert.match(none.stderr, /no current release under s3:\/\/platform-releases\/releases\/dev\/ yet: keeping what is installed/);
        assert.equal(deploy("current").code, 3);
        await setPointer("v1");
        const boot = deploy("current", ["--missing-ok"]);
        assert.equal(boot.code, 0, boot.stderr);
        assert.match(boot.stderr, /current release of the stack: v1/);
        assert.equal(current(), "releases/v1");
        assert.equal((await get(`http://127.0.0.1:${port}/`)).body, "<h1>v1</h1>\n");
        const again = deploy("current", ["--missing-ok"]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /OK v1 \(already current\)/);
    });

    it("refuses a missing version (3), an archive with paths outside its directory (6) and bad arguments (2)", async () => {
        assert.equal(deploy("v999").code, 3);
        // A member "a/../../escaped" (a crafted archive): GNU tar refuses it rather than write
        // outside the release directory.
        const src = fs.mkdtempSync(path.join(dir, "evil-"));
        fs.writeFileSync(path.join(src, "escaped"), "outside\n");
        const evil = path.join(dir, "evil.tar.gz");
        assert.equal(spawnSync("tar", ["-czf", evil, "-C", src, "--transform", "s,^,a/../../,", "escaped"]).status, 0);
        assert.match(spawnSync("tar", ["-tzf", evil], { encoding: "utf8" }).stdout, /^a\/\.\.\/\.\.\/escaped$/m);
        await upload("v6-evil", {}, { raw: fs.readFileSync(evil) });
        const r = deploy("v6-evil");
        assert.equal(r.code, 6, r.stderr);
        assert.equal(current(), "releases/v1");
        assert.ok(!fs.existsSync(path.join(app, "escaped")) && !fs.existsSync(path.join(app, "releases", "escaped")));
        await upload("v6-garbage", {}, { raw: Buffer.from("this is not a gzip archive") });
        assert.equal(deploy("v6-garbage").code, 6);
        for (const bad of ["../v1", "v1;reboot", "-v1"]) assert.equal(deploy(bad).code, 2, bad);
        assert.equal(deploy("v1", ["--port", "99999"]).code, 2);
    });

    it("keeps --keep releases (the current, the previous and the newest others) and refuses to run twice at once (9)", async () => {
        for (const v of ["v7", "v8", "v9"]) {
            await upload(v, healthy(v));
            assert.equal(deploy(v, ["--keep", "3"]).code, 0);
        }
        assert.equal(current(), "releases/v9");
        assert.deepEqual(releases(), ["v7", "v8", "v9"]);
        const holder = spawn("flock", [path.join(app, ".deploy.lock"), "sleep", "5"]);
        try {
            spawnSync("sleep", ["0.3"]);
            const r = deploy("v8");
            assert.equal(r.code, 9, r.stderr);
            assert.match(r.stderr, /another deploy is running/);
        } finally {
            holder.kill();
        }
    });
});
