/**
 * The web tier's boot script (user data) for real, as an instance runs it at first boot: in a
 * private mount namespace whose /var, /etc, /srv, /opt and /usr/local are empty temp dirs, with
 * the embedded deploy.sh reading releases through the real AWS CLI v2 from a local S3 server that
 * answers as S3 does for a caller holding exactly the web role's releases grant (403 for what it
 * does not allow), and real nginx serving the app directory with the default app's config.
 * Stand-ins for what a Debian test machine lacks or must not touch: `dnf`/`rpm` (nginx "installs"
 * unless a test makes it fail), `systemctl` (records each call with where `current` points at
 * that moment), `systemd-run` (records the retry it is asked to schedule) and `sleep` (records
 * the delay, returns at once, and can make the role's grant visible after N waits).
 *
 * What it shows, against the AWS behaviour each case depends on:
 * - the app's first start serves the stack's current release, never the placeholder, when one
 *   is set: two passing health checks 15 s apart put a target in service (ELB User Guide,
 *   "Health checks for Application Load Balancer target groups":
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html);
 *   a stack that never deployed starts the placeholder, health file included;
 * - a new instance's first S3 reads are retried with backoff: IAM changes are not always
 *   immediately visible (IAM User Guide, "Troubleshoot IAM", "Changes that I make are not always
 *   immediately visible": https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html);
 * - in an Auto Scaling group a boot that fails leaves nothing serving (the group replaces the
 *   instance); a single instance, which nothing replaces, keeps serving what is installed and
 *   runs the boot again, a bounded number of times (user data itself runs only at first boot:
 *   EC2 User Guide, "Run commands when you launch an EC2 instance with user data input").
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { APP_SERVICE, BOOT_ATTEMPTS, BOOT_RELEASE_RETRY_DELAYS, BOOT_RETRY_UNIT, BootFailure, DEFAULT_RELEASE, NGINX_INSTALL_ATTEMPTS, bootRetryDelaySeconds, readDeployScript } from "../components/app";
import { grantPolicyDocument, PolicyDocument } from "../components/bucket";
import { userDataScript } from "../components/webTier";
import { freePort } from "./support/net";
import { requireTools } from "./support/tools";
import { RunningNginx, get, startNginx } from "./helpers/nginx";
import { S3Server, startS3Server } from "./helpers/s3server";
import { tempDir } from "./support/tmp";

const BUCKET = "platform-releases";
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
/** What the web role holds on the releases bucket (WebTier: grantRead on `releases/<stack>/`). */
const GRANT = grantPolicyDocument("read", BUCKET_ARN, "releases/", undefined);
/** A role whose policies IAM does not show yet: nothing is allowed. */
const NOTHING: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "Nothing", Effect: "Allow", Action: "s3:GetBucketTagging", Resource: "arn:aws:s3:::no-such-bucket" }] };
const EVERYTHING: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "Uploads", Effect: "Allow", Action: "s3:*", Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`] }] };

interface Boot {
    status: number | null;
    stderr: string;
    /** `<systemctl args> current=<link target|none>`, one per call. */
    systemctl: string[];
    sleeps: number[];
    systemdRun: string[];
    dnf: string[];
}

describe("the boot script, run for real: release before the app's first start, retries, failures", function () {
    this.timeout(180_000);
    let s3: S3Server;
    let nginx: RunningNginx;
    let dir: string;
    let port: number;
    let client: S3Client;
    let prefixes = 0;

    before(async function () {
        requireTools(this, ["unshare", "root", "awsCliV2", "nginx", "curl", "flock", "tar"]);
        dir = tempDir("platform-boot-");
        s3 = await startS3Server({ bucket: BUCKET, policy: EVERYTHING });
        port = await freePort();
        nginx = await startNginx(dir, { port, healthPath: "/healthz" });
        client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    });
    after(async () => {
        client?.destroy();
        if (nginx) await nginx.stop();
        if (s3) await s3.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh key prefix per test (what `releases/<stack>` is to a stack). */
    function newPrefix(): string {
        prefixes += 1;
        return `releases/boot${prefixes}`;
    }

    /** Uploads a release (and its sha256, or a wrong one) with every permission, then gives the caller `policy`. */
    async function publish(prefix: string, version: string, files: Record<string, string>, opts: { sha256?: string; pointer?: boolean } = {}): Promise<void> {
        s3.setPolicy(EVERYTHING);
        const src = fs.mkdtempSync(path.join(dir, "src-"));
        for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(src, file), text);
        const archive = path.join(dir, `${version}.tar.gz`);
        assert.equal(spawnSync("tar", ["-czf", archive, "-C", src, "."]).status, 0);
        const bytes = fs.readFileSync(archive);
        const sha = opts.sha256 ?? crypto.createHash("sha256").update(bytes).digest("hex");
        const put = (key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}/${key}`, Body: body }));
        await put(`${version}.tar.gz`, bytes);
        await put(`${version}.tar.gz.sha256`, `${sha}  ${version}.tar.gz\n`);
        if (opts.pointer !== false) await put("current", `${version}\n`);
    }

    /** A machine to boot: empty system directories; the app directory is the one real nginx serves. */
    function machine(): { root: string; mnt: string; state: string; bin: string } {
        for (const entry of fs.readdirSync(nginx.root)) fs.rmSync(path.join(nginx.root, entry), { recursive: true, force: true });
        const root = tempDir("platform-boot-machine-");
        const mnt = path.join(root, "mnt");
        const state = path.join(root, "state");
        const bin = path.join(root, "bin");
        for (const d of ["var/log", "etc", "srv/platform-app", "opt", "usr/local", state, bin].map((d) => (path.isAbsolute(d) ? d : path.join(mnt, d)))) fs.mkdirSync(d, { recursive: true });
        const record = (name: string, extra = "") => `#!/bin/bash\nprintf '%s\\n' "$*" >>${state}/${name}.calls\n${extra}exit 0\n`;
        const stand = (name: string, text: string) => fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
        // Debian reaches awk through /etc/alternatives, which the empty /etc hides: link the real one.
        fs.symlinkSync(fs.realpathSync("/usr/bin/awk"), path.join(bin, "awk"));
        stand("rpm", `#!/bin/bash\n[ -e ${state}/nginx-installed ]\n`);
        stand("dnf", record("dnf", `case "$*" in *" nginx") [ -e ${state}/nginx-fails ] && exit 1; touch ${state}/nginx-installed ;; esac\n`));
        // Keeps the app's state: started by start/restart/enable --now, stopped by stop, asked by is-active.
        stand(
            "systemctl",
            [
                "#!/bin/bash",
                `printf '%s current=%s\\n' "$*" "$(readlink /srv/platform-app/current || echo none)" >>${state}/systemctl.calls`,
                `case "$*" in`,
                `  "start ${APP_SERVICE}" | "restart ${APP_SERVICE}" | "enable --now ${APP_SERVICE}") touch ${state}/active ;;`,
                `  "stop ${APP_SERVICE}") rm -f ${state}/active ;;`,
                `  "is-active --quiet ${APP_SERVICE}") [ -e ${state}/active ] ;;`,
                "esac",
                "",
            ].join("\n"),
        );
        stand("systemd-run", record("systemd-run"));
        // The role's grant becomes visible after the number of waits in grant-after (IAM's propagation).
        stand("sleep", record("sleep", `if [ -e ${state}/grant-after ] && [ "$(wc -l <${state}/sleep.calls)" -ge "$(cat ${state}/grant-after)" ]; then cp ${state}/grant.json ${s3.policyFile}; fi\n`));
        fs.writeFileSync(path.join(state, "grant.json"), JSON.stringify(GRANT));
        return { root, mnt, state, bin };
    }

    function userData(prefix: string, onBootFailure: BootFailure): string {
        return userDataScript({ app: { port, healthPath: "/healthz" }, releases: { bucket: BUCKET, prefix }, deployScript: readDeployScript(), backupDirectories: ["/var/www"], onBootFailure });
    }

    /** Runs `script` (a file, as cloud-init runs user data) on machine `m` as root. */
    function boot(m: ReturnType<typeof machine>, script: string, env: Record<string, string> = {}): Boot {
        const mounts = ["var", "etc", "srv", "opt", "usr/local"].map((t) => `mount --bind ${m.mnt}/${t} /${t}`).join(" && ");
        const r = spawnSync("unshare", ["--mount", "--propagation", "private", "/bin/bash", "-c", `${mounts} && mount --bind ${nginx.root} /srv/platform-app && exec /bin/bash ${script}`], {
            encoding: "utf8",
            env: { ...s3.env, PATH: `${m.bin}:${s3.binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, LANG: "C", LC_ALL: "C", ...env },
        });
        const lines = (name: string) => (fs.existsSync(path.join(m.state, `${name}.calls`)) ? fs.readFileSync(path.join(m.state, `${name}.calls`), "utf8").split("\n").filter(Boolean) : []);
        const result = { status: r.status, stderr: r.stderr, systemctl: lines("systemctl"), sleeps: lines("sleep").map(Number), systemdRun: lines("systemd-run"), dnf: lines("dnf") };
        for (const name of ["systemctl", "sleep", "systemd-run", "dnf"]) fs.rmSync(path.join(m.state, `${name}.calls`), { force: true });
        return result;
    }

    function writeScript(m: ReturnType<typeof machine>, text: string): string {
        const file = path.join(m.root, "part-001");
        fs.writeFileSync(file, text, { mode: 0o700 });
        return file;
    }

    /** The systemctl calls that (re)start the app, with what `current` was then. */
    const starts = (b: Boot) => b.systemctl.filter((l) => new RegExp(`^(start|restart|enable --now) ${APP_SERVICE} `).test(l));
    const healthy = (version: string) => ({ "index.html": `<h1>${version}</h1>\n`, healthz: "ok\n" });

    it("asg: the role's grant not yet visible: the first reads are retried with backoff, then the release installs before the app's first start", async () => {
        const prefix = newPrefix();
        await publish(prefix, "v1", healthy("v1"));
        s3.setPolicy(NOTHING);
        const m = machine();
        fs.writeFileSync(path.join(m.state, "grant-after"), "2");
        const b = boot(m, writeScript(m, userData(prefix, "replace")));
        assert.equal(b.status, 0, b.stderr);
        // Two AccessDenied reads (deploy.sh exit 4), waits of 5 and 10 s, then the grant is there.
        assert.deepEqual(b.sleeps, BOOT_RELEASE_RETRY_DELAYS.slice(0, 2));
        assert.equal(b.stderr.match(/reading the current release failed \(exit 4\)/g)?.length, 2, b.stderr);
        // Every start of the app saw the stack's release: the placeholder never served.
        assert.deepEqual(starts(b), [`restart ${APP_SERVICE} current=releases/v1`, `start ${APP_SERVICE} current=releases/v1`]);
        assert.ok(b.systemctl.indexOf(`enable ${APP_SERVICE} current=releases/v1`) >= 0, b.systemctl.join("\n"));
        assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, body: "<h1>v1</h1>\n" });
        // The backup tools come after, as before.
        assert.match(b.dnf[b.dnf.length - 1], /^install -y \/usr\/bin\//);
    });

    it("a baked image whose release is still current: deploy.sh starts it at once (no health-timeout wait), nothing downloaded", async () => {
        const prefix = newPrefix();
        await publish(prefix, "v5", healthy("v5"));
        s3.setPolicy(GRANT);
        const m = machine();
        // What the bake leaves: nginx installed, the release in place and current, the unit disabled.
        fs.writeFileSync(path.join(m.state, "nginx-installed"), "");
        fs.mkdirSync(path.join(nginx.root, "releases", "v5"), { recursive: true });
        for (const [file, text] of Object.entries(healthy("v5"))) fs.writeFileSync(path.join(nginx.root, "releases", "v5", file), text);
        fs.symlinkSync("releases/v5", path.join(nginx.root, "current"));
        const b = boot(m, writeScript(m, userData(prefix, "replace")));
        assert.equal(b.status, 0, b.stderr);
        assert.match(b.stderr, /release v5 is already installed and current/);
        assert.doesNotMatch(b.stderr, /downloading/);
        // Not yet running at boot, so started before the first health poll (which would wait 60 s).
        const active = b.systemctl.indexOf(`is-active --quiet ${APP_SERVICE} current=releases/v5`);
        assert.ok(active >= 0 && b.systemctl[active + 1] === `restart ${APP_SERVICE} current=releases/v5`, b.systemctl.join("\n"));
        assert.deepEqual(starts(b), [`restart ${APP_SERVICE} current=releases/v5`, `start ${APP_SERVICE} current=releases/v5`]);
        assert.deepEqual(b.sleeps, []);
        assert.ok(!b.dnf.includes("-y install nginx"), "nginx is on the image");
    });

    it("a stack that never deployed starts the placeholder, health file included (healthy out of the box)", async () => {
        s3.setPolicy(GRANT);
        for (const mode of ["replace", "retry"] as const) {
            const m = machine();
            const b = boot(m, writeScript(m, userData(newPrefix(), mode)));
            assert.equal(b.status, 0, b.stderr);
            assert.match(b.stderr, /no current release under .* yet: keeping what is installed/);
            assert.deepEqual(starts(b), [`start ${APP_SERVICE} current=releases/${DEFAULT_RELEASE}`], mode);
            assert.deepEqual(await get(`http://127.0.0.1:${port}/healthz`), { status: 200, body: "ok\n" });
            assert.deepEqual(b.systemdRun, []);
        }
    });

    it("asg: a current release that cannot be installed (checksum) ends the boot with the app stopped, never started", async () => {
        const prefix = newPrefix();
        await publish(prefix, "v2", healthy("v2"), { sha256: "0".repeat(64) });
        s3.setPolicy(GRANT);
        const m = machine();
        const b = boot(m, writeScript(m, userData(prefix, "replace")));
        assert.equal(b.status, 1, b.stderr);
        assert.match(b.stderr, /current release could not be installed \(deploy\.sh exit 5\)/);
        assert.match(b.stderr, new RegExp(`stopping ${APP_SERVICE} so the group replaces this instance`));
        assert.deepEqual(starts(b), []);
        assert.equal(b.systemctl[b.systemctl.length - 1], `stop ${APP_SERVICE} current=releases/${DEFAULT_RELEASE}`);
        assert.deepEqual(b.systemdRun, []);
    });

    it("asg: nginx that will not install is tried again, then the boot fails and the group replaces the instance", () => {
        s3.setPolicy(GRANT);
        const m = machine();
        fs.writeFileSync(path.join(m.state, "nginx-fails"), "");
        const b = boot(m, writeScript(m, userData(newPrefix(), "replace")));
        assert.equal(b.status, 1, b.stderr);
        assert.equal(b.dnf.filter((c) => c === "-y install nginx").length, NGINX_INSTALL_ATTEMPTS);
        assert.deepEqual(b.sleeps, [20, 40, 60]);
        assert.match(b.stderr, /installing nginx failed 4 times/);
        assert.deepEqual(starts(b), []);
        assert.match(b.systemctl[b.systemctl.length - 1], new RegExp(`^stop ${APP_SERVICE} `));
    });

    it("single: S3 still refused after the boot's retries: serves what is installed, schedules the next boot attempt, which installs the release", async () => {
        const prefix = newPrefix();
        await publish(prefix, "v3", healthy("v3"));
        s3.setPolicy(NOTHING);
        const m = machine();
        const script = writeScript(m, userData(prefix, "retry"));
        const first = boot(m, script);
        assert.equal(first.status, 1, first.stderr);
        assert.deepEqual(first.sleeps, [...BOOT_RELEASE_RETRY_DELAYS]);
        assert.match(first.stderr, /could not be installed \(deploy\.sh exit 4\)/);
        // Serving what is installed (the placeholder), enabled for the next reboot.
        assert.deepEqual(starts(first), [`enable --now ${APP_SERVICE} current=releases/${DEFAULT_RELEASE}`]);
        assert.deepEqual(await get(`http://127.0.0.1:${port}/healthz`), { status: 200, body: "ok\n" });
        // The next attempt: the same script, as a transient timer, a minute later.
        assert.deepEqual(first.systemdRun, [`--unit ${BOOT_RETRY_UNIT}-1 --on-active=${bootRetryDelaySeconds(1)} --setenv=PLATFORM_BOOT_ATTEMPT=2 --setenv=HOME=/root /bin/bash ${script}`]);
        assert.match(first.stderr, /attempt 1 failed \(exit 1\): serving what is installed, next attempt in 60s/);
        // S3 answers again; the timer runs the recorded command.
        s3.setPolicy(GRANT);
        const second = boot(m, script, { PLATFORM_BOOT_ATTEMPT: "2" });
        assert.equal(second.status, 0, second.stderr);
        assert.deepEqual(second.systemdRun, []);
        assert.equal(starts(second)[0], `restart ${APP_SERVICE} current=releases/v3`);
        assert.deepEqual(await get(`http://127.0.0.1:${port}/`), { status: 200, body: "<h1>v3</h1>\n" });
    });

    it("single: the boot attempts are bounded (1, 2, 4, 8, 15 min), each logged; a failed nginx install gets the same treatment", () => {
        s3.setPolicy(GRANT);
        const m = machine();
        fs.writeFileSync(path.join(m.state, "nginx-fails"), "");
        const script = writeScript(m, userData(newPrefix(), "retry"));
        const delays: number[] = [];
        for (let attempt = 1; attempt <= BOOT_ATTEMPTS; attempt++) {
            const b = boot(m, script, { PLATFORM_BOOT_ATTEMPT: String(attempt) });
            assert.equal(b.status, 1, b.stderr);
            assert.match(b.stderr, /installing nginx failed 4 times/);
            if (attempt < BOOT_ATTEMPTS) {
                assert.equal(b.systemdRun.length, 1, `attempt ${attempt} schedules the next`);
                const [, unit, delay, next] = b.systemdRun[0].match(/^--unit (\S+) --on-active=(\d+) --setenv=PLATFORM_BOOT_ATTEMPT=(\d+) /)!;
                assert.deepEqual([unit, Number(next)], [`${BOOT_RETRY_UNIT}-${attempt}`, attempt + 1]);
                delays.push(Number(delay));
            } else {
                assert.deepEqual(b.systemdRun, [], "the last attempt schedules nothing");
                assert.match(b.stderr, new RegExp(`attempt ${BOOT_ATTEMPTS} failed \\(exit 1\\), giving up: fix the cause, then run bash ${script}`));
            }
        }
        assert.deepEqual(delays, [60, 120, 240, 480, 900]);
        assert.deepEqual(delays, [1, 2, 3, 4, 5].map(bootRetryDelaySeconds));
    });

    it("single: a release that cannot be installed (checksum) keeps serving what is installed, with no retry, and the boot goes on", async () => {
        const prefix = newPrefix();
        await publish(prefix, "v4", healthy("v4"), { sha256: "f".repeat(64) });
        s3.setPolicy(GRANT);
        const m = machine();
        const b = boot(m, writeScript(m, userData(prefix, "retry")));
        assert.equal(b.status, 0, b.stderr);
        assert.match(b.stderr, /could not be installed \(deploy\.sh exit 5\): serving what is installed; fix the release, then npm run ops -- deploy/);
        assert.deepEqual(starts(b), [`start ${APP_SERVICE} current=releases/${DEFAULT_RELEASE}`]);
        assert.deepEqual(b.systemdRun, []);
        assert.match(b.dnf[b.dnf.length - 1], /^install -y \/usr\/bin\//, "the backup tools are still installed");
    });

    it("both variants pass shellcheck", function () {
        requireTools(this, ["shellcheck"]);
        for (const mode of ["replace", "retry"] as const) {
            const file = path.join(dir, `user-data-${mode}.sh`);
            fs.writeFileSync(file, userData("releases/dev", mode));
            const r = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
            assert.equal(r.status, 0, `${mode}: ${r.stdout}`);
        }
    });
});
