/**
 * A config problem and the one message that lists them: the program's validation (config.ts)
 * and the plan (tools/programError.ts, for the engine's problems merged with the program's) print
 * the same words. No imports: the plan loads this before anything else of the config.
 */

/** One thing wrong with the stack config: the key, the value given and what is allowed. */
export interface ConfigProblem {
    /** Full key as a user writes it, e.g. `platform:network.azCount`. */
    key: string;
    /** The value the stack file gave (undefined when the key is missing). */
    value: unknown;
    /** What is wrong and what is allowed. */
    message: string;
}

export function formatProblems(stack: string, problems: ConfigProblem[]): string {
    const lines = problems.map((p) => `  - ${p.key}${p.value === undefined ? "" : ` = ${JSON.stringify(p.value)}`}: ${p.message}`);
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    return `Invalid configuration for stack "${stack}" (${count}):\n${lines.join("\n")}`;
}
