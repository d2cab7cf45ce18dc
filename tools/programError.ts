/**
 * What a plan reports when the program cannot run: its config (the stack file, or what the
 * program's own validation refused) or the program itself. Plain data, without the engine: the
 * plan checks the project's stack file with it before running the program (tools/plan.ts), and
 * the offline engine reports with it after a run (tools/offline.ts), in the same words
 * (config/problems.ts, which the program's own validation prints too).
 */
import { ConfigProblem, formatProblems } from "../config/problems";

export type { ConfigProblem };

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


/** The engine's problems and the program's, one per key (the program's words win: they say what is allowed). */
export function mergeProblems(engine: ConfigProblem[], program: ConfigProblem[]): ConfigProblem[] {
    const programKeys = new Set(program.map((p) => p.key));
    return [...engine.filter((p) => !programKeys.has(p.key)), ...program];
}

export function configError(stack: string, problems: ConfigProblem[]): ProgramError {
    return new ProgramError(formatProblems(stack, problems), "config");
}
