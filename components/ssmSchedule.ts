/** AWS Systems Manager State Manager's rules for association schedules (the components that schedule associations check theirs). */

/**
 * Why a State Manager association would refuse `expression`, or undefined when it is accepted.
 * AWS Systems Manager User Guide, "Reference: Cron and rate expressions for Systems Manager" /
 * "Cron and rate expressions for associations"
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html):
 * associations "only support the following cron expressions: every 1/2, 1, 2, 4, 8, or 12 hours;
 * every day or every week at a specific time", and rate expressions of "30 minutes or greater and
 * less than 31 days"; an optional leading Seconds field may only be 0; a value in day-of-month
 * and in day-of-week needs `?` in the other; `rate(1 hours)` and `rate(5 hour)` are invalid.
 * With `cronOnly`, rate() is refused too: `ApplyOnlyAtCronInterval` "isn't supported for rate
 * expressions" (CreateAssociation API reference).
 */
export function associationScheduleProblem(expression: string, cronOnly = false): string | undefined {
    const examples = 'e.g. "cron(0 2 ? * * *)" (daily 02:00 UTC), "cron(0 3 ? * SUN *)" (weekly), "cron(0 0/4 * * ? *)" (every 4 hours)';
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (rate) {
        if (cronOnly) return `must be a cron expression (${examples}): this association runs only at its schedule (ApplyOnlyAtCronInterval), which AWS rejects with rate() expressions`;
        const n = Number(rate[1]);
        const unit = rate[2];
        if (n === 0) return "a rate must be a positive number";
        if ((n === 1) !== !unit.endsWith("s")) return `"${n} ${unit}" is not accepted: the unit is singular for 1 and plural otherwise (rate(1 hour), rate(5 hours))`;
        const minutes = n * (unit.startsWith("minute") ? 1 : unit.startsWith("hour") ? 60 : 1440);
        if (minutes < 30) return "State Manager associations run at most every 30 minutes (rate(30 minutes) or more)";
        if (minutes >= 31 * 1440) return "State Manager association rates must be less than 31 days";
        return undefined;
    }
    const cron = /^cron\(([^()]*)\)$/.exec(expression);
    if (!cron) return `must be an AWS schedule expression: cron(...) with six fields or rate(N unit); ${examples}`;
    let fields = cron[1].trim().split(/\s+/);
    if (fields.length === 7) {
        if (fields[0] !== "0") return "the optional Seconds field of an association's cron expression can only be 0";
        fields = fields.slice(1);
    }
    if (fields.length !== 6) return `a cron expression has six fields (minutes hours day-of-month month day-of-week year), not ${fields.length}; ${examples}`;
    const [minute, hour, dom, month, dow, year] = fields;
    const single = (v: string, max: number) => /^\d{1,2}$/.test(v) && Number(v) <= max;
    const unsupported = `State Manager associations accept only every 30 minutes, every 1, 2, 4, 8 or 12 hours, or daily, weekly or on the Nth weekday of the month (e.g. SUN#1) at a fixed time; ${examples}`;
    if (month !== "*" || year !== "*") return unsupported;
    if ((dom === "?") === (dow === "?")) return "exactly one of day-of-month and day-of-week must be ? (a value in one needs ? in the other)";
    const daily = (dom === "*" || dom === "?") && (dow === "*" || dow === "?");
    const weekly = dom === "?" && (/^(SUN|MON|TUE|WED|THU|FRI|SAT)$/.test(dow) || /^[1-7]$/.test(dow));
    // The Nth weekday of every month ("THU#2"): the form the Systems Manager User Guide's own
    // association example uses (Reference: Cron and rate expressions for Systems Manager,
    // "Association example": cron(0 0 ? * THU#2 *) with --schedule-offset,
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html).
    const monthlyNthWeekday = dom === "?" && /^(SUN|MON|TUE|WED|THU|FRI|SAT|[1-7])#[1-5]$/.test(dow);
    const every = (v: string) => /^(0|\*)\/(\d+)$/.exec(v)?.[2];
    if (daily && hour === "*" && every(minute) === "30") return undefined;
    if (daily && single(minute, 59) && (hour === "*" || ["1", "2", "4", "8", "12"].includes(every(hour) ?? ""))) return undefined;
    if ((daily || weekly || monthlyNthWeekday) && single(minute, 59) && single(hour, 23)) return undefined;
    return unsupported;
}
