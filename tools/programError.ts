/**
 * What a plan reports when the program cannot run: its config (the stack file, or what the
 * program's own validation refused) or the program itself. Plain data, without the engine: the
 * plan checks the project's stack file with it before running the program (tools/plan.ts), and
 * the offline engine reports with it after a run (tools/offline.ts), in the same words.
 */

/** Bad config or a program that failed: the plan exits 2 with this message. */
export class ProgramError extends Error {
    constructor(
        message: string,
        readonly kind: "config" | "program",
    ) {
        super(message);
        this.name = "ProgramError";
    }
}

/** One bad config key, as the engine or the program's validation names it. */
export interface ConfigProblem {
    key: string;
    value: unknown;
    message: string;
}

/** The engine's problems and the program's, one per key (the program's words win: they say what is allowed). */
export function mergeProblems(engine: ConfigProblem[], program: ConfigProblem[]): ConfigProblem[] {
    const programKeys = new Set(program.map((p) => p.key));
    return [...engine.filter((p) => !programKeys.has(p.key)), ...program];
}

export function configError(stack: string, problems: ConfigProblem[]): ProgramError {
    const lines = problems.map((p) => `  - ${p.key}${p.value === undefined ? "" : ` = ${JSON.stringify(p.value)}`}: ${p.message}`);
    return new ProgramError(`Invalid configuration for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`, "config");
}
