/**
 * Where a test run's time goes, per test file: with `PLATFORM_TEST_TIMES=FILE` set, each test
 * file appends one JSON line to FILE when it is done (from the root `afterAll`, which mocha
 * runs after each file with `--parallel`): its wall time in the worker, from the end of the
 * worker's previous file (so loading and transpiling its imports count), the worker's CPU time
 * and that of the processes it started and waited for (servers, CLIs, the AWS CLI, the warm AWS
 * CLI's calls made for it, and the moto servers kept between files while they run). `npm run
 * bench` reads them; nothing is recorded when the variable is unset.
 */
import * as fs from "fs";
import { processCpuSeconds } from "./procStat";
import { warmAwsCliCpuSeconds } from "../helpers/awsCli";
import { runningMotoCpuSeconds } from "../helpers/moto";

interface Sample {
    wall: number;
    cpu: number;
    children: number;
    warmCli: number;
    moto: number;
}

/** This process's CPU seconds and its waited-for children's (Linux: /proc/self/stat). */
function sample(): Sample {
    const cpu = process.cpuUsage();
    // Not Linux: children unknown.
    const children = processCpuSeconds("self")?.waitedChildren ?? 0;
    // The warm AWS CLI's calls run for this process but are not its children (tests/helpers/awsCli.ts).
    const warmCli = warmAwsCliCpuSeconds();
    // Nor are the moto servers kept from one file to the next (tests/helpers/moto.ts), until they are stopped.
    const moto = runningMotoCpuSeconds();
    return { wall: performance.timeOrigin + performance.now(), cpu: (cpu.user + cpu.system) / 1e6, children: children + warmCli + moto, warmCli, moto };
}

// The worker's start: its first file's time includes the worker's own start-up.
let last: Sample = { wall: performance.timeOrigin, cpu: 0, children: 0, warmCli: 0, moto: 0 };

/** Appends the time since the previous file to PLATFORM_TEST_TIMES, for the files of `suite`. */
export function recordFileTime(files: string[]): void {
    const out = process.env.PLATFORM_TEST_TIMES;
    if (!out) return;
    const now = sample();
    const line = { files, pid: process.pid, wallMs: Math.round(now.wall - last.wall), cpuS: +(now.cpu - last.cpu).toFixed(2), childrenCpuS: +(now.children - last.children).toFixed(2), warmCliCpuS: +(now.warmCli - last.warmCli).toFixed(2), runningMotoCpuS: +(now.moto - last.moto).toFixed(2), endMs: Math.round(now.wall) };
    fs.appendFileSync(out, JSON.stringify(line) + "\n");
    last = now;
}
