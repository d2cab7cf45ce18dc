/**
 * Rules AWS enforces only when it creates the resource, checked in config instead (one config
 * error naming the key, exit 2) so `pulumi up` does not stop halfway.
 *
 * Schedules: AWS Systems Manager User Guide, "Reference: Cron and rate expressions for Systems
 * Manager" / "Cron and rate expressions for associations"
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/reference-cron-and-rate-expressions.html);
 * ApplyOnlyAtCronInterval "isn't supported for rate expressions" (CreateAssociation API reference).
 * Names: the API references cited in config/names.ts.
 */
import { strict as assert } from "assert";
import { ConfigError, parseStackConfig } from "../config";
import { builtNames, nameProblems } from "../config/names";
import { associationScheduleProblem } from "../components/ssmSchedule";
import { runPlan } from "./support/cli";
import { tempStackFile } from "./support/stacks";

function problems(raw: Record<string, unknown>, stack = "dev"): string[] {
    const encoded: Record<string, string> = { "aws:region": "us-east-1", "platform:environment": "dev" };
    for (const [k, v] of Object.entries(raw)) encoded[k] = typeof v === "string" ? v : JSON.stringify(v);
    try {
        parseStackConfig(encoded, "platform", stack);
    } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems.map((p) => `${p.key} = ${JSON.stringify(p.value)}: ${p.message}`);
    }
    return [];
}

describe("config: State Manager association schedules", () => {
    const accepted = [
        "cron(0 2 * * ? *)", // daily (dev's backup)
        "cron(0 */4 * * ? *)", // every 4 hours (prod's backup)
        "cron(0 0/4 * * ? *)",
        "cron(0/30 * * * ? *)", // every 30 minutes
        "cron(0 */30 * * * ? *)", // the documented 7-field form: Seconds 0
        "cron(15 13 ? * * *)",
        "cron(15 13 ? * MON *)", // weekly
        "cron(0 3 ? * SUN *)", // weekly
        "cron(0 3 ? * SUN#1 *)", // the default bake schedule: first Sunday of the month
        "cron(0 0 ? * THU#2 *)", // the User Guide's own association example
        "cron(0 4 ? * SAT *)",
        "cron(5 0/12 * * ? *)",
        "cron(0 * * * ? *)",
        "rate(30 minutes)",
        "rate(1 hour)",
        "rate(5 hours)",
        "rate(30 days)",
    ];
    const refused: Array<[string, RegExp]> = [
        ["rate(15 minutes)", /at most every 30 minutes/],
        ["rate(29 minutes)", /at most every 30 minutes/],
        ["rate(31 days)", /less than 31 days/],
        ["rate(1 hours)", /singular for 1 and plural/],
        ["rate(5 hour)", /singular for 1 and plural/],
        ["rate(0 minutes)", /positive/],
        ["cron(0/15 * * * ? *)", /only every 30 minutes, every 1, 2, 4, 8 or 12 hours/], // every 15 minutes
        ["cron(0 0/3 * * ? *)", /only every 30 minutes/], // every 3 hours
        ["cron(0 3 ? * SUN#6 *)", /only every 30 minutes/], // there is no sixth Sunday
        ["cron(0 8 1 * ? *)", /only every 30 minutes/], // monthly on the 1st
        ["cron(0 18 ? * MON-FRI *)", /only every 30 minutes/],
        ["cron(0 2 * * * *)", /exactly one of day-of-month and day-of-week must be \?/],
        ["cron(0 2 ? * ? *)", /exactly one of day-of-month and day-of-week must be \?/],
        ["cron(30 0 2 * * ? *)", /Seconds field .* can only be 0/],
        ["cron(0 2 * * ?)", /six fields/],
        ["every day", /must be an AWS schedule expression/],
    ];
    for (const e of accepted) it(`accepts ${e}`, () => assert.strictEqual(associationScheduleProblem(e), undefined));
    for (const [e, why] of refused) it(`refuses ${e}`, () => assert.match(associationScheduleProblem(e) ?? "(accepted)", why));

    it("a rate() schedule is refused where the association runs only at its cron interval (the AMI factory's)", () => {
        assert.match(associationScheduleProblem("rate(7 days)", true) ?? "", /must be a cron expression.*ApplyOnlyAtCronInterval/);
    });

    it("names the key: backup.schedule, amiFactory.bakeSchedule, amiFactory.imagingSchedule, all at once", () => {
        const found = problems({ "platform:backup": { schedule: "rate(10 minutes)" }, "platform:amiFactory": { bakeSchedule: "cron(0 3 ? * SUN#9 *)", imagingSchedule: "rate(7 days)" } });
        assert.deepStrictEqual(
            found.map((p) => p.split(" = ")[0]),
            ["platform:backup.schedule", "platform:amiFactory.bakeSchedule", "platform:amiFactory.imagingSchedule"],
        );
        assert.match(found[0], /"rate\(10 minutes\)": State Manager associations run at most every 30 minutes/);
    });

    it("a bad schedule in a stack file makes the plan exit 2 with the key named", async () => {
        const file = tempStackFile("dev", { "platform:backup": { schedule: "rate(5 minutes)", directories: ["/var/www"] } });
        const r = await runPlan(["--stack", "dev", "--config", file]);
        assert.strictEqual(r.code, 2, r.stderr);
        assert.match(r.stderr, /platform:backup\.schedule = "rate\(5 minutes\)": State Manager associations run at most every 30 minutes/);
    });
});

describe("config: schedules whose freshness alarm CloudWatch can evaluate", () => {
    // The backup's and the drill's "has not run" alarms allow twice the schedule's interval, and a
    // CloudWatch alarm evaluates at most 7 days (PutMetricAlarm: Period × EvaluationPeriods ≤ 604,800 s,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    it("a weekly backup or drill schedule is refused, naming the key and the limit; daily and every 3 days are fine", () => {
        const found = problems({ "platform:backup": { schedule: "cron(0 3 ? * SUN *)", drill: { schedule: "rate(4 days)" } } });
        assert.deepStrictEqual(found.map((p) => p.split(" = ")[0]), ["platform:backup.schedule", "platform:backup.drill.schedule"]);
        assert.match(found[0], /"cron\(0 3 \? \* SUN \*\)": runs every 7 days, so its "has not run" alarm would have to watch 14 days \(twice the interval\), but a CloudWatch alarm evaluates at most 7 days/);
        assert.match(found[1], /"rate\(4 days\)": runs every 4 days, so its "has not run" alarm would have to watch 8 days/);
        assert.deepStrictEqual(problems({ "platform:backup": { schedule: "rate(3 days)", drill: { schedule: "cron(0 4 * * ? *)" } } }), []);
    });

    it("the drill's schedule must be one State Manager accepts, and its other settings are checked too", () => {
        const found = problems({ "platform:backup": { drill: { schedule: "rate(10 minutes)", mode: "sometimes", timeoutSeconds: 10, reserveBytes: -1, extra: true } } });
        assert.deepStrictEqual(found.map((p) => p.split(" = ")[0]).sort(), [
            "platform:backup.drill.extra",
            "platform:backup.drill.mode",
            "platform:backup.drill.reserveBytes",
            "platform:backup.drill.schedule",
            "platform:backup.drill.timeoutSeconds",
        ]);
    });

    it("a disabled drill's schedule is not watched, so it is not held to the alarm's limit", () => {
        assert.deepStrictEqual(problems({ "platform:backup": { drill: { enabled: false, schedule: "cron(0 3 ? * SUN *)" } } }), []);
    });
});

describe("config: names built from the stack name", () => {
    it("the shipped stacks make only valid names", () => {
        for (const stack of ["dev", "prod", "staging"]) assert.deepStrictEqual(nameProblems("platform", stack), [], stack);
    });

    it("a '.' in the stack name breaks the SNS topic, KMS alias and dashboard names", () => {
        const found = problems({}, "dev.eu");
        assert.ok(found.some((p) => /^stack name = "dev.eu": makes the SNS topic name "platform-dev.eu-alerts"/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /KMS alias name "alias\/platform-dev.eu-alerts"/.test(p)), found.join("\n"));
        assert.ok(found.some((p) => /CloudWatch dashboard name "platform-dev.eu"/.test(p)), found.join("\n"));
    });

    it("a stack name starting with 'aws' makes SSM document names AWS reserves", () => {
        assert.ok(problems({}, "aws-test").some((p) => /SSM document name "aws-test-web-bake-prepare".*reserved/.test(p)));
    });

    it("a long stack name overflows the 64-character EventBridge rule names first", () => {
        const stack = "a".repeat(30);
        assert.ok(problems({}, "a".repeat(29)).length === 0);
        const found = problems({}, stack);
        assert.deepStrictEqual(found.map((p) => /makes the (.*?) name "/.exec(p)?.[1]), ["EventBridge rule"]);
        assert.ok(builtNames("platform", stack).some(([, n]) => n.length > 64));
    });
});
