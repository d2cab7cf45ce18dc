/**
 * CPU times from Linux's /proc/PID/stat (proc(5)), in seconds: a process's own (utime + stime)
 * and that of its children it has waited for (cutime + cstime). Undefined where it cannot be
 * read (the process is gone, or this is not Linux).
 */
import * as fs from "fs";

const CLOCK_TICKS_PER_SECOND = 100;

export function processCpuSeconds(pid: number | "self" | undefined): { own: number; waitedChildren: number } | undefined {
    if (pid === undefined) return undefined; // a child that never started
    try {
        // After the command name (which may hold spaces, hence the split at ") "): state is field 3,
        // utime and stime are fields 14 and 15, cutime and cstime 16 and 17.
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        return {
            own: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
            waitedChildren: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND,
        };
    } catch {
        return undefined;
    }
}
