/**
 * `npm run bench`: wall time of the offline plan per stack (first run in a process and the
 * runs after it) and of the whole test suite, against the project's targets. It prints;
 * it never fails on a slow figure. `--skip-tests` leaves out the test suite.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { plan } from "./plan";

const PLAN_TARGET_S = 3;
const TEST_TARGET_S = 60;
const RUNS = 3;

function seconds(ms: number): string {
    return (ms / 1000).toFixed(2);
}

async function timePlan(stack: string): Promise<{ first: number; later: number[] }> {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        await plan({ stack });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return { first: times[0], later: times.slice(1) };
}

async function main(): Promise<void> {
    const root = path.resolve(__dirname, "..");
    console.log(`Offline plan (in-process, ${RUNS} runs per stack; target <= ${PLAN_TARGET_S} s after the first):`);
    for (const stack of ["dev", "prod"]) {
        const { first, later } = await timePlan(stack);
        const best = Math.min(...later);
        console.log(`  ${stack.padEnd(5)} first ${seconds(first)} s, then ${later.map(seconds).join(" s, ")} s  -> ${(best / 1000 / PLAN_TARGET_S).toFixed(2)} of the target`);
    }
    const cold = Date.now();
    const cli = spawnSync("npx", ["ts-node", "--transpile-only", "tools/plan.ts", "--stack", "dev", "--json"], { cwd: root, encoding: "utf8" });
    console.log(`  npm run plan -- --stack dev (cold process, incl. ts-node start): ${seconds(Date.now() - cold)} s, exit ${cli.status}`);

    if (process.argv.includes("--skip-tests")) return;
    console.log(`Test suite (npm test: tsc --noEmit + mocha; target <= ${TEST_TARGET_S} s):`);
    const start = Date.now();
    const tests = spawnSync("npm", ["test", "--silent"], { cwd: root, encoding: "utf8" });
    const elapsed = Date.now() - start;
    const summary = (tests.stdout.match(/\d+ passing.*|\d+ failing.*|\d+ pending.*/g) ?? []).join(", ");
    console.log(`  ${seconds(elapsed)} s (${(elapsed / 1000 / TEST_TARGET_S).toFixed(2)} of the target), exit ${tests.status}; ${summary}`);
}

main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
});
