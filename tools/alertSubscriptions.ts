/**
 * `npm run alert-subscriptions -- --stack <name> --subscriptions FILE [--config STACKFILE] [--github]`: which of the
 * stack's `alarmEmails` actually receive alerts.
 *
 * SNS sends an e-mail subscriber nothing until the address confirms the subscription, lists
 * it meanwhile with SubscriptionArn "PendingConfirmation", and deletes it when it is still
 * unconfirmed after 3 days (SNS Developer Guide, "Subscribing an endpoint to an Amazon SNS
 * topic" / email, https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html;
 * ListSubscriptionsByTopic, https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html).
 * A deleted subscription is gone from AWS but not from the stack: a refresh drops it and the next
 * preview wants to create it again, which the daily drift check must not report as drift (it
 * excludes the e-mail subscriptions) but an operator must see: this report, in the drift job's
 * summary, says per address whether it is confirmed, pending or gone, and what to do.
 *
 * FILE is the JSON of `aws sns list-subscriptions-by-topic --topic-arn <alertTopicArn>`.
 * Exit codes: 0 report printed (whatever the states), 2 bad arguments or input.
 */
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "./offline";
import { readStackSettings } from "./stackFiles";

export type SubscriptionState = "confirmed" | "pending" | "missing";

export interface SubscriptionReport {
    endpoint: string;
    state: SubscriptionState;
    advice: string;
}

interface ListedSubscription {
    SubscriptionArn?: string;
    Protocol?: string;
    Endpoint?: string;
}

/** Each configured address's state, from a ListSubscriptionsByTopic response. */
export function subscriptionReport(emails: string[], listed: { Subscriptions?: ListedSubscription[] }): SubscriptionReport[] {
    const email = (listed.Subscriptions ?? []).filter((s) => s.Protocol === "email");
    return emails.map((endpoint) => {
        const found = email.filter((s) => s.Endpoint?.toLowerCase() === endpoint.toLowerCase());
        if (found.some((s) => s.SubscriptionArn?.startsWith("arn:"))) return { endpoint, state: "confirmed", advice: "receives alerts" };
        if (found.length > 0) {
            return { endpoint, state: "pending", advice: "receives nothing until the address opens SNS's confirmation e-mail and confirms (AWS deletes the subscription after 3 days unconfirmed)" };
        }
        return {
            endpoint,
            state: "missing",
            advice: "not subscribed: AWS deleted the unconfirmed subscription after 3 days (or it was removed by hand); the next deploy (pulumi up) subscribes it again and SNS re-sends the confirmation e-mail",
        };
    });
}

export function renderReport(stack: string, report: SubscriptionReport[], github: boolean): string {
    const lines = [`Alert subscriptions of stack ${stack}:`];
    if (report.length === 0) lines.push("  (none: platform:alarmEmails is empty, so nobody receives the alerts)");
    for (const r of report) {
        lines.push(`  ${r.endpoint}: ${r.state}: ${r.advice}`);
        if (github && r.state !== "confirmed") lines.push(`::warning title=Alert subscription ${r.state}::${stack}: ${r.endpoint}: ${r.advice}`);
    }
    if (github && report.length === 0) lines.push(`::warning title=No alert recipient::${stack}: platform:alarmEmails is empty`);
    return lines.join("\n");
}

export function main(argv: string[]): number {
    const arg = (flag: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const stack = arg("--stack");
    const file = arg("--subscriptions");
    if (!stack || !file) {
        process.stderr.write("usage: npm run alert-subscriptions -- --stack <name> --subscriptions FILE [--github]\n");
        return 2;
    }
    let listed: { Subscriptions?: ListedSubscription[] };
    try {
        listed = JSON.parse(fs.readFileSync(path.resolve(file), "utf8"));
    } catch (err) {
        process.stderr.write(`cannot read ${file} as the JSON of aws sns list-subscriptions-by-topic: ${(err as Error).message}\n`);
        return 2;
    }
    const settings = readStackSettings(PROJECT_DIR, stack, arg("--config"));
    const raw = settings.config["platform:alarmEmails"];
    const emails = raw ? (JSON.parse(raw) as string[]) : [];
    process.stdout.write(renderReport(stack, subscriptionReport(emails, listed), argv.includes("--github")) + "\n");
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2));
}
