/**
 * Mocha root hooks and global fixtures (loaded by .mocharc.json for every run, serial or
 * `--parallel`).
 *
 * The suite must leave nothing in the temporary directory. The run gets a directory of its
 * own as TMPDIR (set before mocha starts its workers, which inherit it), so what other
 * programs on the machine put in /tmp at the same time cannot be mistaken for a leftover;
 * at the end, whatever is still in it fails the run, named, and is removed.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Context, Suite } from "mocha";
import { recordFileTime } from "./fileTimes";
import { removeTempDirs, TEMP_DIRS_FOLDER } from "./tmp";

export const mochaHooks = {
    afterAll(this: Context): void {
        removeTempDirs();
        const root: Suite | undefined = this.test?.parent;
        recordFileTime([...new Set((root?.suites ?? []).map((s) => s.file).filter((f): f is string => !!f))]);
    },
};

let runDir: string | undefined;
const saved: Record<string, string | undefined> = {};
const TMP_VARS = ["TMPDIR", "TMP", "TEMP"];

export function mochaGlobalSetup(): void {
    const systemTmp = os.tmpdir();
    runDir = fs.mkdtempSync(path.join(systemTmp, "platform-tests-"));
    // Servers some tests run as `nobody` (nginx, PostgreSQL, MariaDB: they refuse root, or should)
    // must reach their files below it, as they would below /tmp; each test's own directory
    // (mkdtemp: 0700) still says who may list and read it.
    fs.chmodSync(runDir, 0o711);
    for (const name of TMP_VARS) {
        saved[name] = process.env[name];
        process.env[name] = runDir;
    }
    // The transpile cache (tools/register.js) lives under node_modules/.cache, not here.
    // The AWS SDK's notice that its releases after January 2027 need Node 22 (the pinned SDK runs
    // on Node 20) would print from every worker that loads it; `npm run ops` silences it the same
    // way (tools/ops.ts), and tests/cli.test.ts still shows that a user can turn it back on.
    // bash reads ~/.bashrc even when it is not interactive if its stdin is a socket (Node's pipes
    // are socketpairs) and SHLVL is unset or 0 (its rshd heuristic; seen here with Debian's bash
    // 5.2). A ~/.bashrc that puts pyenv's shims first on PATH then hides the tests' `aws`
    // wrappers from the scripts, which reach the real AWS instead of the local servers. With
    // SHLVL at least 1, every bash a test starts runs with exactly the environment it was given.
    saved.SHLVL = process.env.SHLVL;
    if (!(Number(process.env.SHLVL) >= 1)) process.env.SHLVL = "1";
    saved.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

export function mochaGlobalTeardown(): void {
    if (!runDir) return;
    // tempDir's folder is not a leftover: what is in it is removed with the run directory.
    const left = fs.readdirSync(runDir).filter((entry) => entry !== TEMP_DIRS_FOLDER).sort();
    fs.rmSync(runDir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
    if (left.length > 0) {
        process.stderr.write(`\nThe tests left ${left.length} entr${left.length === 1 ? "y" : "ies"} in the temporary directory (now removed): ${left.join(", ")}\n` + "Make them with tempDir() from tests/support/tmp.ts, or remove them in an after hook.\n");
        // Mocha sets the exit code from the failure count when it exits; this is the last word.
        process.exit(1);
    }
}
