/**
 * The names the program builds from the project and stack names, checked against the limits the
 * AWS services enforce when the resource is created, so a stack whose name would make one of
 * them invalid fails in config (exit 2, naming the stack) instead of halfway through `pulumi up`.
 *
 * Limits, from each API reference:
 * - SSM CreateDocument `Name`: `^[a-zA-Z0-9_\-.]{3,128}$`, and the prefixes aws, amazon, amzn,
 *   AWSEC2, AWSConfigRemediation, AWSSupport are reserved
 *   (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html).
 * - SSM CreateAssociation `AssociationName`: `^[a-zA-Z0-9_\-.]{3,128}$`
 *   (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateAssociation.html).
 * - EventBridge PutRule `Name`: `[\.\-_A-Za-z0-9]+`, 1-64 characters
 *   (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html).
 * - SNS CreateTopic `Name`: up to 256 letters, digits, hyphens and underscores
 *   (https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html).
 * - KMS CreateAlias `AliasName`: `alias/` then `^[a-zA-Z0-9/_-]+$`, up to 256 characters, not
 *   `alias/aws/` (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html).
 * - CloudWatch PutDashboard `DashboardName`: up to 255 letters, digits, "-" and "_"
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html).
 * - CloudWatch PutMetricAlarm `AlarmName`: 1-255 characters
 *   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 * - Budgets `BudgetName`: 1-100 characters, no ":" or "\"
 *   (https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_budgets_Budget.html).
 */
import { amiFactoryNames } from "../components/amiFactory/names";
import { backupAssociationName, drillAssociationName } from "../components/backup/names";
import { monitoringNames } from "../components/monitoringNames";
import { ConfigProblem } from "./types";

interface NameRule {
    what: string;
    test: (name: string) => boolean;
    allowed: string;
}

const RESERVED_DOCUMENT_PREFIXES = ["aws", "amazon", "amzn", "awsec2", "awsconfigremediation", "awssupport"];

const DOCUMENT: NameRule = {
    what: "SSM document",
    test: (n) => /^[a-zA-Z0-9_\-.]{3,128}$/.test(n) && !RESERVED_DOCUMENT_PREFIXES.some((p) => n.toLowerCase().startsWith(p)),
    allowed: "3-128 letters, digits, '_', '-' and '.', not starting with aws, amazon or amzn (reserved by AWS)",
};
const ASSOCIATION: NameRule = { what: "State Manager association", test: (n) => /^[a-zA-Z0-9_\-.]{3,128}$/.test(n), allowed: "3-128 letters, digits, '_', '-' and '.'" };
const RULE: NameRule = { what: "EventBridge rule", test: (n) => /^[.\-_A-Za-z0-9]{1,64}$/.test(n), allowed: "1-64 letters, digits, '.', '-' and '_'" };
const TOPIC: NameRule = { what: "SNS topic", test: (n) => /^[A-Za-z0-9_-]{1,256}$/.test(n), allowed: "1-256 letters, digits, '-' and '_'" };
const ALIAS: NameRule = { what: "KMS alias", test: (n) => /^alias\/[a-zA-Z0-9/_-]+$/.test(n) && n.length <= 256 && !n.startsWith("alias/aws/"), allowed: "alias/ then letters, digits, '/', '_' and '-', 256 characters at most" };
const DASHBOARD: NameRule = { what: "CloudWatch dashboard", test: (n) => /^[A-Za-z0-9_-]{1,255}$/.test(n), allowed: "1-255 letters, digits, '-' and '_'" };
const ALARM: NameRule = { what: "CloudWatch alarm", test: (n) => n.length >= 1 && n.length <= 255 && !/[\u0000-\u001f]/.test(n), allowed: "1-255 characters" };
const BUDGET: NameRule = { what: "budget", test: (n) => n.length >= 1 && n.length <= 100 && !/[:\\]/.test(n), allowed: "1-100 characters without ':' or '\\'" };

/** Every name built from the project and stack names, with the rule AWS applies to it. */
export function builtNames(project: string, stack: string): Array<[NameRule, string]> {
    const m = monitoringNames(project, stack);
    const a = amiFactoryNames(stack);
    return [
        ...Object.values(a.documents).map((n): [NameRule, string] => [DOCUMENT, n]),
        ...Object.values(a.associations).map((n): [NameRule, string] => [ASSOCIATION, n]),
        [ASSOCIATION, backupAssociationName(stack)],
        [ASSOCIATION, drillAssociationName(stack)],
        ...m.rules.map((n): [NameRule, string] => [RULE, n]),
        [TOPIC, m.topic],
        [TOPIC, m.usEast1Topic],
        [ALIAS, m.keyAlias],
        [ALIAS, m.usEast1KeyAlias],
        [DASHBOARD, m.dashboard],
        [ALARM, m.longestAlarm],
        [BUDGET, m.budget],
    ];
}

/** One problem per kind of name the stack's name would make invalid. */
export function nameProblems(project: string, stack: string): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const reported = new Set<string>();
    for (const [rule, name] of builtNames(project, stack)) {
        if (rule.test(name) || reported.has(rule.what)) continue;
        reported.add(rule.what);
        problems.push({
            key: "stack name",
            value: stack,
            message: `makes the ${rule.what} name "${name}", which AWS rejects (allowed: ${rule.allowed}); choose a shorter stack name of letters, digits, '-' and '_'`,
        });
    }
    return problems;
}
