/**
 * The process side of every CLI here: what a user's shell sees. `main()` returns the exit
 * code; anything that escapes it (an exception or rejection that surfaces later, from a
 * timer or a promise nobody awaited) still ends the process with one line on stderr and the
 * CLI's code for errors, never Node's default dump, stack trace and exit code 1.
 */

/** The message of anything thrown, without a stack: `Name: message` for errors. */
export function describeError(err: unknown): string {
    if (err instanceof Error) return err.message.startsWith(`${err.name}:`) ? err.message : `${err.name}: ${err.message}`;
    return String(err);
}

let claims = 0;

/**
 * Claims the process's stray errors for a while (the offline engine during a run, which
 * collects them itself and reports them as the run's failure); returns the release.
 */
export function claimAsyncErrors(): () => void {
    claims++;
    let released = false;
    return () => {
        if (!released) claims--;
        released = true;
    };
}

/**
 * Runs `main` as the process's entry. `name` prefixes the last-resort message; `errorCode` is
 * the exit code for an error `main` did not handle. By default the process ends when its work
 * does (so a late error still changes the exit code); `exitWhenDone` ends it as soon as `main`
 * returns (the AWS SDK's keep-alive sockets would hold it open).
 */
export function runCli(name: string, main: (argv: string[]) => Promise<number>, errorCode: number, options: { exitWhenDone?: boolean } = {}): void {
    const fail = (err: unknown) => {
        process.stderr.write(`${name} failed: ${describeError(err)}\n`);
        // Writes to pipes and files are synchronous on Linux, so nothing printed is lost.
        process.exit(errorCode);
    };
    const stray = (err: unknown) => {
        if (claims === 0) fail(err);
    };
    process.on("uncaughtException", stray);
    process.on("unhandledRejection", stray);
    // A reader that stops early (`| head`) is not an error of this command: the rest of the
    // output goes nowhere and the exit code stays the command's.
    process.stdout.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code !== "EPIPE") fail(err);
    });
    main(process.argv.slice(2)).then((code) => {
        if (options.exitWhenDone) process.exit(code);
        process.exitCode = code;
    }, fail);
}
