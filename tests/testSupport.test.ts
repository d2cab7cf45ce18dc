/**
 * The test suite's own guarantees: a missing tool is pending with its install command (a
 * failure with CI=true), every Debian package a test may need is installed by CI and named
 * in the README, and no test leaves a temporary directory behind. The gates are shown the
 * way they work for a user: real mocha runs over small fixture files.
 */
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { forgetProgramModules, PROJECT_DIR } from "../tools/offline";
import { contentMd5Verdict } from "./helpers/s3Integrity";
import { cleanEnv, ProcessResult, runProcess } from "./support/processes";
import { tempDir } from "./support/tmp";
import { installCommand, missingMessage, missingRequirements, REQUIREMENTS, RequirementName } from "./support/tools";

const MOCHA = require.resolve("mocha/bin/mocha.js");
const FIXTURES = path.join("tests", "fixtures", "mocha");

/** A PATH holding only links to these commands (so every other tool is missing). */
function pathWith(commands: string[]): string {
    const dir = tempDir("path-");
    for (const c of commands) {
        const found = (process.env.PATH ?? "").split(path.delimiter).map((d) => path.join(d, c)).find((f) => fs.existsSync(f));
        if (found) fs.symlinkSync(found, path.join(dir, c));
    }
    return dir;
}

function mocha(files: string[], env: NodeJS.ProcessEnv, extra: string[] = []): Promise<ProcessResult> {
    return runProcess(process.execPath, [MOCHA, ...extra, ...files.map((f) => path.join(FIXTURES, f))], { env: cleanEnv(env) });
}

describe("tests/support/tools.ts: missing tools", () => {
    it("finds a tool on the given PATH and names the apt line for what is not there", () => {
        const env = { PATH: pathWith(["zstd", "tar"]) };
        assert.deepEqual(missingRequirements(["zstd", "tar", "shellcheck", "setfacl", "getfacl"], env).map((r) => r.label), ["shellcheck", "setfacl", "getfacl"]);
        assert.equal(missingMessage(["zstd", "shellcheck", "setfacl", "getfacl"], env), "needs shellcheck, setfacl, getfacl. Install with: sudo apt-get update && sudo apt-get install -y shellcheck acl");
        assert.equal(missingMessage(["zstd", "tar"], env), undefined);
    });

    it("supports non-apt requirements the same way: moto through pip, root as what to do", () => {
        // A python3 without moto: the PATH has none at all.
        const env = { PATH: pathWith([]) };
        assert.equal(missingMessage(["moto"], env), 'needs moto 5.2.1 with its server (python3 -m moto.server). Install with: pip install "moto[server]==5.2.1"');
        assert.equal(installCommand([REQUIREMENTS.shellcheck, REQUIREMENTS.moto, REQUIREMENTS.root]), 'sudo apt-get update && sudo apt-get install -y shellcheck && pip install "moto[server]==5.2.1"; and run the tests as root, e.g. sudo npm test');
    });

    describe("a suite gated on shellcheck, run by mocha with shellcheck missing from PATH", function () {
        this.timeout(120_000);
        let local: Promise<ProcessResult>;
        let ci: Promise<ProcessResult>;
        before(() => {
            const PATH = pathWith([]);
            local = mocha(["needsShellcheck.fixture.ts"], { PATH, CI: undefined });
            ci = mocha(["needsShellcheck.fixture.ts"], { PATH, CI: "true" });
            [local, ci].forEach((p) => p.catch(() => undefined));
        });

        it("locally: pending, with the exact install command, and the run passes", async () => {
            const r = await local;
            assert.equal(r.code, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /\b0 passing\b[\s\S]*\b1 pending\b/);
            assert.match(r.stdout + r.stderr, /PENDING: a suite that needs shellcheck needs shellcheck\. Install with: sudo apt-get update && sudo apt-get install -y shellcheck\n/);
            assert.doesNotMatch(r.stdout, /ran without shellcheck/);
        });

        it("with CI=true: a failure naming the tool and the install command", async () => {
            const r = await ci;
            assert.equal(r.code, 1, r.stdout + r.stderr);
            assert.match(r.stdout, /\b1 failing\b/);
            assert.match(r.stdout, /a suite that needs shellcheck needs shellcheck\. Install with: sudo apt-get update && sudo apt-get install -y shellcheck \(CI=true: a missing tool is a failure, not a skip\)/);
        });
    });

    it("knows only apt packages that .ci/run installs and the README's install line names", () => {
        const ciRun = fs.readFileSync(path.join(PROJECT_DIR, ".ci", "run"), "utf8");
        const ciPackages = /apt-get install\s+(?:-\S+\s+)*([^\n]+)/.exec(ciRun)![1].split(/\s+/);
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
        const readmePackages = /sudo apt-get update && sudo apt-get install -y ([a-z0-9 .+-]+)/.exec(readme)![1].trim().split(/\s+/);
        const apt = (Object.keys(REQUIREMENTS) as RequirementName[]).flatMap((n) => ("apt" in REQUIREMENTS[n].install ? [(REQUIREMENTS[n].install as { apt: string }).apt] : []));
        // tar and util-linux (flock) are Essential packages, on every Debian system; .ci/run
        // still names util-linux, for minimal container images.
        for (const pkg of new Set(apt)) {
            if (pkg !== "tar") assert.ok(ciPackages.includes(pkg), `.ci/run does not install ${pkg}`);
            if (pkg !== "tar" && pkg !== "util-linux") assert.ok(readmePackages.includes(pkg), `the README's install line lacks ${pkg}`);
        }
    });
});

describe("tests/support/rootHooks.ts: no temporary directory left behind", function () {
    this.timeout(120_000);
    let run: Promise<ProcessResult>;
    before(() => {
        // Two files in two parallel workers: one forgets a directory, one cleans up with tempDir.
        run = mocha(["leaks.fixture.ts", "clean.fixture.ts"], {}, ["--parallel", "--jobs", "2"]);
        run.catch(() => undefined);
    });

    it("fails the run, naming what was left (and removes it); a directory made with tempDir is not a leftover", async () => {
        const r = await run;
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /\b2 passing\b/);
        assert.match(r.stderr, /The tests left 1 entry in the temporary directory \(now removed\): left-behind-\w{6}\n/);
        assert.doesNotMatch(r.stderr, /cleaned-/);
    });
});

describe("tests/support/rootHooks.ts: the bash the tests start reads no ~/.bashrc", function () {
    // bash's rshd heuristic: not interactive, stdin a socket (what Node's "pipe" is), SHLVL unset
    // or 0, and it sources ~/.bashrc. This machine's puts pyenv's shims (an AWS CLI v1) first on
    // PATH, which hid the tests' `aws` wrappers from the scripts.
    const { spawnSync } = require("child_process") as typeof import("child_process");
    let home: string;
    before(() => {
        home = tempDir("bashrc-home-");
        fs.writeFileSync(path.join(home, ".bashrc"), 'export PATH="/from-bashrc:$PATH"\n');
    });
    const pathSeen = (shlvl: string | undefined) => {
        const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PATH: "/usr/bin:/bin", SHLVL: shlvl };
        if (shlvl === undefined) delete env.SHLVL;
        return spawnSync("bash", ["-c", 'printf %s "$PATH"'], { env, encoding: "utf8" }).stdout;
    };

    it("the rule: with SHLVL unset or 0 and a socket for stdin, bash -c sources ~/.bashrc", () => {
        assert.equal(pathSeen(undefined), "/from-bashrc:/usr/bin:/bin");
        assert.equal(pathSeen("0"), "/from-bashrc:/usr/bin:/bin");
        assert.equal(pathSeen("1"), "/usr/bin:/bin");
    });

    it("the global setup leaves every test's environment with SHLVL >= 1, so the PATH a test gives is the PATH its scripts get", () => {
        assert.ok(Number(process.env.SHLVL) >= 1, `SHLVL=${process.env.SHLVL}`);
        assert.equal(pathSeen(process.env.SHLVL), "/usr/bin:/bin");
    });
});

describe("tests/helpers/s3Integrity.ts: an upload's Content-MD5 judged as S3 judges it", () => {
    const body = Buffer.from("the bytes that arrived\n");
    const md5 = crypto.createHash("md5").update(body).digest();

    it("matches only the base64 MD5 of the body that arrived", () => {
        assert.equal(contentMd5Verdict(md5.toString("base64"), md5), "match");
        const other = crypto.createHash("md5").update("other bytes").digest();
        assert.equal(contentMd5Verdict(other.toString("base64"), md5), "mismatch");
    });

    it("tells a missing header from one that is not a base64 MD5 (S3's InvalidDigest)", () => {
        assert.equal(contentMd5Verdict("", md5), "absent");
        assert.equal(contentMd5Verdict("abc=", md5), "invalid", "not 128 bits");
        assert.equal(contentMd5Verdict(md5.toString("hex"), md5), "invalid", "hex is not base64 of the digest");
        assert.equal(contentMd5Verdict(`${md5.toString("base64")}!`, md5), "invalid", "base64 that does not round-trip");
    });
});

describe("tools/offline.ts: each run imports the program afresh, but not the tests' helpers", () => {
    const inProject = (file: string) => path.join(PROJECT_DIR, file);

    it("forgets the program's own modules and keeps tools/, tests/ (a warm CLI or a moto pool imported twice would run twice) and the config modules (no SDK: they cannot read a run)", () => {
        require("../components/dns");
        require("./helpers/awsCli");
        require("../config");
        const kept = ["tests/helpers/awsCli.ts", "tools/offline.ts", "config.ts", "config/webTier.ts"].map((f) => [f, require.cache[inProject(f)]] as const);
        for (const [file, mod] of kept) assert.ok(mod, `${file} is loaded`);
        assert.ok(require.cache[inProject("components/dns.ts")]);
        forgetProgramModules(PROJECT_DIR);
        assert.equal(require.cache[inProject("components/dns.ts")], undefined, "a program module is imported again by the next run");
        for (const [file, mod] of kept) assert.equal(require.cache[inProject(file)], mod, `${file} is the same module`);
    });

    it("forgets a program that is itself a fixture under tests/, and nothing else under tests/", () => {
        const fixture = inProject("tests/fixtures/grants/index.ts");
        require("./helpers/awsCli");
        const helper = require.cache[inProject("tests/helpers/awsCli.ts")]!;
        require.cache[fixture] = helper;
        forgetProgramModules(inProject("tests/fixtures/grants"));
        assert.equal(require.cache[fixture], undefined);
        assert.equal(require.cache[inProject("tests/helpers/awsCli.ts")], helper);
    });
});
