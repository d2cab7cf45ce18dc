/**
 * Backup freshness and restore drill alarms in the plans of both shipped stacks, and the CloudWatch
 * rules they depend on. The backup (backup.sh) publishes BackupSuccess and the drill (drill.sh)
 * RestoreDrillSuccess/RestoreDrillSeconds with dimensions Stack+Directory (what the alarms watch)
 * and Stack+InstanceId+Directory (detail): tests/drillScript.test.ts shows the scripts publish them.
 */
import { strict as assert } from "assert";
import { freshnessWindow, scheduleIntervalSeconds } from "../components/freshness";
import { Graph, GraphResource } from "../tools/graph";
import { stackRun } from "./support/stacks";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";

const EXPECTED = {
    // dev: daily backups at 02:00 (48 hours allowed, hourly periods), daily drills.
    dev: { backupPeriods: 48, gap: "2 days", drillPeriods: 48, backupSchedule: "cron(0 2 * * ? *)", drillSchedule: "cron(30 6 * * ? *)" },
    // prod: backups every 4 hours (8 hours allowed), daily drills.
    prod: { backupPeriods: 8, gap: "8 hours", drillPeriods: 48, backupSchedule: "cron(0 */4 * * ? *)", drillSchedule: "cron(30 5 * * ? *)" },
} as const;

describe("backup freshness and restore drill alarms", function () {
    this.timeout(240000);
    const graphs: Record<string, Graph> = {};
    before(async () => {
        for (const stack of ["dev", "prod"]) graphs[stack] = (await stackRun(stack)).graph;
    });

    for (const stack of ["dev", "prod"] as const) {
        describe(`stack ${stack}`, () => {
            const alarm = (name: string): GraphResource => {
                const found = graphs[stack].resources.filter((r) => r.type === ALARM && r.name === `monitoring-${name}`);
                assert.equal(found.length, 1, name);
                return found[0];
            };
            const topicArn = `arn:aws:sns:us-east-1:123456789012:platform-${stack}-alerts`;

            for (const [directory, slug] of [["/var/www", "var-www"], ["/etc/platform", "etc-platform"]]) {
                it(`${directory}: no good backup for twice the schedule's interval (${EXPECTED[stack].backupSchedule}) alarms, missing data included`, () => {
                    const a = alarm(`backup-stale-${slug}`).inputs;
                    assert.deepEqual(
                        { ...a, alarmDescription: undefined },
                        {
                            name: `platform-${stack}-backup-stale-${slug}`,
                            alarmDescription: undefined,
                            alarmActions: [topicArn],
                            okActions: [topicArn],
                            namespace: "Platform/Backups",
                            metricName: "BackupSuccess",
                            // Stack+Directory, not InstanceId: the group's instances come and go, the alarm must not.
                            dimensions: { Stack: stack, Directory: directory },
                            statistic: "Sum",
                            period: 3600,
                            evaluationPeriods: EXPECTED[stack].backupPeriods,
                            datapointsToAlarm: EXPECTED[stack].backupPeriods,
                            comparisonOperator: "LessThanThreshold",
                            threshold: 1,
                            treatMissingData: "breaching",
                        },
                    );
                    assert.match(a.alarmDescription as string, new RegExp(`^No good backup of ${directory} for ${EXPECTED[stack].gap} \\(twice the backup schedule`));
                });

                it(`${directory}: a failed drill alarms at once and stays on until a drill succeeds; no drill for twice ${EXPECTED[stack].drillSchedule}'s interval alarms`, () => {
                    const failed = alarm(`restore-drill-failed-${slug}`).inputs;
                    assert.deepEqual(
                        [failed.metricName, failed.dimensions, failed.statistic, failed.period, failed.evaluationPeriods, failed.comparisonOperator, failed.threshold, failed.treatMissingData, failed.alarmActions],
                        ["RestoreDrillSuccess", { Stack: stack, Directory: directory }, "Minimum", 3600, 1, "LessThanThreshold", 1, "ignore", [topicArn]],
                    );
                    const missing = alarm(`restore-drill-missing-${slug}`).inputs;
                    assert.deepEqual(
                        [missing.metricName, missing.dimensions, missing.statistic, missing.period, missing.evaluationPeriods, missing.datapointsToAlarm, missing.comparisonOperator, missing.threshold, missing.treatMissingData, missing.okActions],
                        ["RestoreDrillSuccess", { Stack: stack, Directory: directory }, "SampleCount", 3600, EXPECTED[stack].drillPeriods, EXPECTED[stack].drillPeriods, "LessThanThreshold", 1, "breaching", [topicArn]],
                    );
                });
            }

            it("every alarm's window is one CloudWatch evaluates (PutMetricAlarm: Period × EvaluationPeriods ≤ 7 days, ≤ 1 day under hourly periods; M ≤ N)", () => {
                // Amazon CloudWatch API Reference, PutMetricAlarm, Period and EvaluationPeriods:
                // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
                for (const r of graphs[stack].resources.filter((x) => x.type === ALARM)) {
                    const period = r.inputs.period as number;
                    const n = r.inputs.evaluationPeriods as number;
                    assert.ok(period % 60 === 0 || [10, 20, 30].includes(period), `${r.name}: period ${period}`);
                    assert.ok(period * n <= (period < 3600 ? 86400 : 604800), `${r.name}: ${period} × ${n}`);
                    assert.ok(((r.inputs.datapointsToAlarm as number | undefined) ?? n) <= n, r.name);
                }
            });

            it("the dashboard draws the measured restore time per directory", () => {
                const body = JSON.parse(graphs[stack].resources.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody as string);
                const widget = body.widgets.find((w: { properties: { title: string } }) => /Restore drill/.test(w.properties.title));
                assert.deepEqual(widget.properties.metrics, [
                    ["Platform/Backups", "RestoreDrillSeconds", "Stack", stack, "Directory", "/var/www"],
                    ["Platform/Backups", "RestoreDrillSeconds", "Stack", stack, "Directory", "/etc/platform"],
                ]);
            });
        });
    }
});

describe("freshness windows derived from schedules", () => {
    it("intervals of every schedule form associations accept", () => {
        const cases: Array<[string, number]> = [
            ["cron(0/30 * * * ? *)", 1800],
            ["cron(0 * * * ? *)", 3600],
            ["cron(15 */4 * * ? *)", 4 * 3600],
            ["cron(0 0/12 * * ? *)", 12 * 3600],
            ["cron(0 2 * * ? *)", 86400],
            ["cron(0 2 ? * * *)", 86400],
            ["cron(0 3 ? * SUN *)", 7 * 86400],
            ["cron(0 3 ? * SUN#1 *)", 35 * 86400],
            ["rate(30 minutes)", 1800],
            ["rate(6 hours)", 6 * 3600],
            ["rate(3 days)", 3 * 86400],
        ];
        for (const [expression, seconds] of cases) assert.equal(scheduleIntervalSeconds(expression), seconds, expression);
    });

    it("twice the interval, in hourly periods (or the interval, under an hour), within CloudWatch's limits; longer gaps are refused with the reason", () => {
        assert.deepEqual(freshnessWindow("cron(0/30 * * * ? *)"), { gapSeconds: 3600, period: 1800, evaluationPeriods: 2 });
        assert.deepEqual(freshnessWindow("rate(90 minutes)"), { gapSeconds: 10800, period: 3600, evaluationPeriods: 3 });
        assert.deepEqual(freshnessWindow("rate(3 days)"), { gapSeconds: 6 * 86400, period: 3600, evaluationPeriods: 144 });
        for (const weekly of ["cron(0 3 ? * SUN *)", "rate(4 days)", "cron(0 3 ? * SUN#1 *)"]) {
            assert.match(freshnessWindow(weekly) as string, /a CloudWatch alarm evaluates at most 7 days \(PutMetricAlarm: Period × EvaluationPeriods ≤ 604,800 s\); run it at least every 3\.5 days/, weekly);
        }
    });
});
