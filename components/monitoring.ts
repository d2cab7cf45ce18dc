import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { normalizeBackupPath, pathToSlug } from "./backup";
import { describeSeconds, freshnessWindow } from "./freshness";
import { EVENT_RULE_IDS, monitoringNames } from "./monitoringNames";

export { EVENT_RULE_IDS, monitoringAlarmName, monitoringNames } from "./monitoringNames";

/** The thresholds and budget of MonitoringArgs, each with its default. */
export interface MonitoringThresholds {
    /** Monthly AWS Budgets limit in USD (alerts at 80% actual and 100% forecast). @default 50 */
    budgetUsd: number;
    /** Web tier group average CPU that alarms, percent. @default 80 */
    cpuHighPercent: number;
    /** Load balancer 5xx responses per minute that alarm. @default 10 */
    alb5xxPerMinute: number;
    /** Average target response time that alarms, seconds. @default 1 */
    targetResponseTimeSeconds: number;
    /** Database CPU that alarms, percent. @default 80 */
    rdsCpuHighPercent: number;
    /** Database free storage below which it alarms, GB. @default 2 */
    rdsFreeStorageLowGb: number;
    /** Database freeable memory below which it alarms, MB. @default 128 */
    rdsFreeableMemoryLowMb: number;
    /** Database connections that alarm. @default 80 */
    rdsConnectionsHigh: number;
}

/** The defaults Monitoring applies (exported for callers that derive from them). */
export const MONITORING_DEFAULTS: MonitoringThresholds = {
    budgetUsd: 50,
    cpuHighPercent: 80,
    alb5xxPerMinute: 10,
    targetResponseTimeSeconds: 1,
    rdsCpuHighPercent: 80,
    rdsFreeStorageLowGb: 2,
    rdsFreeableMemoryLowMb: 128,
    rdsConnectionsHigh: 80,
};

/** MonitoringArgs' thresholds with MONITORING_DEFAULTS applied (pure). */
export function monitoringThresholds(args: Partial<MonitoringThresholds>): MonitoringThresholds {
    const given = Object.fromEntries(Object.entries(args).filter(([k, v]) => v !== undefined && k in MONITORING_DEFAULTS));
    return { ...MONITORING_DEFAULTS, ...given };
}

export interface MonitoringArgs extends Partial<MonitoringThresholds> {
    /** Stack name: names the topic, dashboard and budget, and selects the `Stack` cost allocation tag. Required. */
    stack: string;
    /** AWS region of the stack (dashboard widgets; Route 53 metrics exist only in us-east-1). Required. */
    region: string;
    /** E-mail addresses subscribed to the alert topic and to the budget notifications. @default none (at most 10: the Budgets limit) */
    alarmEmails?: string[];
    /** Web tier Auto Scaling group: CPU-high alarm. @default none (no alarm) */
    autoScalingGroupName?: pulumi.Input<string>;
    /** ALB `arnSuffix`: 5xx and response-time alarms. @default none (no ALB alarms) */
    loadBalancerArnSuffix?: pulumi.Input<string>;
    /** Target group `arnSuffix` (with the ALB): unhealthy-hosts alarm. @default none */
    targetGroupArnSuffix?: pulumi.Input<string>;
    /** RDS instance identifier: CPU, free storage, freeable memory and connections alarms. @default none */
    dbInstanceIdentifier?: pulumi.Input<string>;
    /** Route 53 health check id: status alarm (only created in us-east-1, where Route 53 publishes its metrics). @default none */
    healthCheckId?: pulumi.Input<string>;
    /** SSM Command documents (backup, restore) whose failed, timed-out or cancelled runs alert. @default none */
    commandDocumentNames?: pulumi.Input<string>[];
    /** SSM Automation runbooks (bake, imaging) whose failed, timed-out or cancelled executions alert. @default none */
    automationRunbookNames?: pulumi.Input<string>[];
    /** State Manager association (backup) whose failed runs on an instance alert. @default none */
    backupAssociationId?: pulumi.Input<string>;
    /**
     * State Manager association (restore drill: it starts the drill runbook) whose failure as a
     * whole alerts through the same rule as the backup's. Its runbook's and its command's failures
     * alert through `automationRunbookNames` and `commandDocumentNames`. @default none
     */
    drillAssociationId?: pulumi.Input<string>;
    /**
     * The backup and drill metrics (Backup: BackupSuccess, RestoreDrillSuccess): per directory, an
     * alarm when it has had no good backup for twice the backup schedule's interval and, with
     * `drillSchedule`, when its drill failed or has not run for twice the drill's interval. Alarms
     * watch Stack+Directory: the instances of an Auto Scaling group come and go, an alarm on an
     * InstanceId would go stale with its instance (and a new instance would have none). @default none
     */
    backupMetrics?: { namespace: string; directories: string[]; backupSchedule: string; drillSchedule?: string };
    /**
     * A lone instance (no Auto Scaling group to replace it): a failed system status check
     * recovers it (when its type supports recovery), a failed instance status check reboots it,
     * both notifying the topic. @default none
     */
    instance?: { id: pulumi.Input<string>; type: string };
    /** Default tags of the us-east-1 provider made for the health-check alarm outside us-east-1. @default none */
    tags?: Record<string, string>;
}

/**
 * Instance families the EC2 recover action supports (Amazon EC2 User Guide, "Recover your
 * instance" / Requirements and "Amazon CloudWatch action based recovery",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-recover.html). The
 * instance-store families (M3, C3, R3, X1, X1e) lose that data in a recovery; metal types and
 * instance-store variants of the others ("d" families) are not supported.
 */
export const RECOVERABLE_FAMILIES: ReadonlySet<string> = new Set([
    "a1", "m4", "m5", "m5a", "m5n", "m5zn", "m6a", "m6g", "m6i", "t1", "t2", "t3", "t3a", "t4g",
    "c4", "c5", "c5a", "c5n", "c6a", "c6g", "c6gn", "c6i", "hpc6a", "c7g",
    "r4", "r5", "r5a", "r5b", "r5n", "r6g", "r6i", "g3", "g5g", "inf1", "p2", "p3", "vt1",
    "m3", "c3", "r3", "x1", "x1e",
]);

/** Whether the EC2 recover action supports this instance type. */
export function supportsRecovery(instanceType: string): boolean {
    const [family, size] = instanceType.split(".");
    return RECOVERABLE_FAMILIES.has(family) && size !== undefined && !size.includes("metal");
}

interface PublisherContext {
    partition: pulumi.Input<string>;
    region: string;
    account: pulumi.Input<string>;
    /** Every alarm that notifies the topic is named with this prefix. */
    alarmNamePrefix: string;
}

/**
 * Key-policy statements that let the three AWS services publish to the encrypted alert topic
 * (SNS Developer Guide, "Enable compatibility between event sources from AWS services and
 * encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 * SNS calls KMS on the publisher's behalf with the publisher's request context:
 * - CloudWatch alarms pass `aws:SourceAccount` and `aws:SourceArn` (the alarm): both are kept.
 * - EventBridge passes neither, so any such condition fails every delivery (the rule's
 *   FailedInvocations metric counts them, no message arrives): its statement has none, as the
 *   EventBridge User Guide shows it ("Troubleshooting Amazon EventBridge" / "My rule runs, but I
 *   don't see any messages published into my Amazon SNS topic", Scenario 2,
 *   https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html#eb-no-messages-published-sns).
 * - AWS Budgets documents its key statement without conditions ("Protecting your Amazon SNS budget
 *   alerts data with SSE and AWS KMS", https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html);
 *   its topic-policy statement keeps them (alertPublisherTopicStatements).
 * The key is this topic's only: a grant without conditions still reaches nothing else.
 */
export function alertPublisherKeyStatements(c: PublisherContext): Record<string, unknown>[] {
    const actions = ["kms:GenerateDataKey*", "kms:Decrypt"];
    return [
        {
            Sid: "CloudWatchAlarmsEncryptAlerts",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: actions,
            Resource: "*",
            Condition: {
                StringEquals: { "aws:SourceAccount": c.account },
                ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${c.partition}:cloudwatch:${c.region}:${c.account}:alarm:${c.alarmNamePrefix}*` },
            },
        },
        { Sid: "EventBridgeEncryptsAlerts", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: actions, Resource: "*" },
        { Sid: "BudgetsEncryptAlerts", Effect: "Allow", Principal: { Service: "budgets.amazonaws.com" }, Action: actions, Resource: "*" },
    ];
}

/**
 * Topic-policy statements for the same publishers. CloudWatch: this account's alarms of this
 * stack (SNS Developer Guide, "Example cases for Amazon SNS access control",
 * https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html). Budgets: this
 * account's budgets, as its guide shows. EventBridge: no condition, because "You can't use
 * Condition blocks in Amazon SNS topic policies for EventBridge" (EventBridge User Guide, "Using
 * resource-based policies for Amazon EventBridge" / Amazon SNS permissions,
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
 */
export function alertPublisherTopicStatements(c: PublisherContext & { topicArn: pulumi.Input<string> }): Record<string, unknown>[] {
    return [
        {
            Sid: "CloudWatchAlarmsOfThisStack",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: c.topicArn,
            Condition: {
                StringEquals: { "aws:SourceAccount": c.account },
                ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${c.partition}:cloudwatch:${c.region}:${c.account}:alarm:${c.alarmNamePrefix}*` },
            },
        },
        { Sid: "EventBridgeRules", Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sns:Publish", Resource: c.topicArn },
        {
            Sid: "BudgetsOfThisAccount",
            Effect: "Allow",
            Principal: { Service: "budgets.amazonaws.com" },
            Action: "sns:Publish",
            Resource: c.topicArn,
            Condition: { StringEquals: { "aws:SourceAccount": c.account }, ArnLike: { "aws:SourceArn": pulumi.interpolate`arn:${c.partition}:budgets::${c.account}:*` } },
        },
    ];
}

/** The alarms that stop an instance refresh when they fire: unhealthy targets and 5xx from the load balancer or the targets. */
export const REFRESH_GUARD_ALARM_IDS = ["alb-unhealthy-hosts", "alb-5xx", "target-5xx"] as const;

/** The failure states SSM reports for commands and automations that did not finish well. */
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
    /** The alert topic's e-mail subscriptions (`pendingConfirmation` until the address confirms). */
    readonly subscriptions: aws.sns.TopicSubscription[];
    /** Outside us-east-1 with a health check: the us-east-1 topic its alarm notifies. */
    readonly healthCheckTopicArn?: pulumi.Output<string>;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("platform:monitoring:Monitoring", name, {}, opts);
        const problems: string[] = [];
        const emails = args.alarmEmails ?? [];
        if (emails.length > 10) problems.push(`alarmEmails has ${emails.length} addresses: AWS Budgets notifies at most 10; use a distribution list`);
        if (args.targetGroupArnSuffix !== undefined && args.loadBalancerArnSuffix === undefined) problems.push("targetGroupArnSuffix needs loadBalancerArnSuffix (UnHealthyHostCount is reported per target group and load balancer)");
        if (!/^[A-Za-z0-9_.-]+$/.test(args.stack)) problems.push(`stack "${args.stack}" may contain only letters, digits, '-', '_' and '.'`);
        const windows: Record<string, ReturnType<typeof freshnessWindow>> = {};
        if (args.backupMetrics) {
            const m = args.backupMetrics;
            for (const [what, expression] of [["backupSchedule", m.backupSchedule], ["drillSchedule", m.drillSchedule]] as const) {
                if (expression === undefined) continue;
                windows[what] = freshnessWindow(expression);
                if (typeof windows[what] === "string") problems.push(`backupMetrics.${what} ${expression} ${windows[what]}`);
            }
            for (const d of m.directories) {
                // CloudWatch PutMetricAlarm AlarmName: 1-255 characters.
                const longest = `${monitoringNames(pulumi.getProject(), args.stack).prefix}-restore-drill-missing-${pathToSlug(d)}`;
                if (longest.length > 255) problems.push(`directory ${d} makes the alarm name "${longest}", longer than CloudWatch's 255 characters`);
            }
        }
        if (problems.length > 0) throw new Error(`Monitoring "${name}": ${problems.join("; ")}`);

        const c = monitoringThresholds(args);
        const names = monitoringNames(pulumi.getProject(), args.stack);
        // Alarm names: `${prefix}-${id}`, as monitoringAlarmName gives them.
        const prefix = names.prefix;
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        // CloudWatch, EventBridge and Budgets cannot publish to a topic encrypted with the
        // AWS-managed SNS key (its key policy cannot be changed), so the topic gets its own key
        // that the publishers may use (alertPublisherKeyStatements says how, and why so).
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
                        ...alertPublisherKeyStatements({ partition, region: args.region, account, alarmNamePrefix: `${prefix}-` }),
                    ],
                }),
            },
            { parent: this },
        );
        new aws.kms.Alias(`${name}-topic`, { name: names.keyAlias, targetKeyId: key.keyId }, { parent: this });

        this.topic = new aws.sns.Topic(`${name}-alerts`, { name: names.topic, kmsMasterKeyId: key.arn }, { parent: this });
        this.topicArn = this.topic.arn;
        this.topicKeyArn = key.arn;
        new aws.sns.TopicPolicy(
            `${name}-alerts`,
            {
                arn: this.topic.arn,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: alertPublisherTopicStatements({ partition, region: args.region, account, alarmNamePrefix: `${prefix}-`, topicArn: this.topic.arn }),
                }),
            },
            { parent: this },
        );
        // E-mail subscriptions stay pending (and receive nothing) until confirmed; AWS deletes them
        // after 3 days unconfirmed. `subscriptions` exposes that state; the drift check reports it.
        this.subscriptions = emails.map((email, i) => new aws.sns.TopicSubscription(`${name}-email-${i}`, { topic: this.topic.arn, protocol: "email", endpoint: email }, { parent: this }));

        if (emails.length === 0) {
            pulumi.log.warn(
                `Monitoring "${name}": alarmEmails is empty: alarms, failed backups/bakes and budget alerts reach the topic ${names.topic} but nobody is subscribed to it; add addresses (or subscribe another endpoint to the topic)`,
                this,
            );
        }

        const alarm = (
            id: string,
            description: string,
            spec: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "name" | "alarmDescription">,
            extraActions: pulumi.Input<string>[] = [],
        ) => {
            this.alarms.push(
                new aws.cloudwatch.MetricAlarm(
                    `${name}-${id}`,
                    {
                        name: `${prefix}-${id}`,
                        alarmDescription: description,
                        alarmActions: [this.topic.arn, ...extraActions],
                        okActions: [this.topic.arn],
                        ...spec,
                    },
                    { parent: this },
                ),
            );
        };

        if (args.instance !== undefined) {
            // AWS's recommended shape ("Create alarms that stop, terminate, reboot, or recover an
            // instance", Amazon CloudWatch User Guide,
            // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/UsingAlarmActions.html):
            // Minimum over 1-minute periods above 0; recover after 2 periods and reboot after 3, so the
            // two actions never race; missing data stays missing (no action on a reporting gap).
            const dimensions = { InstanceId: args.instance.id };
            const action = (what: "recover" | "reboot") => pulumi.interpolate`arn:${partition}:automate:${args.region}:ec2:${what}`;
            const recoverable = supportsRecovery(args.instance.type);
            if (!recoverable) {
                pulumi.log.warn(`Monitoring "${name}": instance type ${args.instance.type} does not support the EC2 recover action: a failed system status check only notifies`, this);
            }
            alarm(
                "instance-system-check-failed",
                `The web instance failed its system status check for 2 minutes${recoverable ? ": EC2 recovers it onto healthy hardware (same id, addresses and volumes)" : ""}`,
                {
                    namespace: "AWS/EC2", metricName: "StatusCheckFailed_System", dimensions, statistic: "Minimum", period: 60, evaluationPeriods: 2, datapointsToAlarm: 2,
                    comparisonOperator: "GreaterThanThreshold", threshold: 0, treatMissingData: "missing",
                },
                recoverable ? [action("recover")] : [],
            );
            alarm(
                "instance-status-check-failed",
                "The web instance failed its instance status check for 3 minutes: EC2 reboots it",
                {
                    namespace: "AWS/EC2", metricName: "StatusCheckFailed_Instance", dimensions, statistic: "Minimum", period: 60, evaluationPeriods: 3, datapointsToAlarm: 3,
                    comparisonOperator: "GreaterThanThreshold", threshold: 0, treatMissingData: "missing",
                },
                [action("reboot")],
            );
        }
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
                this.healthCheckTopicArn = this.createUsEast1HealthAlarm(name, args, names, partition, account, emails);
            }
        }

        if (args.backupMetrics) this.createBackupAlarms(args.stack, args.backupMetrics, windows, alarm);

        const rule = (id: (typeof EVENT_RULE_IDS)[number], description: string, pattern: pulumi.Input<Record<string, unknown>>) => {
            const r = new aws.cloudwatch.EventRule(`${name}-${id}`, { name: `${prefix}-${id}`, description, eventPattern: pulumi.jsonStringify(pattern) }, { parent: this });
            new aws.cloudwatch.EventTarget(`${name}-${id}`, { rule: r.name, arn: this.topic.arn }, { parent: this });
            this.rules.push(r);
        };
        if (args.commandDocumentNames && args.commandDocumentNames.length > 0) {
            rule("command-failed", "A backup, restore or drill command failed, timed out or was cancelled", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 Command Invocation Status-change Notification"],
                detail: { "document-name": args.commandDocumentNames, status: FAILED_STATUSES },
            });
        }
        if (args.automationRunbookNames && args.automationRunbookNames.length > 0) {
            rule("automation-failed", "A bake, imaging or restore drill run failed, timed out or was cancelled", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 Automation Execution Status-change Notification"],
                detail: { Definition: args.automationRunbookNames, Status: FAILED_STATUSES },
            });
        }
        if (args.backupAssociationId !== undefined) {
            // A scheduled run (State Manager runs the document itself: no Run Command command, so
            // no Command Invocation event) reports per instance and for the whole association.
            rule("backup-association-failed", "The scheduled backup (or restore drill) failed, timed out or was cancelled on an instance, or the association as a whole failed", {
                source: ["aws.ssm"],
                "detail-type": ["EC2 State Manager Instance Association State Change", "EC2 State Manager Association State Change"],
                detail: { "association-id": [args.backupAssociationId, ...(args.drillAssociationId !== undefined ? [args.drillAssociationId] : [])], $or: [{ status: FAILED_STATUSES }, { "detailed-status": FAILED_STATUSES }] },
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
        if (args.backupMetrics?.drillSchedule !== undefined) {
            const m = args.backupMetrics;
            widget("Restore drill: seconds to restore (the measured restore time)", m.directories.map((d) => [m.namespace, "RestoreDrillSeconds", "Stack", args.stack, "Directory", normalizeBackupPath(d)]), "Maximum");
        }
        widgets.push({ type: "alarm", width: 24, height: 4, properties: { title: "Alarms", alarms: this.alarms.map((a) => a.arn) } });
        const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: names.dashboard, dashboardBody: pulumi.jsonStringify({ widgets }) }, { parent: this });
        this.dashboardName = dashboard.dashboardName;

        const subscribers = { subscriberSnsTopicArns: [this.topic.arn], subscriberEmailAddresses: emails.length > 0 ? emails : undefined };
        const budget = new aws.budgets.Budget(
            `${name}-budget`,
            {
                name: names.budget,
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

        this.registerOutputs({ topicArn: this.topicArn, topicKeyArn: this.topicKeyArn, dashboardName: this.dashboardName, budgetName: this.budgetName, healthCheckTopicArn: this.healthCheckTopicArn });
    }

    /**
     * Per directory of `m.directories`, on the metrics backup.sh and drill.sh publish with the
     * dimensions Stack and Directory:
     * - `backup-stale-<slug>`: no BackupSuccess for twice the backup schedule's interval. Sum per
     *   period, every period of the window empty (missing data is breaching: a stack that never
     *   backed up alarms too).
     * - `restore-drill-failed-<slug>`: a drill reported RestoreDrillSuccess 0 (Minimum < 1 in a
     *   period). Missing data keeps the state ("ignore"): the alarm stays on until a drill succeeds.
     *   drill.sh publishes ONE Stack+Directory value per directory per run, at its end: the worst
     *   of every instance's result (the per-instance ones carry an InstanceId dimension, a different
     *   metric to CloudWatch). Were each instance's result published under Stack+Directory as it
     *   finished, a run spanning two periods (the drill may take up to its 7200 s timeout) could end
     *   with one instance's success alone in the last period, and with one evaluation period and
     *   missing data ignored, that period decides the state: the failure would be cleared
     *   ("CloudWatch statistics definitions": Minimum is the lowest value observed during the
     *   period, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html;
     *   "Using Amazon CloudWatch alarms", evaluating an alarm and missing data,
     *   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html;
     *   a metric is a unique combination of namespace, name and dimensions: "Amazon CloudWatch
     *   concepts", Dimensions, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html).
     * - `restore-drill-missing-<slug>`: no drill result at all (SampleCount) for twice the drill
     *   schedule's interval.
     * (A failed backup on one instance of several alerts at once through the association's events;
     * these alarms say what an auditor asks: is there a recent, restorable backup of the directory.)
     */
    private createBackupAlarms(
        stack: string,
        m: NonNullable<MonitoringArgs["backupMetrics"]>,
        windows: Record<string, ReturnType<typeof freshnessWindow>>,
        alarm: (id: string, description: string, spec: Omit<aws.cloudwatch.MetricAlarmArgs, "alarmActions" | "okActions" | "name" | "alarmDescription">) => void,
    ): void {
        const backupWindow = windows.backupSchedule as Exclude<ReturnType<typeof freshnessWindow>, string>;
        const drillWindow = windows.drillSchedule as Exclude<ReturnType<typeof freshnessWindow>, string> | undefined;
        for (const directory of m.directories) {
            const slug = pathToSlug(directory);
            // The dimension value the scripts publish: the path as norm_path leaves it.
            const dimensions = { Stack: stack, Directory: normalizeBackupPath(directory) };
            alarm(`backup-stale-${slug}`, `No good backup of ${directory} for ${describeSeconds(backupWindow.gapSeconds)} (twice the backup schedule ${m.backupSchedule})`, {
                namespace: m.namespace,
                metricName: "BackupSuccess",
                dimensions,
                statistic: "Sum",
                period: backupWindow.period,
                evaluationPeriods: backupWindow.evaluationPeriods,
                datapointsToAlarm: backupWindow.evaluationPeriods,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                treatMissingData: "breaching",
            });
            if (drillWindow === undefined) continue;
            alarm(`restore-drill-failed-${slug}`, `The restore drill of ${directory} failed: its latest snapshot did not restore or did not match its manifest (on until a drill succeeds)`, {
                namespace: m.namespace,
                metricName: "RestoreDrillSuccess",
                dimensions,
                statistic: "Minimum",
                period: 3600,
                evaluationPeriods: 1,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                treatMissingData: "ignore",
            });
            alarm(`restore-drill-missing-${slug}`, `No restore drill of ${directory} for ${describeSeconds(drillWindow.gapSeconds)} (twice the drill schedule ${m.drillSchedule})`, {
                namespace: m.namespace,
                metricName: "RestoreDrillSuccess",
                dimensions,
                statistic: "SampleCount",
                period: drillWindow.period,
                evaluationPeriods: drillWindow.evaluationPeriods,
                datapointsToAlarm: drillWindow.evaluationPeriods,
                comparisonOperator: "LessThanThreshold",
                threshold: 1,
                treatMissingData: "breaching",
            });
        }
    }

    /**
     * Route 53 publishes health-check metrics only in us-east-1, so the alarm must live there, and
     * a CloudWatch alarm can notify only an SNS topic in its own region ("Using Amazon CloudWatch
     * alarms" / alarm actions, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html;
     * Route 53 Developer Guide, "Monitoring health check status and getting notifications",
     * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-monitor-view-status.html).
     * So outside us-east-1 the stack gets a second, small alert topic there: encrypted with its own
     * key in that region (KMS keys are regional), the same e-mail subscribers, CloudWatch only.
     */
    private createUsEast1HealthAlarm(
        name: string,
        args: MonitoringArgs,
        names: ReturnType<typeof monitoringNames>,
        partition: pulumi.Output<string>,
        account: pulumi.Output<string>,
        emails: string[],
    ): pulumi.Output<string> {
        const tags = args.tags ?? {};
        const provider = new aws.Provider(`${name}-us-east-1`, { region: "us-east-1", ...(Object.keys(tags).length > 0 ? { defaultTags: { tags } } : {}) }, { parent: this });
        const opts = { parent: this, provider };
        const context = { partition, region: "us-east-1", account, alarmNamePrefix: `${names.prefix}-` };
        const key = new aws.kms.Key(
            `${name}-topic-us-east-1`,
            {
                description: `SNS health-check alert topic of ${names.prefix} (us-east-1)`,
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
                                "kms:DescribeKey", "kms:GetKeyPolicy", "kms:PutKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation",
                                "kms:EnableKey", "kms:DisableKey", "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource", "kms:ListResourceTags",
                                "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
                                "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant", "kms:GenerateDataKey", "kms:Decrypt",
                            ],
                            Resource: "*",
                        },
                        alertPublisherKeyStatements(context)[0],
                    ],
                }),
            },
            opts,
        );
        new aws.kms.Alias(`${name}-topic-us-east-1`, { name: names.usEast1KeyAlias, targetKeyId: key.keyId }, opts);
        const topic = new aws.sns.Topic(`${name}-alerts-us-east-1`, { name: names.usEast1Topic, kmsMasterKeyId: key.arn }, opts);
        new aws.sns.TopicPolicy(
            `${name}-alerts-us-east-1`,
            { arn: topic.arn, policy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [alertPublisherTopicStatements({ ...context, topicArn: topic.arn })[0]] }) },
            opts,
        );
        emails.forEach((email, i) => new aws.sns.TopicSubscription(`${name}-email-us-east-1-${i}`, { topic: topic.arn, protocol: "email", endpoint: email }, opts));
        // Not in this.alarms: the stack region's dashboard shows that region's alarms.
        new aws.cloudwatch.MetricAlarm(
                `${name}-health-check-failed`,
                {
                    name: `${names.prefix}-health-check-failed`,
                    alarmDescription: `The site's Route 53 health check reports it unhealthy (alarm in us-east-1, where Route 53 publishes the metric; the stack is in ${args.region})`,
                    namespace: "AWS/Route53", metricName: "HealthCheckStatus", dimensions: { HealthCheckId: args.healthCheckId! }, statistic: "Minimum",
                    period: 60, evaluationPeriods: 2, comparisonOperator: "LessThanThreshold", threshold: 1, treatMissingData: "breaching",
                    alarmActions: [topic.arn],
                    okActions: [topic.arn],
                },
                opts,
            );
        return topic.arn;
    }
}
