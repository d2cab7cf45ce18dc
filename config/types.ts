import { z } from "zod";
import { associationScheduleProblem } from "../components/ssmSchedule";

export { associationScheduleProblem };

/** The environments a stack can declare; each has its own defaults (see `profiles`). */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export type { ConfigProblem } from "./problems";

/** Everything a section's cross-field checks may need besides the section itself. */
export interface CheckContext {
    environment: Environment;
    stack: string;
}

/** What one check found wrong: the field (a path inside the section) and why. */
export interface Finding {
    path: string;
    message: string;
}

/**
 * One check across fields: it reads what it needs and returns what is wrong (nothing when
 * all is well). Keep each check to one rule: when a field fails the schema, the config loader
 * skips exactly the checks that read it (it records what each one reads), so the others still
 * report and none reports on a placeholder.
 */
export type Check<T> = (value: T, context: CheckContext) => Finding | Finding[] | undefined | false;

/** A section's checks, callable as one function (all findings) with the single checks in `each`. */
export interface Checks<T> {
    (value: T, context: CheckContext): Finding[];
    readonly each: ReadonlyArray<Check<T>>;
}

/** The findings of one check, as a list. */
export function findings(result: ReturnType<Check<never>>): Finding[] {
    return !result ? [] : Array.isArray(result) ? result : [result];
}

export function checks<T>(...each: Array<Check<T>>): Checks<T> {
    const all = (value: T, context: CheckContext) => each.flatMap((check) => findings(check(value, context)));
    return Object.assign(all, { each });
}

/**
 * A config section (one object-valued key such as `platform:webTier`): its strict schema
 * (every field required once defaults are merged in), its per-environment defaults, and the
 * checks that span several fields (see `checks`). Sections never throw: they return problems.
 */
export interface Section<S extends z.ZodType> {
    /** The config key (without the `platform:` namespace). */
    key: string;
    schema: S;
    defaults(environment: Environment, stack: string): z.input<NoInfer<S>>;
    check?: ((value: z.output<NoInfer<S>>, context: CheckContext) => Finding[]) | Checks<z.output<NoInfer<S>>>;
}

export function section<S extends z.ZodType>(s: Section<S>): Section<S> {
    return s;
}

/** A State Manager association schedule (see associationScheduleProblem). */
export const associationSchedule = z.string().superRefine((v, ctx) => {
    const problem = associationScheduleProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** An association schedule that must be cron (the association sets ApplyOnlyAtCronInterval). */
export const associationCronSchedule = z.string().superRefine((v, ctx) => {
    const problem = associationScheduleProblem(v, true);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** Kept for callers outside config: every schedule the program builds is an association's. */
export const scheduleExpression = associationSchedule;

/** A tag key/value pair used to select instances. */
export const tagSelector = z
    .object({
        key: z.string().regex(/^[\w.:/=+@-]{1,128}$/, "must be a valid EC2 tag key"),
        value: z.string().regex(/^[\w.:/=+@ -]{0,256}$/, "must be a valid EC2 tag value"),
    })
    .strict();

export const absolutePath = z
    .string()
    .regex(/^\/[A-Za-z0-9._\/-]*$/, "must be an absolute path of letters, digits, '.', '_', '-' and '/'")
    .refine((p) => !p.split("/").includes(".."), "must not contain '..'");
