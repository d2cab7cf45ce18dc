/**
 * Temporary directories for tests, made in one folder of the run's temporary directory
 * (TEMP_DIRS_FOLDER) so that what a test makes without tempDir can be told from them at the
 * end of the run (tests/support/rootHooks.ts). They are removed by the root `afterAll` hook,
 * when the process exits, and at the latest by the run's teardown, which removes the whole
 * run directory: mocha 11 runs a root `afterAll` once per worker, not once per file, and a
 * worker the pool kills when it is slow to exit (a loaded machine) runs no exit handler, so
 * neither of the first two can be the guarantee.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const created = new Set<string>();

/** The folder of the run's temporary directory that holds every tempDir. */
export const TEMP_DIRS_FOLDER = "tempdirs";

/**
 * A new empty directory in the run's tempdirs folder that the root hook leaves alone: for what
 * lives as long as its test process rather than one test file (the warm AWS CLI server, which
 * removes it itself). The run's teardown removes it at the latest.
 */
export function runTempDir(prefix: string): string {
    const parent = path.join(os.tmpdir(), TEMP_DIRS_FOLDER);
    if (!fs.existsSync(parent)) {
        fs.mkdirSync(parent, { recursive: true });
        // As the run directory: servers that run as `nobody` must reach their own directories below it.
        fs.chmodSync(parent, 0o711);
    }
    return fs.mkdtempSync(path.join(parent, prefix));
}

/** A new empty directory in the run's temporary directory (its tempdirs folder), removed by the end of the run. */
export function tempDir(prefix: string): string {
    const dir = runTempDir(prefix);
    created.add(dir);
    return dir;
}

/** Removes every directory `tempDir` made so far. */
export function removeTempDirs(): void {
    for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
    created.clear();
}

process.on("exit", removeTempDirs);
