/**
 * The default app (components/app.ts) for real: the exact nginx configuration user data and the
 * bake write, run by Debian's nginx on loopback ports (only its paths moved under a temp
 * directory), answering the health path with 200 from the release and serving its pages; the
 * unit checked by systemd-analyze; the boot script and deploy.sh checked by shellcheck.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bakePrepareDocumentContent, readBakePrepareScript } from "../components/amiFactory";
import { APP_CONFIG_PATH, APP_SERVICE, DEFAULT_RELEASE, DEPLOY_SCRIPT_PATH, INSTANCE_APP_PATHS, appUnit, defaultReleaseFiles, deployDocumentContent, nginxConfig, readDeployScript } from "../components/app";
import { checkDocument } from "../tools/ssmDocuments";
import { userDataScript } from "../components/webTier";
import { freePort } from "./support/net";
import { requireTools } from "./support/tools";
import { RunningNginx, get, startNginx, tempAppPaths } from "./helpers/nginx";
import { tempDir } from "./support/tmp";

const ROOT = path.resolve(__dirname, "..");

/** The boot script of a stack with these app settings. */
function bootScript(app: { port: number; healthPath: string; extraPorts?: readonly number[] }): string {
    return userDataScript({ app, releases: { bucket: "platform-releases-0123456", prefix: "releases/dev" }, deployScript: readDeployScript() });
}

describe("default app: the generated nginx config served by real nginx", function () {
    this.timeout(30_000);
    let dir: string;
    let nginx: RunningNginx;
    let port: number;
    let extra: number;

    before(async function () {
        requireTools(this, ["nginx"]);
        dir = tempDir("platform-app-");
        [port, extra] = [await freePort(), await freePort()];
        // The built-in release, as user data creates it, and a deployed one.
        const app = path.join(dir, "app");
        for (const [release, files] of [
            [DEFAULT_RELEASE, defaultReleaseFiles("/healthz")],
            ["v1", { "index.html": "<h1>release v1</h1>\n", healthz: "ok\n", "about/index.html": "about v1\n" }],
        ] as const) {
            for (const [file, text] of Object.entries(files)) {
                fs.mkdirSync(path.dirname(path.join(app, "releases", release, file)), { recursive: true });
                fs.writeFileSync(path.join(app, "releases", release, file), text);
            }
        }
        fs.symlinkSync(`releases/${DEFAULT_RELEASE}`, path.join(app, "current"));
        nginx = await startNginx(dir, { port, healthPath: "/healthz", extraPorts: [extra] });
    });
    after(async () => {
        if (nginx) await nginx.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("runs exactly the text user data writes, only the paths moved", () => {
        const onInstance = nginxConfig({ port, healthPath: "/healthz", extraPorts: [extra] });
        const here = fs.readFileSync(nginx.configFile, "utf8");
        const moved = Object.entries(tempAppPaths(dir)).reduce((text, [key, value]) => text.split(value).join((INSTANCE_APP_PATHS as any)[key]), here);
        assert.equal(moved, onInstance);
        // And the boot script embeds that text verbatim (config for port 8080 + 80, as single mode).
        assert.ok(bootScript({ port: 8080, healthPath: "/healthz", extraPorts: [80] }).includes(nginxConfig({ port: 8080, healthPath: "/healthz", extraPorts: [80] })));
    });

    it("answers the health path with 200 on the app port (and the extra port), before any deploy", async () => {
        for (const p of [port, extra]) {
            const health = await get(`http://127.0.0.1:${p}/healthz`);
            assert.equal(health.status, 200);
            assert.equal(health.body, "ok\n");
        }
        const page = await get(`http://127.0.0.1:${port}/`);
        assert.equal(page.status, 200);
        assert.match(page.body, /No release has been deployed yet/);
    });

    it("serves the release `current` points at, switched by replacing the symlink", async () => {
        const app = path.join(dir, "app");
        fs.symlinkSync("releases/v1", path.join(app, ".current.tmp"));
        fs.renameSync(path.join(app, ".current.tmp"), path.join(app, "current"));
        assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, body: "<h1>release v1</h1>\n" });
        assert.deepEqual(await get(`http://127.0.0.1:${port}/about/`), { status: 200, body: "about v1\n" });
        assert.equal((await get(`http://127.0.0.1:${port}/missing.html`)).status, 404);
    });

    it("answers 503 on the health path when the release lacks its health file (a broken release is unhealthy)", async () => {
        fs.rmSync(path.join(dir, "app", "releases", "v1", "healthz"));
        assert.equal((await get(`http://127.0.0.1:${port}/healthz`)).status, 503);
        fs.writeFileSync(path.join(dir, "app", "releases", "v1", "healthz"), "ok\n");
        assert.equal((await get(`http://127.0.0.1:${port}/healthz`)).status, 200);
    });
});

describe("default app: the unit and the boot script", function () {
    this.timeout(30_000);

    it("the unit passes systemd-analyze verify (nginx with the app's config, unprivileged)", function () {
        requireTools(this, ["systemdAnalyze", "nginx"]);
        const dir = tempDir("platform-unit-");
        try {
            for (const [label, app] of [["asg", { port: 8080, healthPath: "/healthz" }], ["single", { port: 8080, healthPath: "/healthz", extraPorts: [80] }]] as const) {
                const unit = appUnit(app);
                const file = path.join(dir, APP_SERVICE);
                fs.writeFileSync(file, unit);
                const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
                assert.equal(r.status, 0, `${label}: ${r.stderr}`);
                assert.equal(r.stderr.split("\n").filter((l) => l.includes(APP_SERVICE)).join("\n"), "", `${label}: ${r.stderr}`);
                assert.match(unit, new RegExp(`^ExecStart=/usr/sbin/nginx -e stderr -c ${APP_CONFIG_PATH} -g 'daemon off;'$`, "m"));
                assert.match(unit, /^User=nginx$/m);
                // Port 80 needs the one capability; the app port alone needs none.
                assert.equal(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m.test(unit), label === "single");
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the boot script and deploy.sh are shellcheck-clean, and the boot script fits EC2's 16 KB user data limit", function () {
        requireTools(this, ["shellcheck"]);
        const dir = tempDir("platform-userdata-");
        try {
            for (const [label, app] of [["asg", { port: 8080, healthPath: "/healthz" }], ["single", { port: 8080, healthPath: "/health/live", extraPorts: [80] }]] as const) {
                const script = bootScript(app);
                // EC2 RunInstances / launch templates: user data is limited to 16 KB before base64.
                assert.ok(Buffer.byteLength(script) < 16 * 1024, `${label} user data is ${Buffer.byteLength(script)} bytes`);
                const file = path.join(dir, `${label}.sh`);
                fs.writeFileSync(file, script);
                const r = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
                assert.equal(r.status, 0, `${label}: ${r.stdout}`);
                assert.ok(script.includes(readDeployScript()), "deploy.sh is embedded verbatim");
                assert.ok(script.includes(`bash ${DEPLOY_SCRIPT_PATH} --bucket 'platform-releases-0123456' --prefix 'releases/dev' --port 8080 --health-path '${app.healthPath}' --release current --missing-ok`));
                assert.doesNotMatch(script.replace(readDeployScript(), ""), /password|secret|access.?key|session.?token/i);
            }
            const deploy = spawnSync("shellcheck", ["-x", path.join(ROOT, "components/ssm/deploy.sh")], { encoding: "utf8" });
            assert.equal(deploy.status, 0, deploy.stdout);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("the deploy and bake-prepare documents' shell, as SSM substitutes it, is shellcheck-clean", function () {
        requireTools(this, ["shellcheck"]);
        const dir = tempDir("platform-docs-");
        try {
            const app = { port: 8080, healthPath: "/healthz" };
            const documents = {
                deploy: deployDocumentContent({ ...app, bucket: "platform-releases-0123456", prefix: "releases/dev", deployScript: readDeployScript(), timeoutSeconds: 600 }),
                "bake-prepare": bakePrepareDocumentContent(readBakePrepareScript(), ["nginx"], { backupDirectories: ["/var/www", "/etc/platform"], bakeApp: { app, bucket: "platform-releases-0123456", prefix: "releases/dev", deployScript: readDeployScript() } }),
            };
            for (const [label, content] of Object.entries(documents)) {
                const values: Record<string, string> = { Release: "1.4.0", Bucket: "platform-releases-0123456", Prefix: "releases/dev", Packages: "nginx" };
                const shell = (content.mainSteps[0].inputs!.runCommand as string[]).join("\n").replace(/\{\{ (\w+) \}\}/g, (_, p: string) => values[p]);
                const file = path.join(dir, `${label}.sh`);
                fs.writeFileSync(file, `#!/bin/bash\n${shell}\n`);
                const r = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
                assert.equal(r.status, 0, `${label}: ${r.stdout}`);
                assert.deepEqual(checkDocument(JSON.stringify(content)), [], label);
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses health paths the default app cannot serve as a release file, and clashing ports", () => {
        assert.throws(() => nginxConfig({ port: 8080, healthPath: "/health?x=1" }), /health path "\/health\?x=1" must match/);
        assert.throws(() => nginxConfig({ port: 8080, healthPath: "/healthz", extraPorts: [8080] }), /ports must be distinct/);
    });
});
