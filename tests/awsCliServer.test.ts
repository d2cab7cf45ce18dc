/**
 * The tests' warm AWS CLI (tests/helpers/awsCli.ts, awsCliServer.py, awsCliClient.py) against
 * /usr/bin/aws started directly: the same commands, through the same kind of wrapper, to the
 * same s3rver, must give the shell the same exit status, stdout and stderr, honour the caller's
 * environment, working directory, umask and stdin, end by the same signal, and leave no call
 * running when the caller is killed. If they did not, every script test run through the warm
 * CLI would prove less than it claims.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { awsCliCommand, warmAwsCliPid } from "./helpers/awsCli";
import { S3Server, startS3Server } from "./helpers/s3server";
import { requireTools } from "./support/tools";
import { tempDir } from "./support/tmp";

describe("the tests' warm AWS CLI against /usr/bin/aws started directly", function () {
    this.timeout(120000);
    let s3: S3Server;
    let work: string;
    let warmBin: string;
    let directBin: string;
    let cpuFile: string;

    const wrapper = (dir: string, cli: string) => {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "aws"), `#!/bin/bash\nexec ${cli} --endpoint-url ${s3.endpoint} "$@"\n`, { mode: 0o755 });
    };
    const env = (bin: string, extra: NodeJS.ProcessEnv = {}) => ({ ...s3.env, PATH: `${bin}:${s3.env.PATH}`, LC_ALL: "C", ...extra });
    /** `script` in bash with `aws` on PATH being one of the two; what the shell sees. */
    const sh = (bin: string, script: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer | string } = {}) => {
        const r = spawnSync("bash", ["-c", script], { env: env(bin, opts.env), cwd: opts.cwd ?? work, input: opts.input, timeout: 60000 });
        if (r.error) throw r.error;
        return { status: r.status, signal: r.signal, stdout: r.stdout.toString("latin1"), stderr: r.stderr.toString("latin1") };
    };
    const both = (script: string, opts: Parameters<typeof sh>[2] = {}) => {
        const direct = sh(directBin, script.replace(/@/g, "direct"), opts);
        const warm = sh(warmBin, script.replace(/@/g, "warm"), opts);
        return { direct, warm };
    };
    const same = (script: string, opts: Parameters<typeof sh>[2] = {}) => {
        const { direct, warm } = both(script, opts);
        assert.deepStrictEqual(warm, direct, `warm and direct differ for: ${script}`);
        return direct;
    };

    before(async function () {
        requireTools(this, ["awsCliV2"]);
        // PLATFORM_TEST_AWS_CLI=exec: every wrapper starts /usr/bin/aws, so there is no warm CLI to compare.
        if (process.env.PLATFORM_TEST_AWS_CLI === "exec") this.skip();
        work = tempDir("aws-cli-test-");
        s3 = await startS3Server({ bucket: "cli-test" });
        warmBin = path.join(work, "warm-bin");
        directBin = path.join(work, "direct-bin");
        const warmCli = await awsCliCommand();
        assert.notEqual(warmCli, "/usr/bin/aws", "the warm AWS CLI did not start (its reason is on stderr)");
        // Next to the server's socket (the client's last argument): rewritten after each call it serves.
        cpuFile = path.join(path.dirname(JSON.parse(warmCli.split(" ").pop()!) as string), "cpu");
        wrapper(warmBin, warmCli);
        wrapper(directBin, "/usr/bin/aws");
    });

    after(async () => {
        if (s3) await s3.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("prints the same version, usage errors (exit 252) and service errors, on the same streams", function () {
        const v = same("aws --version");
        assert.equal(v.status, 0);
        assert.match(v.stdout, /^aws-cli\/2\.\d+\.\d+ /);
        assert.equal(same("aws s3 cp").status, 252);
        assert.equal(same("aws s3api get-object --bucket cli-test").status, 252);
        const missing = same("aws s3 cp s3://cli-test/no/such/key -");
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /404|does not exist/);
        assert.equal(same("aws s3api head-bucket --bucket no-such-bucket-here").status, 254);
    });

    it("streams stdin up and an object down to stdout byte for byte, binary and multipart-sized", function () {
        const data = crypto.randomBytes(9 * 1024 * 1024 + 12345); // over the 8 MiB part size
        const up = both("aws s3 cp --only-show-errors --expected-size 9450000 - s3://cli-test/stream/@.bin", { input: data });
        assert.deepStrictEqual(up.warm, up.direct);
        assert.equal(up.warm.status, 0, up.warm.stderr);
        for (const who of ["direct", "warm"]) {
            const down = spawnSync("bash", ["-c", `aws s3 cp --only-show-errors s3://cli-test/stream/${who}.bin - | sha256sum`], { env: env(who === "warm" ? warmBin : directBin), encoding: "utf8" });
            assert.equal(down.stdout.split(" ")[0], crypto.createHash("sha256").update(data).digest("hex"), `${who}: ${down.stderr}`);
        }
    });

    it("honours the caller's working directory, umask and environment (output format, query, region, credentials)", function () {
        fs.writeFileSync(path.join(work, "relative.txt"), "relative path\n");
        assert.equal(same("aws s3 cp --only-show-errors relative.txt s3://cli-test/rel/relative.txt").status, 0);
        same("umask 077 && aws s3 cp --only-show-errors s3://cli-test/rel/relative.txt ./got-@.txt && stat -c %a got-@.txt");
        assert.equal(sh(warmBin, "cat got-warm.txt").stdout, "relative path\n");
        const listing = same("aws s3api list-objects-v2 --bucket cli-test --prefix rel/ --query 'Contents[].Key'");
        assert.deepStrictEqual(JSON.parse(listing.stdout), ["rel/relative.txt"]);
        const text = same("aws s3api list-objects-v2 --bucket cli-test --prefix rel/ --query 'Contents[].Key'", { env: { AWS_DEFAULT_OUTPUT: "text" } });
        assert.equal(text.stdout.trim(), "rel/relative.txt");
        // Without credentials in the environment the call fails the same way (nothing leaks from the server's).
        const noCreds = same("aws s3 ls s3://cli-test/", { env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" } });
        assert.notEqual(noCreds.status, 0);
        // AWS_DATA_PATH is the caller's: a bogus one changes nothing, as for /usr/bin/aws.
        assert.equal(same("aws s3 ls s3://cli-test/rel/", { env: { AWS_DATA_PATH: path.join(work, "no-such-models") } }).status, 0);
        // A value that is not UTF-8 reaches the call as the same string (the client's request keeps its surrogate escapes).
        const notUtf8 = same("AWS_PROFILE=$'caf\\xe9' aws s3 ls s3://cli-test/");
        assert.equal(notUtf8.status, 255);
        assert.match(notUtf8.stderr, /The config profile \(caf\\udce9\) could not be found/);
        // The User-Agent names the same distribution (worked out once by the server, by every call of /usr/bin/aws).
        const agent = same("aws --debug s3api list-buckets 2>&1 >/dev/null | grep -o \"'User-Agent': b'[^']*'\" | head -1");
        assert.match(agent.stdout, /source\/[\w.-]+ prompt\/off command\/s3api\.list-buckets/);
    });

    it("a caller in its own mount namespace (unshare --mount, as the boot-script tests run) gets its own files: its call is forked from the server and joins that namespace", function () {
        requireTools(this, ["root", "unshare"]);
        const hidden = path.join(work, "bind-target");
        const shown = path.join(work, "bind-source");
        fs.mkdirSync(hidden);
        fs.mkdirSync(shown);
        // An absolute path, and a relative one from a working directory inside the bind mount
        // (the call's chdir comes after it joins: before, it would be undone, or land in the server's view).
        const script = (who: string) =>
            `unshare --mount --propagation private bash -c 'mount --bind ${shown} ${hidden} && aws s3 cp --only-show-errors s3://cli-test/rel/relative.txt ${hidden}/${who}.txt && cd ${hidden} && aws s3 cp --only-show-errors s3://cli-test/rel/relative.txt ./${who}-relative.txt'`;
        for (const [who, bin] of [["direct", directBin], ["warm", warmBin]] as const) {
            const { result: r, served } = servedBy(() => sh(bin, script(who)));
            assert.equal(r.status, 0, r.stderr);
            for (const file of [`${who}.txt`, `${who}-relative.txt`]) {
                assert.deepStrictEqual([fs.existsSync(path.join(shown, file)), fs.existsSync(path.join(hidden, file))], [true, false], `${who}: ${file} must land where the caller's namespace has it`);
                assert.equal(fs.readFileSync(path.join(shown, file), "utf8"), "relative path\n");
            }
            assert.equal(served, who === "warm", `${who}: the calls were${served ? "" : " not"} served by the warm server`);
        }
        // In another namespace besides (uts): refused, and its client runs /usr/bin/aws.
        const other = servedBy(() => sh(warmBin, "unshare --mount --uts --propagation private aws --version"));
        assert.equal(other.result.status, 0, other.result.stderr);
        assert.equal(other.served, false, "a call in another uts namespace was served by the warm server");
    });

    it("a caller in its own mount namespace that sees another file for a module the server imported (a changed awscli/__init__.py bind-mounted over it) is refused: its client runs /usr/bin/aws there", function () {
        requireTools(this, ["root", "unshare"]);
        const pkg = awscliPackage();
        const init = path.join(pkg, "__init__.py");
        const original = fs.readFileSync(init, "utf8");
        const version = /^__version__ = '([^']+)'$/m.exec(original)?.[1];
        assert.ok(version, `no __version__ in ${init}`);
        const copy = path.join(work, "awscli-init.py");
        fs.writeFileSync(copy, original.replace(`__version__ = '${version}'`, `__version__ = '${version}+copy'`));
        // An empty __pycache__ over the package's, so that /usr/bin/aws writes the bytecode it
        // compiles for the changed file there, not over the system's.
        const inNamespace = (tag: string, mounts: string) => {
            for (const who of ["direct", "warm"]) fs.mkdirSync(path.join(work, `${tag}-${who}`));
            return `unshare --mount --propagation private bash -c 'mount --bind ${path.join(work, `${tag}-@`)} ${pkg}/__pycache__ && ${mounts}aws --version'`;
        };
        const changed = servedBy(() => both(inNamespace("pycache-changed", `mount --bind ${copy} ${init} && `)));
        assert.deepStrictEqual(changed.result.warm, changed.result.direct);
        assert.equal(changed.result.warm.status, 0, changed.result.warm.stderr);
        assert.match(changed.result.warm.stdout, new RegExp(`^aws-cli/${version.replace(/\./g, "\\.")}\\+copy `));
        assert.equal(changed.served, false, "a call that would import another awscli/__init__.py was served by the warm server");
        // The same namespace with the module as the server has it: served, the server's version.
        const unchanged = servedBy(() => both(inNamespace("pycache-unchanged", "")));
        assert.deepStrictEqual(unchanged.result.warm, unchanged.result.direct);
        assert.match(unchanged.result.warm.stdout, new RegExp(`^aws-cli/${version.replace(/\./g, "\\.")} `));
        assert.equal(unchanged.served, true, "a call in a namespace that differs only in a __pycache__ was not served");
    });

    it("a caller in its own mount namespace with a file bind-mounted over a data file the server preloaded (cli.json; the same size and mtime) gets its own file, not the server's copy", function () {
        requireTools(this, ["root", "unshare"]);
        const pkg = awscliPackage();
        const cliJson = path.join(pkg, "data", "cli.json");
        const original = fs.readFileSync(cliJson, "utf8");
        // The global --output no longer offers "text" (the same length: only device and inode tell the files apart).
        const changed = original.replace(/"text",/, '"tixt",');
        assert.notEqual(changed, original, `no "text" choice in ${cliJson}`);
        const copy = path.join(work, "cli.json");
        fs.writeFileSync(copy, changed);
        assert.equal(spawnSync("touch", ["-r", cliJson, copy]).status, 0);
        const [a, b] = [cliJson, copy].map((f) => fs.statSync(f, { bigint: true }));
        assert.deepStrictEqual([b.size, b.mtimeNs], [a.size, a.mtimeNs]);
        const script = `unshare --mount --propagation private bash -c 'mount --bind ${copy} ${cliJson} && aws --output text s3api list-buckets'`;
        const { result, served } = servedBy(() => both(script));
        assert.deepStrictEqual(result.warm, result.direct);
        assert.equal(result.warm.status, 252, result.warm.stderr);
        assert.match(result.warm.stderr, /argument --output: Invalid choice/);
        assert.equal(served, true, "the call was not served by the warm server");
        // Outside that namespace, the server's own copy: text is a choice.
        assert.equal(sh(warmBin, "aws --output text s3api list-buckets").status, 0);
    });

    it("takes on the caller's time zone and inherited ignored signals; a caller with another HOME runs /usr/bin/aws itself", async function () {
        // s3 ls prints each object's time in the local zone: the caller's TZ, not the server's.
        for (const tz of ["UTC", "Asia/Tokyo", "America/Los_Angeles"]) same("aws s3 ls s3://cli-test/rel/ | cut -c1-19", { env: { TZ: tz } });
        // `trap '' TERM` before the call: the call ignores TERM as /usr/bin/aws would, and completes.
        const r = same("trap '' TERM; aws s3 cp --only-show-errors s3://cli-test/rel/relative.txt - & pid=$!; sleep 0.3; kill -TERM $pid 2>/dev/null; wait $pid; echo \"exit $?\"");
        assert.match(r.stdout, /exit 0\n$/);
        // The assume-role and SSO caches are fixed at import to the server's HOME: another HOME is not forked.
        const home = path.join(work, "home");
        fs.mkdirSync(home, { recursive: true });
        assert.equal(same("aws --version", { env: { HOME: home } }).status, 0);
    });

    it("a request the server cannot read is refused ('N', so its client would run /usr/bin/aws), and the server goes on serving", async function () {
        const socketPath = JSON.parse((await awsCliCommand()).split(" ").pop()!) as string;
        const probe = [
            "import socket, struct, sys",
            "for body in (b'not a literal (', b'[1, 2]', b\"{'argv': [], 'env': {}}\", b'\\xff'):",
            "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])",
            "    socket.send_fds(s, [struct.pack('!I', len(body)) + body], [0, 1, 2])",
            "    print(s.recv(1).decode() or 'closed')",
        ].join("\n");
        const r = spawnSync("/usr/bin/python3", ["-c", probe, socketPath], { encoding: "utf8", timeout: 30000 });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.stdout.trim().split("\n"), ["N", "N", "N", "N"]);
        assert.equal(same("aws --version").status, 0);
    });

    it("a pipeline's broken reader ends the call as it ends /usr/bin/aws (PIPESTATUS)", function () {
        const big = crypto.randomBytes(3 * 1024 * 1024);
        assert.equal(sh(directBin, "aws s3 cp --only-show-errors - s3://cli-test/pipe/big.bin", { input: big }).status, 0);
        const r = same("aws s3 cp --only-show-errors s3://cli-test/pipe/big.bin - 2>/dev/null | head -c 10 >/dev/null; echo \"${PIPESTATUS[*]}\"");
        assert.match(r.stdout, /^\d+ 0\n$/);
    });

    it("a reader gone before the output is written: the same status and message as /usr/bin/aws (the interpreter's failed flush at exit)", function () {
        // The reader closes the pipe at once; the CLI's output, written and flushed as the call ends, meets EPIPE.
        const r = same("aws s3api list-buckets | (exec 0<&-; sleep 1); echo \"${PIPESTATUS[*]}\"");
        // The CLI ignores its own failed write and flush; what is left in stdout's buffer fails the
        // interpreter's flush at exit: status 120 and a message. Unbuffered (PYTHONUNBUFFERED, as
        // some CI images set it) nothing is left, and the status is 0.
        if (process.env.PYTHONUNBUFFERED) {
            assert.deepStrictEqual([r.stdout, r.stderr], ["0 0\n", ""]);
        } else {
            assert.equal(r.stdout, "120 0\n");
            assert.match(r.stderr, /^Exception ignored in: <_io\.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>\nBrokenPipeError: \[Errno 32\] Broken pipe\n$/);
        }
        same("aws --version | (exec 0<&-; sleep 1); echo \"${PIPESTATUS[*]}\"");
    });

    it("a call's files are complete when the caller sees it end (downloads to a file, many in a row, and recursive with filters)", function () {
        const data = crypto.randomBytes(300 * 1024);
        assert.equal(sh(directBin, "aws s3 cp --only-show-errors - s3://cli-test/files/blob.bin", { input: data }).status, 0);
        const r = same("for i in 1 2 3 4 5; do aws s3 cp --only-show-errors s3://cli-test/files/blob.bin ./blob-@-$i.bin && sha256sum < ./blob-@-$i.bin; done");
        const want = crypto.createHash("sha256").update(data).digest("hex");
        assert.equal(r.stdout, `${want}  -\n`.repeat(5));
        // A recursive download with filters (how deploy.sh fetches a release) leaves weak proxies among
        // the call's objects, which the warm CLI's end must step over.
        assert.equal(sh(directBin, "aws s3 cp --only-show-errors - s3://cli-test/files/other.txt", { input: "other\n" }).status, 0);
        const tree = same("aws s3 cp --recursive --only-show-errors s3://cli-test/files/ ./tree-@/ --exclude '*' --include '*.bin' && (cd ./tree-@ && find . -type f | sort) && sha256sum < ./tree-@/blob.bin");
        assert.equal(tree.status, 0, tree.stderr);
        assert.equal(tree.stdout, `./blob.bin\n${want}  -\n`);
    });

    it("ends by the signal the caller got, and a killed caller leaves no call running", async function () {
        const run = (bin: string, sig: NodeJS.Signals) =>
            new Promise<{ code: number | null; signal: string | null }>((resolve) => {
                // A download from a reader that never reads: the CLI blocks in mid-transfer until signalled.
                const child = spawn(path.join(bin, "aws"), ["s3", "cp", "--only-show-errors", "s3://cli-test/pipe/big.bin", "-"], { env: env(bin), stdio: ["ignore", "pipe", "ignore"] });
                setTimeout(() => child.kill(sig), 1500);
                child.on("exit", (code, signal) => resolve({ code, signal }));
            });
        // (SIGINT is not among them: the CLI turns it into KeyboardInterrupt and then waits for its
        // transfer threads, which a reader that never reads keeps blocked, directly as warm.)
        for (const sig of ["SIGTERM", "SIGHUP"] as NodeJS.Signals[]) {
            const [direct, warm] = await Promise.all([run(directBin, sig), run(warmBin, sig)]);
            assert.deepStrictEqual(warm, direct, `${sig}: warm ${JSON.stringify(warm)}, direct ${JSON.stringify(direct)}`);
        }
        const before = calls();
        const pending = run(warmBin, "SIGKILL");
        // While it runs (it is killed after 1.5 s), the call is the server's child: served warm, not refused to /usr/bin/aws.
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal(calls(), before + 1, "the warm call is not running in the server");
        const killed = await pending;
        assert.equal(killed.signal, "SIGKILL");
        await waitUntil(() => calls() === before, 10000);
    });

    /** The directory of the awscli package /usr/bin/aws imports. */
    function awscliPackage(): string {
        const r = spawnSync("/usr/bin/python3", ["-c", "import awscli, os; print(os.path.dirname(awscli.__file__))"], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
    }
    /** The CPU seconds of the calls the warm server has served so far (its `cpu` file, 0 before the first). */
    function servedCpuSeconds(): number {
        try {
            return Number(fs.readFileSync(cpuFile, "utf8")) || 0;
        } catch {
            return 0;
        }
    }
    /** What `run` returns, and whether the warm server served a call meanwhile (no call uses no CPU). */
    function servedBy<T>(run: () => T): { result: T; served: boolean } {
        const before = servedCpuSeconds();
        const result = run();
        return { result, served: servedCpuSeconds() > before };
    }

    /** The warm server's call processes (its children) now. */
    function calls(): number {
        const server = warmAwsCliPid();
        assert.ok(server, "the warm AWS CLI server is not running");
        return spawnSync("pgrep", ["-P", String(server)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).length;
    }
    async function waitUntil(ok: () => boolean, ms: number) {
        const end = Date.now() + ms;
        while (!ok()) {
            if (Date.now() > end) throw new Error("the killed caller's call is still running");
            await new Promise((r) => setTimeout(r, 100));
        }
    }
});
