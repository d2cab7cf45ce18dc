import { main } from "../../tools/plan";

/** Runs `npm run plan` in-process with these arguments, capturing stdout and stderr. */
export async function runPlan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    (process.stdout as any).write = (chunk: string) => ((stdout += chunk), true);
    (process.stderr as any).write = (chunk: string) => ((stderr += chunk), true);
    try {
        return { code: await main(args), stdout, stderr };
    } finally {
        (process.stdout as any).write = out;
        (process.stderr as any).write = err;
    }
}
