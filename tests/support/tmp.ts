/**
 * Temporary directories for tests, removed when the test file is done (a root `afterAll`
 * hook, tests/support/rootHooks.ts; with `--parallel` that is after each file) or, at the
 * latest, when the process exits.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const created = new Set<string>();

/** A new empty directory under the system's temporary directory, removed after the test file. */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    created.add(dir);
    return dir;
}

/** Removes every directory `tempDir` made so far. */
export function removeTempDirs(): void {
    for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
    created.clear();
}

process.on("exit", removeTempDirs);
