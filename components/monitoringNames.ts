/** The names Monitoring gives what it creates (plain data: config/names.ts checks them against AWS's limits before the program runs). */

/** EventBridge rules Monitoring may create, by id (the rule is named `<prefix>-<id>`). */
export const EVENT_RULE_IDS = ["command-failed", "automation-failed", "backup-association-failed", "association-noncompliant"] as const;

/** The names Monitoring gives what it creates (config/names.ts checks them against AWS's limits). */
export function monitoringNames(project: string, stack: string) {
    const prefix = `${project}-${stack}`;
    return {
        prefix,
        topic: `${prefix}-alerts`,
        usEast1Topic: `${prefix}-alerts-us-east-1`,
        keyAlias: `alias/${prefix}-alerts`,
        usEast1KeyAlias: `alias/${prefix}-alerts-us-east-1`,
        dashboard: prefix,
        budget: `${prefix}-monthly`,
        rules: EVENT_RULE_IDS.map((id) => `${prefix}-${id}`),
        /** The longest alarm name (alarms are `<prefix>-<id>`). */
        longestAlarm: `${prefix}-instance-status-check-failed`,
    };
}

/**
 * The name Monitoring gives one of its alarms (`<project>-<stack>-<id>`). Exported so the web
 * tier can name the load balancer alarms in its instance refresh before Monitoring creates them
 * (Monitoring comes after the web tier: it watches the group and the load balancer).
 */
export function monitoringAlarmName(project: string, stack: string, id: string): string {
    return `${monitoringNames(project, stack).prefix}-${id}`;
}
