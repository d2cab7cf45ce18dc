/**
 * How long a scheduled job may stay silent before its "has not run" alarm fires, derived from its
 * State Manager schedule, and the CloudWatch alarm window that watches that gap.
 *
 * The allowed gap is twice the schedule's interval: one missed run is tolerated (a late or slow
 * run, an instance replaced at the wrong moment), two in a row are not. The alarm counts the
 * job's success datapoints per period and fires when every period of the window has none
 * (treatMissingData breaching, datapointsToAlarm = evaluationPeriods).
 *
 * CloudWatch limits the window: "An alarm's total current evaluation period can be no longer than
 * seven days, so Period multiplied by EvaluationPeriods can't be more than 604,800 seconds. For
 * alarms with a period of less than one hour (3,600 seconds), the total evaluation period can't be
 * longer than one day (86,400 seconds)" (Amazon CloudWatch API Reference, PutMetricAlarm, Period:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html). So the
 * period is the interval up to an hour, and a schedule whose allowed gap exceeds seven days (runs
 * less often than every 3.5 days: weekly, monthly, rate(4 days) or more) cannot be watched this way.
 */

/** The longest window an alarm with a period of an hour or more may evaluate (seconds). */
export const MAX_ALARM_WINDOW_SECONDS = 7 * 86400;
/** The longest window an alarm with a period under an hour may evaluate (seconds). */
export const MAX_SHORT_PERIOD_WINDOW_SECONDS = 86400;

/**
 * The longest time between two runs of an association schedule, in seconds, for the forms
 * components/ssmSchedule.ts associationScheduleProblem accepts; undefined for anything else.
 */
export function scheduleIntervalSeconds(expression: string): number | undefined {
    const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (rate) return Number(rate[1]) * (rate[2].startsWith("minute") ? 60 : rate[2].startsWith("hour") ? 3600 : 86400);
    const cron = /^cron\(([^()]*)\)$/.exec(expression);
    if (!cron) return undefined;
    let fields = cron[1].trim().split(/\s+/);
    if (fields.length === 7) fields = fields.slice(1);
    if (fields.length !== 6) return undefined;
    const [minute, hour, dom, , dow] = fields;
    const every = (v: string) => /^(?:0|\*)\/(\d+)$/.exec(v)?.[1];
    if (hour === "*" && every(minute) !== undefined) return Number(every(minute)) * 60;
    if (hour === "*") return 3600;
    if (every(hour) !== undefined) return Number(every(hour)) * 3600;
    // The Nth weekday of the month: at most five weeks apart (e.g. the first Sunday of two months).
    if (/#/.test(dow)) return 35 * 86400;
    if (dom === "?" && dow !== "*" && dow !== "?") return 7 * 86400;
    if (/^\d{1,2}$/.test(hour)) return 86400;
    return undefined;
}

export interface FreshnessWindow {
    /** Allowed gap: twice the interval (seconds). */
    gapSeconds: number;
    period: number;
    evaluationPeriods: number;
}

/** The alarm window for a schedule, or a sentence saying why it cannot be watched. */
export function freshnessWindow(expression: string): FreshnessWindow | string {
    const interval = scheduleIntervalSeconds(expression);
    if (interval === undefined) return `cannot tell how often ${expression} runs`;
    const gapSeconds = 2 * interval;
    const period = Math.min(interval, 3600);
    const evaluationPeriods = Math.ceil(gapSeconds / period);
    const limit = period < 3600 ? MAX_SHORT_PERIOD_WINDOW_SECONDS : MAX_ALARM_WINDOW_SECONDS;
    if (period * evaluationPeriods > limit) {
        return `runs every ${describeSeconds(interval)}, so its "has not run" alarm would have to watch ${describeSeconds(gapSeconds)} (twice the interval), but a CloudWatch alarm evaluates at most ${describeSeconds(limit)} (PutMetricAlarm: Period × EvaluationPeriods ≤ 604,800 s); run it at least every 3.5 days, e.g. daily "cron(0 2 * * ? *)"`;
    }
    return { gapSeconds, period, evaluationPeriods };
}

export function describeSeconds(s: number): string {
    if (s % 86400 === 0) return `${s / 86400} day${s === 86400 ? "" : "s"}`;
    if (s % 3600 === 0) return `${s / 3600} hour${s === 3600 ? "" : "s"}`;
    return `${s / 60} minutes`;
}
