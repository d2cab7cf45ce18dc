/**
 * `npm test`: the type-check (`tsc --noEmit`) and the mocha suite (`--parallel --jobs 2`),
 * side by side rather than one after the other. The type-check is one single-threaded process
 * that used to hold up the suite for a third of the run while the second core idled; now it
 * shares the machine with the suite's workers, and its findings are printed after the suite's.
 * Either one failing fails the run (exit 1 for type errors, else mocha's own exit code).
 *
 * The type-check is incremental (its build info under node_modules/.cache, or
 * PLATFORM_CACHE_DIR, like the transpile cache): a run after an edit re-checks what the edit
 * can affect, judged by the files' contents. Extra arguments go to mocha (`npm test -- --grep plan`).
 */
import { spawn } from "child_process";
import * as path from "path";

const PROJECT_DIR = path.resolve(__dirname, "..");
const BUILD_INFO = path.join(process.env.PLATFORM_CACHE_DIR || path.join(PROJECT_DIR, "node_modules", ".cache"), "tsc", "tsconfig.tsbuildinfo");

function run(command: string, args: string[], capture: boolean): Promise<{ code: number; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: PROJECT_DIR, stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit" });
        let output = "";
        child.stdout?.on("data", (d) => (output += d));
        child.stderr?.on("data", (d) => (output += d));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
    });
}

async function main(): Promise<number> {
    const tsc = require.resolve("typescript/bin/tsc", { paths: [PROJECT_DIR] });
    const mocha = require.resolve("mocha/bin/mocha.js", { paths: [PROJECT_DIR] });
    const extra = process.argv.slice(2);
    const typeCheck = run(process.execPath, [tsc, "--noEmit", "--incremental", "--tsBuildInfoFile", BUILD_INFO], true);
    const tests = run(process.execPath, [mocha, "--parallel", "--jobs", "2", ...(extra.some((a) => !a.startsWith("-")) ? [] : ["tests/**/*.test.ts"]), ...extra], false);
    const [checked, tested] = await Promise.all([typeCheck, tests]);
    if (checked.code === 0) {
        process.stdout.write("Type-check (tsc --noEmit): no errors\n");
    } else {
        process.stdout.write(`\nType-check (tsc --noEmit) failed:\n${checked.output}`);
    }
    return tested.code !== 0 ? tested.code : checked.code !== 0 ? 1 : 0;
}

main().then(
    (code) => (process.exitCode = code),
    (err) => {
        process.stderr.write(`npm test failed: ${(err as Error).message}\n`);
        process.exitCode = 1;
    },
);
