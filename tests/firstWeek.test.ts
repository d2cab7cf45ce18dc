/**
 * The first week of a new stack on AWS: e-mail subscriptions that nobody confirms, and a new
 * public zone whose certificate waits for the parent domain's delegation.
 *
 * - SNS keeps an e-mail subscription "PendingConfirmation" (delivering nothing) until the address
 *   confirms it and deletes it after 3 days unconfirmed (SNS Developer Guide, "Subscribing an
 *   endpoint to an Amazon SNS topic", https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html;
 *   ListSubscriptionsByTopic, https://docs.aws.amazon.com/sns/latest/api/API_ListSubscriptionsByTopic.html).
 *   The provider then drops it from the state on refresh and plans to create it again
 *   (terraform-provider-aws, internal/service/sns/topic_subscription.go: "not found, removing
 *   from state"), so the daily `pulumi preview --refresh --expect-no-changes` would fail daily.
 * - ACM validates a DNS-validated certificate only when its validation records resolve, which for
 *   a new zone needs the parent's NS records (ACM User Guide, "DNS validation",
 *   https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { renderReport, subscriptionReport } from "../tools/alertSubscriptions";
import { Graph } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { byType, serialRun, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";

/** Pulumi's URN globs (`--target`/`--exclude`): `**` matches anything, `*` anything but "::". */
const urnGlob = (pattern: string) =>
    new RegExp(`^${pattern.split("**").map((part) => part.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("(?:(?!::).)*")).join(".*")}$`);

const EMAILS = ["ops@example.com", "oncall@example.com"];

describe("First week: unconfirmed alert subscriptions", function () {
    this.timeout(240000);
    let graph: Graph;
    before(async () => {
        // prod shape outside us-east-1 with DNS: both alert topics get the subscriptions.
        const file = tempStackFile("prod", { "aws:region": "eu-west-1", "platform:alarmEmails": EMAILS, "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "eu" } });
        graph = (await serialRun({ stack: "prod", configFile: file })).graph;
    });

    it("exports each address with its confirmation state (pending until confirmed)", () => {
        assert.deepStrictEqual(graph.outputs.alertSubscriptions, EMAILS.map((endpoint) => ({ endpoint, pendingConfirmation: true })));
    });

    it("the drift check leaves out exactly the e-mail subscriptions (both topics), nothing else", () => {
        const drift = parse(fs.readFileSync(path.join(PROJECT_DIR, ".github/workflows/drift.yml"), "utf8"));
        const preview = drift.jobs.drift.steps.find((s: any) => s.uses?.startsWith("pulumi/actions@"));
        assert.deepStrictEqual([preview.with.refresh, preview.with["expect-no-changes"]], [true, true], "still a refresh + expect-no-changes check");
        const glob = urnGlob(preview.with.exclude);
        const excluded = graph.resources.filter((r) => glob.test(r.urn));
        const subscriptions = byType(graph.resources, "aws:sns/topicSubscription:TopicSubscription").filter((r) => r.inputs.protocol === "email");
        assert.strictEqual(subscriptions.length, 4, "two addresses on two topics");
        assert.deepStrictEqual(excluded.map((r) => r.urn).sort(), subscriptions.map((r) => r.urn).sort());
    });

    it("the drift job reports every address's state, even when the preview failed", () => {
        const drift = parse(fs.readFileSync(path.join(PROJECT_DIR, ".github/workflows/drift.yml"), "utf8"));
        const report = drift.jobs.drift.steps.find((s: any) => /alert-subscriptions/.test(s.run ?? ""));
        assert.ok(report, "a report step");
        assert.strictEqual(report.if, "always()");
        assert.match(report.run, /aws sns list-subscriptions-by-topic --topic-arn "\$topic" > subscriptions\.json/);
        assert.match(report.run, /--github \| tee -a "\$GITHUB_STEP_SUMMARY"/);
    });

    it("classifies ListSubscriptionsByTopic: confirmed, pending confirmation, deleted by AWS", () => {
        // Response shape: SNS API reference, ListSubscriptionsByTopic (a pending subscription's
        // SubscriptionArn is "PendingConfirmation").
        const listed = {
            Subscriptions: [
                { SubscriptionArn: "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts:3b0c3e3c-1111-4f8b-9a1e-3c2b2f3a4d5e", Owner: "123456789012", Protocol: "email", Endpoint: "ops@example.com", TopicArn: "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts" },
                { SubscriptionArn: "PendingConfirmation", Owner: "123456789012", Protocol: "email", Endpoint: "oncall@example.com", TopicArn: "arn:aws:sns:us-east-1:123456789012:platform-prod-alerts" },
            ],
        };
        const report = subscriptionReport([...EMAILS, "gone@example.com"], listed);
        assert.deepStrictEqual(report.map((r) => [r.endpoint, r.state]), [["ops@example.com", "confirmed"], ["oncall@example.com", "pending"], ["gone@example.com", "missing"]]);
        const text = renderReport("prod", report, true);
        assert.match(text, /::warning title=Alert subscription pending::prod: oncall@example\.com: receives nothing until the address opens SNS's confirmation e-mail/);
        assert.match(text, /::warning title=Alert subscription missing::prod: gone@example\.com: .*the next deploy \(pulumi up\) subscribes it again/);
        assert.doesNotMatch(text, /::warning[^\n]*ops@example\.com/);
    });

    it("the CLI, run as the workflow runs it: exit 0 with the report, exit 2 on bad input", () => {
        const dir = tempDir("subs-");
        const listed = path.join(dir, "subscriptions.json");
        fs.writeFileSync(listed, JSON.stringify({ Subscriptions: [{ SubscriptionArn: "PendingConfirmation", Protocol: "email", Endpoint: "ops@example.com" }] }));
        const stackFile = tempStackFile("dev", { "platform:alarmEmails": ["ops@example.com"] });
        const run = (args: string[]) => spawnSync(process.execPath, ["-r", path.join(PROJECT_DIR, "tools/register.js"), path.join(PROJECT_DIR, "tools/alertSubscriptions.ts"), ...args], { encoding: "utf8", cwd: PROJECT_DIR });
        const ok = run(["--stack", "dev", "--config", stackFile, "--subscriptions", listed, "--github"]);
        assert.strictEqual(ok.status, 0, ok.stderr);
        assert.match(ok.stdout, /^Alert subscriptions of stack dev:\n {2}ops@example\.com: pending: /);
        assert.match(ok.stdout, /::warning title=Alert subscription pending::dev: ops@example\.com/);
        assert.match(renderReport("dev", [], false), /\(none: platform:alarmEmails is empty, so nobody receives the alerts\)/);
        fs.writeFileSync(listed, "not json");
        const bad = run(["--stack", "dev", "--subscriptions", listed]);
        assert.strictEqual(bad.status, 2);
        assert.match(bad.stderr, /cannot read .* as the JSON of aws sns list-subscriptions-by-topic/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

describe("First week: a new public zone waits for delegation", function () {
    this.timeout(240000);

    it("with createZone: the certificate validation waits a bounded 45 minutes and the plan says to create the NS records", async () => {
        const file = tempStackFile("prod", { "platform:dns": { enabled: true, parentDomain: "example.com", subdomain: "shop", createZone: true } });
        const { graph } = await serialRun({ stack: "prod", configFile: file });
        const validations = byType(graph.resources, "aws:acm/certificateValidation:CertificateValidation");
        assert.ok(validations.length >= 1);
        for (const v of validations) assert.deepStrictEqual(v.customTimeouts, { create: "45m" }, v.name);
        const warning = (graph.warnings ?? []).find((w) => /is a public zone this stack creates/.test(w.message));
        assert.ok(warning, JSON.stringify(graph.warnings));
        assert.match(warning.message, /creating an NS record for shop\.example\.com there with the four name servers of the stack output nameServers/);
        assert.ok(Array.isArray(graph.outputs.nameServers) && (graph.outputs.nameServers as string[]).length === 4);
    });

    it("with an existing zone (createZone false): no delegation warning", async () => {
        const file = tempStackFile("prod", { "platform:dns": { enabled: true, parentDomain: "example.org", subdomain: "", createZone: false } });
        const { graph } = await serialRun({ stack: "prod", configFile: file });
        assert.ok(!(graph.warnings ?? []).some((w) => /public zone this stack creates/.test(w.message)));
    });
});
