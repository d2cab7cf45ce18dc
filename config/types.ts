import { z } from "zod";

/** The environments a stack can declare; each has its own defaults (see `profiles`). */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** One thing wrong with the stack config: the key, the value given and what is allowed. */
export interface ConfigProblem {
    /** Full key as a user writes it, e.g. `platform:network.azCount`. */
    key: string;
    /** The value the stack file gave (undefined when the key is missing). */
    value: unknown;
    /** What is wrong and what is allowed. */
    message: string;
}

/** Everything a section's cross-field checks may need besides the section itself. */
export interface CheckContext {
    environment: Environment;
    stack: string;
}

/**
 * A config section (one object-valued key such as `platform:webTier`): its strict schema
 * (every field required once defaults are merged in), its per-environment defaults, and the
 * checks that span several fields. Sections never throw: they return problems.
 */
export interface Section<S extends z.ZodType> {
    /** The config key (without the `platform:` namespace). */
    key: string;
    schema: S;
    defaults(environment: Environment, stack: string): z.input<NoInfer<S>>;
    check?(value: z.output<NoInfer<S>>, context: CheckContext): Array<{ path: string; message: string }>;
}

export function section<S extends z.ZodType>(s: Section<S>): Section<S> {
    return s;
}

/** An SSM/EventBridge schedule: `cron(...)` with six fields or `rate(N unit)`. */
export const scheduleExpression = z
    .string()
    .regex(
        /^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/,
        'must be an AWS schedule expression such as "cron(0 2 * * ? *)" (six fields) or "rate(4 hours)"',
    );

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
