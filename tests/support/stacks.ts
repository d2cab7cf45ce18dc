/**
 * Shared helpers for tests: cached offline runs of the shipped stacks, temporary stack files
 * and small graph queries. runOffline is process-global, so runs are serialised here.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { OfflineResult, PROJECT_DIR, runOffline } from "../../tools/offline";
import { tempDir } from "./tmp";

const cache = new Map<string, Promise<OfflineResult>>();
let queue: Promise<unknown> = Promise.resolve();

/** Runs (once per process) the offline engine for a shipped stack. */
export function stackRun(stack: string): Promise<OfflineResult> {
    if (!cache.has(stack)) {
        const run = queue.then(() => runOffline({ stack }));
        queue = run.catch(() => undefined);
        cache.set(stack, run);
    }
    return cache.get(stack)!;
}

/** Runs the offline engine serially with the given options (no caching). */
export function serialRun(options: Parameters<typeof runOffline>[0]): Promise<OfflineResult> {
    const run = queue.then(() => runOffline(options));
    queue = run.catch(() => undefined);
    return run;
}

/** Reads a shipped stack file's `config:` block. */
export function shippedConfig(stack: string): Record<string, unknown> {
    return (parse(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
}

/** Writes a temporary stack file: a shipped stack's config with keys replaced (undefined deletes). */
export function tempStackFile(base: string | null, overrides: Record<string, unknown>): string {
    const config: Record<string, unknown> = base ? { ...shippedConfig(base) } : {};
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete config[k];
        else config[k] = v;
    }
    return stackFileText(stringify({ config }));
}

/** Writes `text`, as it is, as a stack file in a fresh temporary directory and returns its path. */
export function stackFileText(text: string): string {
    const file = path.join(tempDir("platform-stack-"), "Pulumi.test.yaml");
    fs.writeFileSync(file, text);
    return file;
}

export { byType, childrenOf, json, one } from "./resources";

/**
 * Overrides that turn the shipped dev stack into the prod-shaped dev (ALB + Auto Scaling
 * group in private subnets behind one NAT gateway), for tests of what only that shape has.
 */
export function devWithLoadBalancer(): Record<string, unknown> {
    const shipped = shippedConfig("dev");
    return {
        "platform:network": { ...(shipped["platform:network"] as object), natGateways: "single" },
        "platform:webTier": { ...(shipped["platform:webTier"] as object), mode: "asg" },
    };
}
