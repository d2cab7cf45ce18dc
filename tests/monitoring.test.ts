/** The Monitoring component in the prod plan: topic, alarms, EventBridge patterns, budget. */
import { strict as assert } from "assert";
import { Graph, GraphResource } from "../tools/graph";
import { stackRun } from "./support/stacks";

describe("Monitoring (prod)", () => {
    let graph: Graph;
    const one = (type: string, name: string): GraphResource => {
        const found = graph.resources.filter((r) => r.type === type && r.name === name);
        assert.equal(found.length, 1, `${type} ${name}`);
        return found[0];
    };
    before(async function () {
        this.timeout(240000);
        graph = (await stackRun("prod")).graph;
    });

    it("encrypts the alert topic with its own key that CloudWatch, EventBridge and Budgets may use, EventBridge without source conditions", () => {
        const component = one("platform:monitoring:Monitoring", "monitoring");
        const topic = one("aws:sns/topic:Topic", "monitoring-alerts");
        const key = one("aws:kms/key:Key", "monitoring-topic");
        assert.equal(topic.parent, component.urn);
        assert.equal(topic.inputs.name, "platform-prod-alerts");
        assert.equal(topic.inputs.kmsMasterKeyId, `arn:aws:kms:us-east-1:123456789012:key/${key.id}`);
        const policy = JSON.parse(key.inputs.policy as string);
        const byService = (service: string) => policy.Statement.filter((s: any) => s.Principal?.Service === service);
        // SNS calls KMS with the publisher's request context. EventBridge's carries no
        // aws:SourceAccount / aws:SourceArn, so a key statement conditioned on them denies every
        // delivery to the encrypted topic (the rule's FailedInvocations). AWS documents the
        // EventBridge key statement without conditions: EventBridge User Guide, "Troubleshooting
        // Amazon EventBridge" (My rule runs, but I don't see any messages published into my Amazon
        // SNS topic, Scenario 2), https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html#eb-no-messages-published-sns;
        // SNS Developer Guide, https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services.
        assert.deepEqual(byService("events.amazonaws.com"), [
            { Sid: "EventBridgeEncryptsAlerts", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*" },
        ]);
        assert.ok(!/SourceAccount|SourceArn|SourceOrgID/.test(JSON.stringify(byService("events.amazonaws.com"))));
        // CloudWatch alarms do pass their source: this account's alarms of this stack only.
        assert.deepEqual(byService("cloudwatch.amazonaws.com"), [
            {
                Sid: "CloudWatchAlarmsEncryptAlerts",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
                Resource: "*",
                Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:platform-prod-*" } },
            },
        ]);
        // Budgets' documented key statement has no condition (its topic statement keeps them).
        assert.deepEqual(byService("budgets.amazonaws.com"), [
            { Sid: "BudgetsEncryptAlerts", Effect: "Allow", Principal: { Service: "budgets.amazonaws.com" }, Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*" },
        ]);
        assert.ok(!policy.Statement[0].Action.some((a: string) => a.endsWith("*")));
        assert.equal(key.inputs.enableKeyRotation, true);
    });

    it("lets only CloudWatch alarms of this stack, this account's budgets and EventBridge publish", () => {
        const topic = one("aws:sns/topic:Topic", "monitoring-alerts");
        const policy = one("aws:sns/topicPolicy:TopicPolicy", "monitoring-alerts");
        const arn = "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts";
        assert.equal(policy.inputs.arn, arn);
        assert.deepEqual(JSON.parse(policy.inputs.policy as string), {
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "CloudWatchAlarmsOfThisStack",
                    Effect: "Allow",
                    Principal: { Service: "cloudwatch.amazonaws.com" },
                    Action: "sns:Publish",
                    Resource: arn,
                    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:platform-prod-*" } },
                },
                // "You can't use Condition blocks in Amazon SNS topic policies for EventBridge":
                // EventBridge User Guide, "Using resource-based policies for Amazon EventBridge",
                // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions.
                { Sid: "EventBridgeRules", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sns:Publish", Resource: arn },
                {
                    // AWS Cost Management User Guide, "Creating an Amazon SNS topic for budget notifications".
                    Sid: "BudgetsOfThisAccount",
                    Effect: "Allow",
                    Principal: { Service: "budgets.amazonaws.com" },
                    Action: "sns:Publish",
                    Resource: arn,
                    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" }, ArnLike: { "aws:SourceArn": "arn:aws:budgets::123456789012:*" } },
                },
            ],
        });
        assert.ok(policy.propertyDependencies.arn.includes(topic.urn));
        // Every alarm that notifies the topic is named under the prefix the conditions allow.
        for (const a of graph.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && (r.inputs.alarmActions as string[] | undefined)?.includes(arn))) {
            assert.match(a.inputs.name as string, /^platform-prod-/, a.name);
        }
    });

    it("alarms on the web tier, the load balancer and the database with the configured thresholds, to the topic", () => {
        const topicArn = "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts";
        const alarms = graph.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm");
        assert.deepEqual(alarms.map((a) => a.name).sort(), [
            "monitoring-alb-5xx", "monitoring-alb-unhealthy-hosts", "monitoring-asg-cpu-high",
            "monitoring-backup-stale-etc-platform", "monitoring-backup-stale-var-www",
            "monitoring-health-check-failed", "monitoring-rds-connections-high", "monitoring-rds-cpu-high",
            "monitoring-rds-free-storage-low", "monitoring-rds-freeable-memory-low",
            "monitoring-restore-drill-failed-etc-platform", "monitoring-restore-drill-failed-var-www", "monitoring-restore-drill-missing-etc-platform", "monitoring-restore-drill-missing-var-www",
            "monitoring-target-5xx", "monitoring-target-response-time",
        ]);
        for (const a of alarms) {
            assert.deepEqual(a.inputs.alarmActions, [topicArn], a.name);
            assert.deepEqual(a.inputs.okActions, [topicArn], a.name);
        }
        const pick = (name: string) => {
            const i = one("aws:cloudwatch/metricAlarm:MetricAlarm", `monitoring-${name}`).inputs;
            return [i.namespace, i.metricName, i.statistic, i.comparisonOperator, i.threshold, Object.keys(i.dimensions as object).sort()];
        };
        assert.deepEqual(pick("asg-cpu-high"), ["AWS/EC2", "CPUUtilization", "Average", "GreaterThanThreshold", 80, ["AutoScalingGroupName"]]);
        assert.deepEqual(pick("alb-unhealthy-hosts"), ["AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "GreaterThanThreshold", 0, ["LoadBalancer", "TargetGroup"]]);
        assert.deepEqual(pick("alb-5xx"), ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", "GreaterThanOrEqualToThreshold", 10, ["LoadBalancer"]]);
        assert.deepEqual(pick("target-5xx"), ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", "GreaterThanOrEqualToThreshold", 10, ["LoadBalancer"]]);
        assert.deepEqual(pick("target-response-time"), ["AWS/ApplicationELB", "TargetResponseTime", "Average", "GreaterThanThreshold", 1, ["LoadBalancer"]]);
        assert.deepEqual(pick("rds-cpu-high"), ["AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold", 80, ["DBInstanceIdentifier"]]);
        assert.deepEqual(pick("rds-free-storage-low"), ["AWS/RDS", "FreeStorageSpace", "Minimum", "LessThanThreshold", 2 * 1024 ** 3, ["DBInstanceIdentifier"]]);
        assert.deepEqual(pick("rds-freeable-memory-low"), ["AWS/RDS", "FreeableMemory", "Average", "LessThanThreshold", 128 * 1024 ** 2, ["DBInstanceIdentifier"]]);
        assert.deepEqual(pick("rds-connections-high"), ["AWS/RDS", "DatabaseConnections", "Maximum", "GreaterThanThreshold", 80, ["DBInstanceIdentifier"]]);
        const unhealthy = one("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-alb-unhealthy-hosts").inputs.dimensions as Record<string, string>;
        assert.match(unhealthy.TargetGroup, /^targetgroup\/web\/[0-9a-f]{16}$/);
        assert.match(unhealthy.LoadBalancer, /^app\/web\/[0-9a-f]{16}$/);
        assert.deepEqual(one("aws:cloudwatch/metricAlarm:MetricAlarm", "monitoring-rds-cpu-high").inputs.dimensions, { DBInstanceIdentifier: "platform-prod" });
    });

    it("routes failed backup/restore/drill commands, failed bake/imaging/drill runs and association failures to the topic (exact patterns)", () => {
        const docs = (name: string) => (one("aws:ssm/document:Document", name).inputs.name as string) ?? name;
        const rules = graph.resources.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule");
        assert.deepEqual(rules.map((r) => r.name).sort(), ["monitoring-association-noncompliant", "monitoring-automation-failed", "monitoring-backup-association-failed", "monitoring-command-failed"]);
        const pattern = (name: string) => JSON.parse(one("aws:cloudwatch/eventRule:EventRule", `monitoring-${name}`).inputs.eventPattern as string);
        const command = pattern("command-failed");
        assert.deepEqual(Object.keys(command), ["source", "detail-type", "detail"]);
        assert.deepEqual(command.source, ["aws.ssm"]);
        assert.deepEqual(command["detail-type"], ["EC2 Command Invocation Status-change Notification"]);
        assert.deepEqual(command.detail.status, ["Failed", "TimedOut", "Cancelled"]);
        // backup, restore and the drill's Command document (the runbook's aws:runCommand is a Run Command command too).
        assert.deepEqual(command.detail["document-name"], [graph.outputs.backupDocumentName, graph.outputs.restoreDocumentName, graph.outputs.drillDocumentName]);
        void docs;
        const automation = pattern("automation-failed");
        assert.deepEqual(automation["detail-type"], ["EC2 Automation Execution Status-change Notification"]);
        assert.deepEqual(automation.detail.Status, ["Failed", "TimedOut", "Cancelled"]);
        assert.deepEqual(automation.detail.Definition, [graph.outputs.bakeRunbookName, graph.outputs.imagingRunbookName, graph.outputs.drillRunbookName]);
        assert.deepEqual(pattern("association-noncompliant"), {
            source: ["aws.ssm"],
            "detail-type": ["Configuration Compliance State Change"],
            detail: { "compliance-type": ["Association"], "compliance-status": ["non_compliant"] },
        });
        const assoc = pattern("backup-association-failed");
        assert.deepEqual(assoc["detail-type"], ["EC2 State Manager Instance Association State Change", "EC2 State Manager Association State Change"]);
        assert.deepEqual(assoc.detail.$or, [{ status: ["Failed", "TimedOut", "Cancelled"] }, { "detailed-status": ["Failed", "TimedOut", "Cancelled"] }]);
        const targets = graph.resources.filter((r) => r.type === "aws:cloudwatch/eventTarget:EventTarget");
        assert.equal(targets.length, 4);
        for (const t of targets) assert.equal(t.inputs.arn, "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts");
    });

    it("sets a monthly cost budget on the stack's tag with 80%/100% actual and 100% forecast notifications", () => {
        const budget = one("aws:budgets/budget:Budget", "monitoring-budget");
        assert.equal(budget.inputs.name, "platform-prod-monthly");
        assert.equal(budget.inputs.budgetType, "COST");
        assert.equal(budget.inputs.timeUnit, "MONTHLY");
        assert.equal(budget.inputs.limitAmount, "400.00");
        assert.equal(budget.inputs.limitUnit, "USD");
        assert.deepEqual(budget.inputs.costFilters, [{ name: "TagKeyValue", values: ["user:Stack$prod"] }]);
        const topicArn = "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts";
        assert.deepEqual(budget.inputs.notifications, [
            { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", threshold: 80, thresholdType: "PERCENTAGE", subscriberSnsTopicArns: [topicArn] },
            { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", subscriberSnsTopicArns: [topicArn] },
            { notificationType: "FORECASTED", comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", subscriberSnsTopicArns: [topicArn] },
        ]);
    });

    it("draws a dashboard and exports the topic, dashboard and budget names", () => {
        const dashboard = one("aws:cloudwatch/dashboard:Dashboard", "monitoring-dashboard");
        assert.equal(dashboard.inputs.dashboardName, "platform-prod");
        const body = JSON.parse(dashboard.inputs.dashboardBody as string);
        assert.equal(body.widgets.length, 7, "web CPU, ALB requests, response time, database CPU, database storage, restore drill seconds, alarms");
        assert.equal(graph.outputs.alertTopicArn, "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts");
        assert.equal(graph.outputs.dashboardName, "platform-prod");
        assert.equal(graph.outputs.budgetName, "platform-prod-monthly");
    });
});
