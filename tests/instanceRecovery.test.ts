/**
 * The single dev instance (no Auto Scaling group to replace it) recovers from a failed system
 * status check and reboots on a failed instance status check, and says so on the alert topic.
 *
 * AWS rules encoded (Amazon CloudWatch User Guide, "Create alarms that stop, terminate, reboot,
 * or recover an instance", https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/UsingAlarmActions.html;
 * Amazon EC2 User Guide, "Recover your instance", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-recover.html):
 * - the recover action works only on StatusCheckFailed_System, not StatusCheckFailed_Instance;
 * - recover and reboot alarms must not share an evaluation period (they would race): AWS
 *   recommends two 1-minute periods for recover and three for reboot, statistic Minimum, > 0;
 * - alarms with EC2 actions should treat missing data as missing;
 * - recovery is supported on some instance types only (T4g, T3, M5, C6g, ...; no metal, no
 *   instance-store "d" variants).
 * - Auto Scaling replaces impaired instances itself: no such alarms in asg mode.
 */
import { strict as assert } from "assert";
import { supportsRecovery } from "../components/monitoring";
import { Graph } from "../tools/graph";
import { byType, one, stackRun } from "./support/stacks";

describe("Single instance recovery (dev)", function () {
    this.timeout(240000);
    let dev: Graph;
    let prod: Graph;
    before(async () => {
        dev = (await stackRun("dev")).graph;
        prod = (await stackRun("prod")).graph;
    });

    it("recovers on a failed system check and reboots on a failed instance check, notifying the topic", () => {
        const instance = one(dev.resources, "aws:ec2/instance:Instance", "web");
        const topic = "arn:aws:sns:us-east-1:123456789012:platform-dev-alerts";
        const pick = (name: string) => {
            const i = one(dev.resources, "aws:cloudwatch/metricAlarm:MetricAlarm", name).inputs;
            return {
                name: i.name, metric: `${i.namespace}/${i.metricName}`, dimensions: i.dimensions, statistic: i.statistic, period: i.period, evaluationPeriods: i.evaluationPeriods,
                datapointsToAlarm: i.datapointsToAlarm, comparison: `${i.comparisonOperator} ${i.threshold}`, treatMissingData: i.treatMissingData, alarmActions: i.alarmActions, okActions: i.okActions,
            };
        };
        assert.deepStrictEqual(pick("monitoring-instance-system-check-failed"), {
            name: "platform-dev-instance-system-check-failed", metric: "AWS/EC2/StatusCheckFailed_System", dimensions: { InstanceId: instance.id }, statistic: "Minimum", period: 60,
            evaluationPeriods: 2, datapointsToAlarm: 2, comparison: "GreaterThanThreshold 0", treatMissingData: "missing", alarmActions: [topic, "arn:aws:automate:us-east-1:ec2:recover"], okActions: [topic],
        });
        assert.deepStrictEqual(pick("monitoring-instance-status-check-failed"), {
            name: "platform-dev-instance-status-check-failed", metric: "AWS/EC2/StatusCheckFailed_Instance", dimensions: { InstanceId: instance.id }, statistic: "Minimum", period: 60,
            evaluationPeriods: 3, datapointsToAlarm: 3, comparison: "GreaterThanThreshold 0", treatMissingData: "missing", alarmActions: [topic, "arn:aws:automate:us-east-1:ec2:reboot"], okActions: [topic],
        });
    });

    it("never puts the recover action on the instance check, nor the same evaluation period on both", () => {
        const alarms = byType(dev.resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => (a.inputs.alarmActions as string[]).some((x) => x.includes(":automate:")));
        assert.equal(alarms.length, 2);
        for (const a of alarms) {
            if ((a.inputs.alarmActions as string[]).some((x) => x.endsWith(":ec2:recover"))) assert.equal(a.inputs.metricName, "StatusCheckFailed_System", a.name);
        }
        assert.notEqual(alarms[0].inputs.evaluationPeriods, alarms[1].inputs.evaluationPeriods);
    });

    it("the shipped dev instance type supports recovery; metal and instance-store types do not", () => {
        const type = one(dev.resources, "aws:ec2/instance:Instance", "web").inputs.instanceType as string;
        assert.equal(type, "t4g.micro");
        assert.ok(supportsRecovery(type));
        for (const t of ["t3.small", "m5.large", "c6g.xlarge", "r6i.large"]) assert.ok(supportsRecovery(t), t);
        for (const t of ["m5d.large", "c5.metal", "i4i.large", "z1d.large"]) assert.ok(!supportsRecovery(t), t);
    });

    it("prod (Auto Scaling group) has no status-check alarms: the group replaces impaired instances", () => {
        assert.equal(byType(prod.resources, "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => /StatusCheckFailed/.test(String(a.inputs.metricName))).length, 0);
    });
});
