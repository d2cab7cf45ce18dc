import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { MonitoringConfig } from "../config";

export interface MonitoringArgs {
    /** Stack name: names the topic, dashboard and budget, and selects the `Stack` cost allocation tag. Required. */
    stack: string;
    /** AWS region of the stack (dashboard widgets; Route 53 metrics exist only in us-east-1). Required. */
    region: string;
    /** Thresholds and the monthly budget (config `monitoring`). Required. */
    config: MonitoringConfig;
    /** E-mail addresses subscribed to the alert topic and to the budget notifications. Default none (at most 10: the Budgets limit). */
    alarmEmails?: string[];
    /** Web tier Auto Scaling group: CPU-high alarm. Default none (no alarm). */
    autoScalingGroupName?: pulumi.Input<string>;
    /** ALB `arnSuffix`: 5xx and response-time alarms. Default none (no ALB alarms). */
    loadBalancerArnSuffix?: pulumi.Input<string>;
    /** Target group `arnSuffix` (with the ALB): unhealthy-hosts alarm. Default none. */
    targetGroupArnSuffix?: pulumi.Input<string>;
    /** RDS instance identifier: CPU, free storage, freeable memory and connections alarms. Default none. */
    dbInstanceIdentifier?: pulumi.Input<string>;
    /** Route 53 health check id: status alarm (only created in us-east-1, where Route 53 publishes its metrics). Default none. */
    healthCheckId?: pulumi.Input<string>;
    /** SSM Command documents (backup, restore) whose failed, timed-out or cancelled runs alert. Default none. */
    commandDocumentNames?: pulumi.Input<string>[];
    /** SSM Automation runbooks (bake, imaging) whose failed, timed-out or cancelled executions alert. Default none. */
    automationRunbookNames?: pulumi.Input<string>[];
    /** State Manager association (backup) whose failed runs on an instance alert. Default none. */
    backupAssociationId?: pulumi.Input<string>;
}

/** The failure states SSM reports for commands and automations that did not finish well. */
/**
 * The name Monitoring gives one of its alarms (`<project>-<stack>-<id>`). Exported so the web
 * tier can name the load balancer alarms in its instance refresh before Monitoring creates them
 * (Monitoring comes after the web tier: it watches the group and the load balancer).
 */
export function monitoringAlarmName(project: string, stack: string, id: string): string {
    return `${project}-${stack}-${id}`;
}

/** The alarms that stop an instance refresh when they fire: unhealthy targets and 5xx from the load balancer or the targets. */
export const REFRESH_GUARD_ALARM_IDS = ["alb-unhealthy-hosts", "alb-5xx", "target-5xx"] as const;

export const FAILED_STATUSES = ["Failed", "TimedOut", "Cancelled"];

/**
 * Alerting for one stack: a KMS-encrypted SNS topic (e-mail subscriptions), CloudWatch
 * alarms on whatever the stack has (web tier, load balancer, database, health check),
 * EventBridge rules for failed backups/restores/bakes/imaging and non-compliant associations,
 * a dashboard, and a monthly cost budget on the stack's cost allocation tag.
 */
export class Monitoring extends pulumi.ComponentResource {
    readonly topic: aws.sns.Topic;
    readonly topicArn: pulumi.Output<string>;
    readonly topicKeyArn: pulumi.Output<string>;
    readonly alarms: aws.cloudwatch.MetricAlarm[] = [];
    readonly rules: aws.cloudwatch.EventRule[] = [];
    readonly dashboardName: pulumi.Output<string>;
    readonly budgetName: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:monitoring:Monitoring", name, {}, opts);
        const problems: string[] = [];
        const emails = args.alarmEmails ?? [];
        if (emails.length > 10) problems.push(`alarmEmails has ${emails.length} addresses: AWS Budgets notifies at most 10; use a distribution list`);
        if (args.targetGroupArnSuffix !== undefined && args.loadBalancerArnSuffix === undefined) problems.push("targetGroupArnSuffix needs loadBalancerArnSuffix (UnHealthyHostCount is reported per target group and load balancer)");
        if (!/^[A-Za-z0-9_.-]+$/.test(args.stack)) problems.push(`stack "${args.stack}" may contain only letters, digits, '-', '_' and '.'`);
        if (problems.length > 0) throw new Error(`Monitoring "${name}": ${problems.join("; ")}`);

        const c = args.config;
        // Alarm names: `${prefix}-${id}`, as monitoringAlarmName gives them.
        const prefix = `${pulumi.getProject()}-${args.stack}`;
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const publishers = ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"];

        // EventBridge cannot publish to a topic encrypted with the AWS-managed SNS key (its key
        // policy cannot be changed), so the topic gets its own key that the publishers may use.
        const key = new aws.kms.Key(
            `${name}-topic`,
            {
                description: `SNS alert topic of ${prefix}`,
                enableKeyRotation: true,
                deletionWindowInDays: 30,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AccountAdministersKeyThroughIam",
                            Effect: "Allow",
                            Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${account}:root` },
                            Action: [
                                "kms:DescribeKey",
                                "kms:GetKeyPolicy",
                                "kms:PutKeyPolicy",
                                "kms:GetKeyRotationStatus",
                                "kms:EnableKeyRotation",
                                "kms:DisableKeyRotation",
                                "kms:EnableKey",
                                "kms:DisableKey",
                                "kms:UpdateKeyDescription",
                                "kms:TagResource",
                                "kms:UntagResource",
                                "kms:ListResourceTags",
                                "kms:CreateAlias",
                                "kms:UpdateAlias",
                                "kms:DeleteAlias",
                                "kms:ScheduleKeyDeletion",
                                "kms:CancelKeyDeletion",
                                "kms:CreateGrant",
                                "kms:ListGrants",
                                "kms:RevokeGrant",
                                "kms:GenerateDataKey",
                                "kms:Decrypt",
                            ],
                            Resource: "*",
                        },
                        {
                            Sid: "AlertPublishersEncryptMessages",
                            Effect: "Allow",
                            Principal: { Service: publishers },
                            Action: ["kms:GenerateDataKey", "kms:Decrypt"],
                            Resource: "*",
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                    ],
                }),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-topic`, { name: `alias/${prefix}-alerts`, targetKeyId: key.keyId }, { parent: this });

        this.topic = new aws.sns.Topic(`${name}-alerts`, { name: `${prefix}-alerts`, kmsMasterKeyId: key.arn }, { parent: this });
        this.topicArn = this.topic.arn;
        this.topicKeyArn = key.arn;
        new aws.sns.TopicPolicy(
            `${name}-alerts`,
            {
                arn: this.topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AlertPublishers",
                            Effect: "Allow",
                            Principal: { Service: publishers },
                            Action: "sns:Publish",
                            Resource: this.topic.arn,
                            Condition: { StringEquals: { "aws:SourceAccount": account } },
                        },
                    ],
                }),
            },
            { parent: this },
        );
        emails.forEach((email, i) => {
            new aws.sns.TopicSubscription(`${name}-email-${i}`, { topic: this.topic.arn, protocol: "email", endpoint: email }, { parent: this });
        });

        const alarm = (id: string, description: string, spec: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "name" | "alarmDescription">) => {
            this.alarms.push(
                new aws.cloudwatch.MetricAlarm(
                    `${name}-${id}`,
                    {
                        name: `${prefix}-${id}`,
                        alarmDescription: description,
                        alarmActions: [this.topic.arn],
                        okActions: [this.topic.arn],
                        ...spec,
                    },
                    { parent: this },
                ),
            );
        };

        if (args.autoScalingGroupName !== undefined) {
            alarm("asg-cpu-high", `Web tier CPU above ${c.cpuHighPercent}% for 10 minutes`, {
                namespace: "AWS/EC2",
                metricName: "CPUUtilization",
                dimensions: { AutoScalingGroupName: args.autoScalingGroupName },
                statistic: "Average",
                period: 300,
                evaluationPeriods: 2,
                comparisonOperator: "GreaterThanThreshold",
                threshold: c.cpuHighPercent,
                treatMissingData: "missing",
            });
        }
        if (args.loadBalancerArnSuffix !== undefined) {
            const lb = args.loadBalancerArnSuffix;
            if (args.targetGroupArnSuffix !== undefined) {
                alarm("alb-unhealthy-hosts", "At least one web target failed its load balancer health check for 3 minutes", {
                    namespace: "AWS/ApplicationELB",
                    metricName: "UnHealthyHostCount",
                    dimensions: { TargetGroup: args.targetGroupArnSuffix, LoadBalancer: lb },
                    statistic: "Maximum",
                    period: 60,
                    evaluationPeriods: 3,
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: 0,
                    treatMissingData: "notBreaching",
                });
            }
            // Two metrics: 5xx the load balancer produced itself (no healthy target, timeouts) and 5xx the app returned.
            for (const [id, metric, who] of [
                ["alb-5xx", "HTTPCode_ELB_5XX_Count", "the load balancer"],
                ["target-5xx", "HTTPCode_Target_5XX_Count", "the web targets"],
            ] as const) {
                alarm(id, `${c.alb5xxPerMinute} or more 5xx responses a minute from ${who}, 2 minutes out of 3`, {
                    namespace: "AWS/ApplicationELB",
                    metricName: metric,
                    dimensions: { LoadBalancer: lb },
                    statistic: "Sum",
                    period: 60,
                    evaluationPeriods: 3,
                    datapointsToAlarm: 2,
                    comparisonOperator: "GreaterThanOrEqualToThreshold",
                    threshold: c.alb5xxPerMinute,
                    treatMissingData: "notBreaching",
                });
            }
            alarm("target-response-time", `Average target response time above ${c.targetResponseTimeSeconds}s for 15 minutes`, {
                namespace: "AWS/ApplicationELB",
                metricName: "TargetResponseTime",
                dimensions: { LoadBalancer: lb },
                statistic: "Average",
                period: 300,
                evaluationPeriods: 3,
                comparisonOperator: "GreaterThanThreshold",
                threshold: c.targetResponseTimeSeconds,
                treatMissingData: "notBreaching",
            });
        }
        if (args.dbInstanceIdentifier !== undefined) {
            const db = { DBInstanceIdentifier: args.dbInstanceIdentifier };
            alarm("rds-cpu-high", `Database CPU above ${c.rdsCpuHighPercent}% for 15 minutes`, {
                namespace: "AWS/RDS", metricName: "CPUUtilization", dimensions: db, statistic: "Average", period: 300, evaluationPeriods: 3,
                comparisonOperator: "GreaterThanThreshold", threshold: c.rdsCpuHighPercent, treatMissingData: "missing",
            });
            alarm("rds-free-storage-low", `Database free storage below ${c.rdsFreeStorageLowGb} GB`, {
                namespace: "AWS/RDS", metricName: "FreeStorageSpace", dimensions: db, statistic: "Minimum", period: 300, evaluationPeriods: 1,
                comparisonOperator: "LessThanThreshold", threshold: c.rdsFreeStorageLowGb * 1024 ** 3, treatMissingData: "missing",
            });
            alarm("rds-freeable-memory-low", `Database freeable memory below ${c.rdsFreeableMemoryLowMb} MB for 15 minutes`, {
                namespace: "AWS/RDS", metricName: "FreeableMemory", dimensions: db, statistic: "Average", period: 300, evaluationPeriods: 3,
                comparisonOperator: "LessThanThreshold", threshold: c.rdsFreeableMemoryLowMb * 1024 ** 2, treatMissingData: "missing",
            });
            alarm("rds-connections-high", `More than ${c.rdsConnectionsHigh} database connections for 10 minutes`, {
                namespace: "AWS/RDS", metricName: "DatabaseConnections", dimensions: db, statistic: "Maximum", period: 300, evaluationPeriods: 2,
                comparisonOperator: "GreaterThanThreshold", threshold: c.rdsConnectionsHigh, treatMissingData: "missing",
            });
        }
        if (args.healthCheckId !== undefined) {
            if (args.region === "us-east-1") {
                alarm("health-check-failed", "The site's Route 53 health check reports it unhealthy", {
                    namespace: "AWS/Route53", metricName: "HealthCheckStatus", dimensions: { HealthCheckId: args.healthCheckId }, statistic: "Minimum",
                    period: 60, evaluationPeriods: 2, comparisonOperator: "LessThanThreshold", threshold: 1, treatMissingData: "breaching",
                });
            } else {
                // Route 53 publishes health check metrics only in us-east-1, and an alarm can only notify a topic in its own region.
                pulumi.log.warn(`Monitoring "${name}": no health check alarm: Route 53 metrics exist only in us-east-1 and this stack is in ${args.region}`, this);
            }
        }

        const rule = (id: string, description: string, pattern: pulumi.Input<Record<string, unknown>>) => {
            const r = new aws.cloudwatch.EventRule(`${name}-${id}`, { name: `${prefix}-${id}`, description, eventPattern: pulumi.jsonStringify(pattern) }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-${id}`, { rule: r.name, arn: this.topic.arn }, { parent: this });
            this.rules.push(r);
        };
        if (args.commandDocumentNames && args.commandDocumentNames.length > 0) {
            rule("command-failed", "A backup or restore command failed, timed out or was cancelled", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 Command Invocation Status-change Notification"],
                detail: { "document-name": args.commandDocumentNames, status: FAILED_STATUSES },
            });
        }
        if (args.automationRunbookNames && args.automationRunbookNames.length > 0) {
            rule("automation-failed", "A bake or imaging run failed, timed out or was cancelled", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 Automation Execution Status-change Notification"],
                detail: { Definition: args.automationRunbookNames, Status: FAILED_STATUSES },
            });
        }
        if (args.backupAssociationId !== undefined) {
            rule("backup-association-failed", "The backup association failed on an instance", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 State Manager Instance Association State Change"],
                detail: { "association-id": [args.backupAssociationId], status: ["Failed"] },
            });
            // Compliance events do not name the association: this also catches the account's other
            // associations, which is what an operator wants to hear about anyway.
            rule("association-noncompliant", "A State Manager association became non-compliant on an instance", {
                source: ["aws.ssm"],
                "detail-type": ["Configuration Compliance State Change"],
                detail: { "compliance-type": ["Association"], "compliance-status": ["non_compliant"] },
            });
        }

        const widgets: pulumi.Input<Record<string, unknown>>[] = [];
        const widget = (title: string, metrics: pulumi.Input<unknown[]>[], stat: string) =>
            widgets.push({ type: "metric", width: 12, height: 6, properties: { title, region: args.region, stat, period: 300, view: "timeSeries", metrics } });
        if (args.autoScalingGroupName !== undefined) widget("Web CPU %", [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", args.autoScalingGroupName]], "Average");
        if (args.loadBalancerArnSuffix !== undefined) {
            widget("ALB requests and 5xx", [
                ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", args.loadBalancerArnSuffix],
                ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", args.loadBalancerArnSuffix],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", args.loadBalancerArnSuffix],
            ], "Sum");
            widget("Target response time (s)", [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", args.loadBalancerArnSuffix]], "Average");
        }
        if (args.dbInstanceIdentifier !== undefined) {
            widget("Database CPU % and connections", [
                ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", args.dbInstanceIdentifier],
                ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", args.dbInstanceIdentifier, { yAxis: "right" }],
            ], "Average");
            widget("Database free storage and memory (bytes)", [
                ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", args.dbInstanceIdentifier],
                ["AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", args.dbInstanceIdentifier],
            ], "Minimum");
        }
        widgets.push({ type: "alarm", width: 24, height: 4, properties: { title: "Alarms", alarms: this.alarms.map((a) => a.arn) } });
        const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: prefix, dashboardBody: pulumi.jsonStringify({ widgets }) }, { parent: this });
        this.dashboardName = dashboard.dashboardName;

        const subscribers = { subscriberSnsTopicArns: [this.topic.arn], subscriberEmailAddresses: emails.length > 0 ? emails : undefined };
        const budget = new aws.budgets.Budget(
            `${name}-budget`,
            {
                name: `${prefix}-monthly`,
                budgetType: "COST",
                timeUnit: "MONTHLY",
                limitAmount: c.budgetUsd.toFixed(2),
                limitUnit: "USD",
                // Only this stack's spend: the `Stack` tag must be activated as a cost allocation tag in Billing.
                costFilters: [{ name: "TagKeyValue", values: [`user:Stack$${args.stack}`] }],
                notifications: [
                    { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", threshold: 80, thresholdType: "PERCENTAGE", ...subscribers },
                    { notificationType: "ACTUAL", comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", ...subscribers },
                    { notificationType: "FORECASTED", comparisonOperator: "GREATER_THAN", threshold: 100, thresholdType: "PERCENTAGE", ...subscribers },
                ],
            },
            { parent: this },
        );
        this.budgetName = budget.name;

        this.registerOutputs({ topicArn: this.topicArn, topicKeyArn: this.topicKeyArn, dashboardName: this.dashboardName, budgetName: this.budgetName });
    }
}
