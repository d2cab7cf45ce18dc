/**
 * The failure alerts' EventBridge rules, fed the sample events the AWS documentation publishes
 * (tests/fixtures/events/ssm-documented-samples.json, copied from the AWS Systems Manager User
 * Guide, "Amazon EventBridge event examples for Systems Manager",
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html).
 * A rule whose pattern names a field or value the real event does not carry never fires; this
 * is where that shows.
 *
 * The matcher (tools/eventPatterns.ts) is checked against the pattern semantics of the
 * EventBridge User Guide ("Creating event patterns", "Content filtering") and, case by case,
 * against moto's EventBridge pattern implementation (moto.events.models.EventPattern).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { FAILED_STATUSES } from "../components/monitoring";
import { EventPattern, matchesPattern } from "../tools/eventPatterns";
import { Graph } from "../tools/graph";
import { requireTools } from "./support/tools";
import { byType, stackRun } from "./support/stacks";

const SAMPLES = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/events/ssm-documented-samples.json"), "utf8")) as Record<string, any>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
/** A documented sample with some detail fields replaced. */
const sample = (name: string, detail: Record<string, unknown>): Record<string, any> => {
    const e = clone(SAMPLES[name]);
    Object.assign(e.detail, detail);
    return e;
};

/** [pattern, event, expected] cases from the EventBridge User Guide's examples of each filter. */
const SEMANTICS: Array<[string, EventPattern, unknown, boolean]> = [
    ["exact value", { source: ["aws.ssm"] }, { source: "aws.ssm" }, true],
    ["exact value, case-sensitive", { source: ["aws.ssm"] }, { source: "AWS.SSM" }, false],
    ["values in one field are ORed", { detail: { status: ["Failed", "TimedOut"] } }, { detail: { status: "TimedOut" } }, true],
    ["fields are ANDed", { source: ["aws.ssm"], detail: { status: ["Failed"] } }, { source: "aws.ssm", detail: { status: "Success" } }, false],
    ["a missing field matches nothing", { detail: { "detailed-status": ["Failed"] } }, { detail: { status: "Failed" } }, false],
    ["an array field matches when an element does", { resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-1"] }, { resources: ["x", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"] }, true],
    ["prefix", { "detail-type": [{ prefix: "EC2 State Manager" }] }, { "detail-type": "EC2 State Manager Association State Change" }, true],
    ["anything-but list", { detail: { status: [{ "anything-but": ["Success", "Pending"] }] } }, { detail: { status: "Success" } }, false],
    ["anything-but list, other value", { detail: { status: [{ "anything-but": ["Success", "Pending"] }] } }, { detail: { status: "Failed" } }, true],
    ["exists false", { detail: { "error-code": [{ exists: false }] } }, { detail: {} }, true],
    ["exists true", { detail: { "error-code": [{ exists: true }] } }, { detail: {} }, false],
    ["numeric range", { detail: { count: [{ numeric: [">", 0, "<=", 5] }] } }, { detail: { count: 5 } }, true],
    ["$or, second branch", { detail: { $or: [{ status: ["Failed"] }, { "detailed-status": ["TimedOut"] }] } }, { detail: { status: "Success", "detailed-status": "TimedOut" } }, true],
    ["$or, no branch", { detail: { $or: [{ status: ["Failed"] }, { "detailed-status": ["TimedOut"] }] } }, { detail: { status: "Success", "detailed-status": "" } }, false],
    ["nested object must exist", { detail: { a: { b: ["x"] } } }, { detail: {} }, false],
];

const MOTO_SCRIPT = `
import json, sys
from moto.events.models import EventPattern
cases = json.load(sys.stdin)
print(json.dumps([EventPattern.load(json.dumps(p)).matches_event(e) for p, e in cases]))
`;

/** moto's answers for [pattern, event] cases (a test calls requireTools(this, ["moto"]) first). */
function motoMatches(cases: Array<[EventPattern, unknown]>): boolean[] {
    const r = spawnSync("python3", ["-c", MOTO_SCRIPT], { input: JSON.stringify(cases), encoding: "utf8" });
    assert.ok(!r.error && r.status === 0, `moto's EventPattern failed: ${r.error?.message ?? r.stderr}`);
    return JSON.parse(r.stdout) as boolean[];
}

describe("EventBridge pattern matcher", () => {
    for (const [what, pattern, event, expected] of SEMANTICS) {
        it(`${what}: ${expected ? "matches" : "does not match"}`, () => assert.strictEqual(matchesPattern(pattern, event), expected));
    }

    it("agrees with moto's EventBridge pattern implementation on every case", function () {
        requireTools(this, ["moto"]);
        const answers = motoMatches(SEMANTICS.map(([, p, e]) => [p, e]));
        assert.deepStrictEqual(
            SEMANTICS.map(([what], i) => [what, answers[i]]),
            SEMANTICS.map(([what, , , expected]) => [what, expected]),
        );
    });
});

describe("Failure alert rules against the documented SSM events (prod)", function () {
    this.timeout(240000);
    let graph: Graph;
    const pattern = (name: string): EventPattern => {
        const r = byType(graph.resources, "aws:cloudwatch/eventRule:EventRule").find((x) => x.name === `monitoring-${name}`);
        assert.ok(r, name);
        return JSON.parse(r.inputs.eventPattern as string) as EventPattern;
    };
    before(async () => {
        graph = (await stackRun("prod")).graph;
    });

    it("a failed, timed-out or cancelled scheduled backup on an instance alerts; success and other associations do not", () => {
        const p = pattern("backup-association-failed");
        const ours = graph.outputs.backupAssociationId as string;
        const document = graph.outputs.backupDocumentName as string;
        for (const status of FAILED_STATUSES) {
            assert.ok(matchesPattern(p, sample("instanceAssociationStateChange", { "association-id": ours, "document-name": document, status })), status);
            // The status may also arrive as Failed with the reason in detailed-status.
            assert.ok(matchesPattern(p, sample("instanceAssociationStateChange", { "association-id": ours, "document-name": document, status: "Failed", "detailed-status": status })), `detailed ${status}`);
        }
        assert.ok(!matchesPattern(p, sample("instanceAssociationStateChange", { "association-id": ours, "document-name": document })), "the documented Success sample");
        assert.ok(!matchesPattern(p, sample("instanceAssociationStateChange", { "association-id": ours, status: "Pending" })), "Pending");
        assert.ok(!matchesPattern(p, sample("instanceAssociationStateChange", { status: "Failed" })), "another association's failure");
    });

    it("the association as a whole failing alerts too", () => {
        const p = pattern("backup-association-failed");
        const ours = graph.outputs.backupAssociationId as string;
        assert.ok(matchesPattern(p, sample("associationStateChange", { "association-id": ours, status: "Failed" })));
        assert.ok(!matchesPattern(p, sample("associationStateChange", { "association-id": ours })), "the documented Success sample");
    });

    it("a failed ad-hoc backup or restore command (Run Command, e.g. ops backup-now) alerts, by document name", () => {
        const p = pattern("command-failed");
        for (const doc of [graph.outputs.backupDocumentName as string, graph.outputs.restoreDocumentName as string]) {
            for (const status of FAILED_STATUSES) assert.ok(matchesPattern(p, sample("commandInvocation", { "document-name": doc, status })), `${doc} ${status}`);
            assert.ok(!matchesPattern(p, sample("commandInvocation", { "document-name": doc })), `${doc}: the documented Success sample`);
        }
        assert.ok(!matchesPattern(p, sample("commandInvocation", { status: "Failed" })), "AWS-RunPowerShellScript failing is not ours");
    });

    it("a failed, timed-out or cancelled bake or imaging execution alerts (execution events, not step events)", () => {
        const p = pattern("automation-failed");
        for (const runbook of [graph.outputs.bakeRunbookName as string, graph.outputs.imagingRunbookName as string]) {
            for (const status of FAILED_STATUSES) assert.ok(matchesPattern(p, sample("automationExecution", { Definition: runbook, Status: status })), `${runbook} ${status}`);
            assert.ok(!matchesPattern(p, sample("automationExecution", { Definition: runbook })), `${runbook}: Success`);
            // A failed step whose failure the runbook handles (onFailure -> cleanup) is not an alert of its own.
            assert.ok(!matchesPattern(p, sample("automationStep", { Definition: runbook, Status: "Failed" })), `${runbook}: step event`);
        }
    });

    it("a failed scheduled restore drill reaches the topic three ways: its runbook's execution, the drill command the runbook sent, the drill association as a whole", () => {
        const runbook = graph.outputs.drillRunbookName as string;
        const document = graph.outputs.drillDocumentName as string;
        const association = graph.outputs.drillAssociationId as string;
        assert.ok(runbook && document && association, "prod exports the drill's runbook, document and association");
        for (const status of FAILED_STATUSES) {
            assert.ok(matchesPattern(pattern("automation-failed"), sample("automationExecution", { Definition: runbook, Status: status })), `runbook ${status}`);
            // aws:runCommand sends a Run Command command: its invocation events name the drill document.
            assert.ok(matchesPattern(pattern("command-failed"), sample("commandInvocation", { "document-name": document, status })), `command ${status}`);
        }
        assert.ok(matchesPattern(pattern("backup-association-failed"), sample("associationStateChange", { "association-id": association, status: "Failed" })), "the association");
        assert.ok(!matchesPattern(pattern("automation-failed"), sample("automationExecution", { Definition: runbook })), "a drill that succeeded");
        assert.ok(!matchesPattern(pattern("command-failed"), sample("commandInvocation", { "document-name": document })), "a drill command that succeeded");
    });

    it("a non-compliant association alerts; compliant does not", () => {
        const p = pattern("association-noncompliant");
        assert.ok(matchesPattern(p, SAMPLES.associationNonCompliant));
        assert.ok(!matchesPattern(p, SAMPLES.associationCompliant));
    });

    it("moto's pattern implementation agrees on every rule and sample above", function () {
        const ours = graph.outputs.backupAssociationId as string;
        const cases: Array<[EventPattern, unknown]> = [
            [pattern("backup-association-failed"), sample("instanceAssociationStateChange", { "association-id": ours, status: "Failed" })],
            [pattern("backup-association-failed"), sample("instanceAssociationStateChange", { "association-id": ours, status: "Failed", "detailed-status": "TimedOut" })],
            [pattern("backup-association-failed"), sample("instanceAssociationStateChange", { "association-id": ours })],
            [pattern("backup-association-failed"), sample("associationStateChange", { "association-id": ours, status: "Failed" })],
            [pattern("command-failed"), sample("commandInvocation", { "document-name": graph.outputs.restoreDocumentName, status: "TimedOut" })],
            [pattern("command-failed"), sample("commandInvocation", { status: "Failed" })],
            [pattern("automation-failed"), sample("automationExecution", { Definition: graph.outputs.bakeRunbookName, Status: "Cancelled" })],
            [pattern("automation-failed"), sample("automationStep", { Definition: graph.outputs.bakeRunbookName, Status: "Failed" })],
            [pattern("association-noncompliant"), SAMPLES.associationNonCompliant],
        ];
        requireTools(this, ["moto"]);
        const answers = motoMatches(cases);
        assert.deepStrictEqual(answers, cases.map(([p, e]) => matchesPattern(p, e)));
        assert.deepStrictEqual(answers, [true, true, false, true, true, false, true, false, true]);
    });
});
