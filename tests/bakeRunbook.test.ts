/**
 * The bake runbook never leaves its builder running: a simulation of its step graph
 * (tools/ssmDocuments.ts simulateAutomation, which follows SSM's nextStep / onFailure /
 * onCancel / isEnd / aws:branch / maxAttempts rules) with a failure, a one-off failure and a
 * cancel injected at every step, and "aws:runInstances launched the instance but its own wait
 * failed"; and the termination step's Python, compiled and run against moto's EC2 (a server for
 * this file; the step run as aws:executeScript runs it, tests/helpers/boto_worker.py).
 *
 * AWS rules the model encodes (AWS Systems Manager User Guide, "Properties shared by all
 * actions", https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-actions.html#automation-common,
 * and "aws:runInstances", https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-action-runinstance.html):
 * - a step's outputs exist only when it succeeded: a later `{{ Step.InstanceIds }}` of a failed
 *   or cancelled aws:runInstances cannot be resolved, so a step that needs it fails;
 * - aws:runInstances launches, then waits for the instance: it can fail (or be cancelled) after
 *   the instance exists, which then carries the TagSpecifications tags it was launched with;
 * - the run ends Failed when a critical step failed, Cancelled after a cancel, else Success.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    EXECUTION_TAG_KEY,
    TERMINATE_AFTER_CANCEL_STEP,
    TERMINATE_BUILDER_SCRIPT_PATH,
    TERMINATE_STEP,
    bakeRunbookContent,
    builderFilters,
    readTerminateBuilderScript,
    serviceRolePolicy,
} from "../components/amiFactory";
import { DOCUMENT_CHECKS, SsmDocumentContent, SsmStep, StepOutcome, checkDocument, cleanupPathCheck, findReferences, simulateAutomation } from "../tools/ssmDocuments";
import { BotoCall, Moto, startMoto } from "./helpers/moto";
import { tempDir } from "./support/tmp";
import { missingRequirements, requireTools } from "./support/tools";

const EXECUTION_ID = "4f1c2b8e-1111-4222-8333-944455556666";

function runbook(refresh = true): SsmDocumentContent {
    return bakeRunbookContent({
        stack: "prod",
        serviceRoleArn: "arn:aws:iam::123456789012:role/r",
        sourceAmiParameter: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
        subnetId: "subnet-0123456789abcdef0",
        securityGroupId: "sg-1",
        instanceProfileName: "p",
        instanceType: "t4g.small",
        rootVolumeGb: 8,
        bakePrepareDocumentName: "prod-web-bake-prepare",
        packages: ["nginx"],
        amiParameterName: "/platform/prod/web/ami-id",
        autoScalingGroupName: refresh ? "g" : undefined,
        instanceRefresh: refresh,
        instanceRefreshPreferences: refresh ? { minHealthyPercentage: 90, instanceWarmupSeconds: 300, alarmNames: ["a"] } : undefined,
        keepImages: 2,
        logsBucketName: "b",
        logsPrefix: "ami-bake/prod",
    });
}

interface Instance {
    id: string;
    tags: Record<string, string>;
    state: "running" | "stopped" | "terminated";
}
interface World {
    instances: Instance[];
    /** Steps that succeeded: their outputs exist. */
    outputs: Set<string>;
}
type Injection =
    | { kind: "nominal" }
    | { kind: "fail" | "transient" | "cancel"; at: string }
    | { kind: "launchedWaitFailed"; at: string };

const resolve = (text: string) => text.replace(/\{\{\s*automation:EXECUTION_ID\s*\}\}/g, EXECUTION_ID);

/** EC2 DescribeInstances filter semantics: filters ANDed, values of one filter ORed. */
const selects = (filters: Array<{ Name: string; Values: string[] }>, i: Instance) =>
    filters.every((f) => f.Name.startsWith("tag:") && f.Values.map(resolve).includes(i.tags[f.Name.slice(4)]));

/** Steps whose inputs need an output of a step that has not succeeded cannot run. */
const unresolvable = (step: SsmStep, w: World) =>
    findReferences(step.inputs ?? {}).some((r) => {
        const dot = r.name.indexOf(".");
        return dot > 0 && !r.name.includes(":") && !w.outputs.has(r.name.slice(0, dot)) && r.name.slice(0, dot) !== step.name;
    });

function scenario(inject: Injection, refresh: boolean) {
    const launch = (step: SsmStep, w: World) => {
        const spec = ((step.inputs as { TagSpecifications: Array<{ ResourceType: string; Tags: Array<{ Key: string; Value: string }> }> }).TagSpecifications ?? []).find((t) => t.ResourceType === "instance");
        w.instances.push({ id: `i-${w.instances.length + 1}`, tags: Object.fromEntries((spec?.Tags ?? []).map((t) => [t.Key, resolve(t.Value)])), state: "running" });
    };
    return {
        outcome(step: SsmStep, attempt: number, w: World): StepOutcome {
            if (unresolvable(step, w)) return "failure";
            if (inject.kind === "nominal" || inject.at !== step.name) return "success";
            if (inject.kind === "cancel") return attempt === 1 ? "cancel" : "success";
            if (inject.kind === "transient") return attempt === 1 ? "failure" : "success";
            return "failure";
        },
        effect(step: SsmStep, outcome: StepOutcome, w: World) {
            if (step.action === "aws:runInstances") {
                // Launched on success; launched but not waited for when the wait failed or the run was
                // cancelled during it (the worst case for a cancel); not launched when the call itself failed.
                if (outcome === "success" || outcome === "cancel" || inject.kind === "launchedWaitFailed") launch(step, w);
            }
            if (outcome !== "success") return;
            w.outputs.add(step.name);
            const inputs = (step.inputs ?? {}) as Record<string, any>;
            if (step.action === "aws:changeInstanceState") {
                // Its InstanceIds resolved (else the step had failed): the launch step's instances.
                for (const i of w.instances) if (i.state !== "terminated") i.state = inputs.DesiredState === "terminated" ? "terminated" : inputs.DesiredState === "stopped" ? "stopped" : i.state;
            }
            if (step.action === "aws:executeScript" && inputs.Script === readTerminateBuilderScript()) {
                for (const i of w.instances) if (selects(inputs.InputPayload.InstanceFilters, i)) i.state = "terminated";
            }
        },
        branch: (step: SsmStep) => (refresh ? (step.inputs as any).Choices[0].NextStep : (step.inputs as any).Default),
    };
}

interface Finding {
    ran: boolean;
    scenario: string;
    status: string;
    alive: string[];
}

/** Runs every scenario on a runbook and returns what each one left and how it ended. */
function explore(make: (refresh: boolean) => SsmDocumentContent): Finding[] {
    const out: Finding[] = [];
    for (const refresh of [true, false]) {
        const c = make(refresh);
        const injections: Injection[] = [{ kind: "nominal" }];
        for (const s of c.mainSteps) {
            injections.push({ kind: "cancel", at: s.name });
            if (s.action === "aws:branch") continue;
            injections.push({ kind: "fail", at: s.name }, { kind: "transient", at: s.name });
            if (s.action === "aws:runInstances") injections.push({ kind: "launchedWaitFailed", at: s.name });
        }
        for (const inject of injections) {
            const w: World = { instances: [], outputs: new Set() };
            const r = simulateAutomation(c, scenario(inject, refresh), w);
            // An injection at a step the run never reached (the after-cancel copy on other paths) is the nominal run.
            const ran = !("at" in inject) || r.trace.some((t) => t.startsWith(`${inject.at}:`));
            out.push({ ran, scenario: `${refresh ? "refresh" : "no-refresh"} ${inject.kind}${"at" in inject ? ` at ${inject.at}` : ""}`, status: r.status, alive: w.instances.filter((i) => i.state !== "terminated").map((i) => i.id) });
        }
    }
    return out;
}

describe("Bake runbook: no path leaves the builder running", () => {
    const findings = explore(runbook);
    const maxAttempts = (name: string) => (runbook().mainSteps.find((s) => s.name === name)?.maxAttempts as number | undefined) ?? 1;

    it(`explores ${findings.length} scenarios`, () => assert.ok(findings.length > 50, String(findings.length)));

    it("no scenario leaves a builder, except a termination that fails every attempt, which ends Failed", () => {
        const leaks = findings.filter((f) => f.alive.length > 0);
        for (const f of leaks) {
            assert.match(f.scenario, new RegExp(`fail at (${TERMINATE_STEP})$`), `${f.scenario} leaves ${f.alive}`);
            assert.strictEqual(f.status, "Failed", f.scenario);
        }
        assert.deepStrictEqual(leaks.map((f) => f.scenario).sort(), ["no-refresh fail at TerminateBuilder", "refresh fail at TerminateBuilder"]);
    });

    it("the nominal run succeeds; every failure ends Failed, every cancel Cancelled, a one-off failure of a retried step still succeeds", () => {
        for (const f of findings) {
            const [, kind, , at] = f.scenario.split(" ");
            const expected = kind === "nominal" || !f.ran ? "Success" : kind === "cancel" ? "Cancelled" : kind === "transient" ? (maxAttempts(at) >= 2 ? "Success" : "Failed") : "Failed";
            assert.strictEqual(f.status, expected, f.scenario);
        }
    });

    it("'aws:runInstances launched but its wait failed' terminates the builder by its execution tag", () => {
        for (const f of findings.filter((x) => x.scenario.includes("launchedWaitFailed"))) assert.deepStrictEqual([f.status, f.alive], ["Failed", []], f.scenario);
    });

    it("the old shape (terminate by the launch step's InstanceIds, one attempt, not critical) is caught by the same simulation", () => {
        const old = (refresh: boolean) => {
            const c = runbook(refresh);
            c.mainSteps = c.mainSteps.filter((s) => s.name !== TERMINATE_AFTER_CANCEL_STEP);
            const t = c.mainSteps.find((s) => s.name === TERMINATE_STEP)!;
            for (const k of Object.keys(t)) delete (t as Record<string, unknown>)[k];
            Object.assign(t, {
                name: TERMINATE_STEP,
                action: "aws:changeInstanceState",
                onFailure: "Continue",
                isCritical: false,
                isEnd: true,
                inputs: { InstanceIds: ["{{ LaunchBuilder.InstanceIds }}"], CheckStateOnly: false, DesiredState: "terminated" },
            });
            for (const s of c.mainSteps) {
                const spec = (s.inputs as any)?.TagSpecifications as Array<{ Tags: Array<{ Key: string }> }> | undefined;
                spec?.forEach((x) => (x.Tags = x.Tags.filter((tag) => tag.Key !== EXECUTION_TAG_KEY)));
            }
            return c;
        };
        const bad = explore(old).filter((f) => f.alive.length > 0 || (f.status === "Success" && f.scenario.includes(TERMINATE_STEP) && !f.scenario.includes("cancel")));
        const names = bad.map((f) => f.scenario);
        assert.ok(names.includes("refresh launchedWaitFailed at LaunchBuilder"), names.join("\n"));
        assert.ok(names.includes("refresh transient at TerminateBuilder"), names.join("\n"));
        assert.ok(names.includes("refresh fail at TerminateBuilder"), names.join("\n"));
    });

    it("termination selects this execution's builders by tag, with a filter the launch sets (and the service role may terminate)", () => {
        const c = runbook();
        const launch = c.mainSteps.find((s) => s.action === "aws:runInstances")!;
        const instanceTags = ((launch.inputs as any).TagSpecifications as Array<{ ResourceType: string; Tags: Array<{ Key: string; Value: string }> }>).find((t) => t.ResourceType === "instance")!.Tags;
        for (const name of [TERMINATE_STEP, TERMINATE_AFTER_CANCEL_STEP]) {
            const t = c.mainSteps.find((s) => s.name === name)!;
            assert.deepStrictEqual((t.inputs as any).InputPayload.InstanceFilters, builderFilters("prod"));
            for (const f of builderFilters("prod")) assert.ok(instanceTags.some((tag) => `tag:${tag.Key}` === f.Name && f.Values.includes(tag.Value)), `launch sets ${f.Name}`);
            assert.strictEqual(t.maxAttempts, 3);
            assert.strictEqual(t.isCritical, true);
            assert.strictEqual(t.onFailure, "Abort");
        }
        assert.ok(instanceTags.some((t) => t.Key === EXECUTION_TAG_KEY && t.Value === "{{ automation:EXECUTION_ID }}"));
        // The script runs as the automation's service role: DescribeInstances (no resource-level
        // permissions in IAM: "*") and TerminateInstances on instances carrying the builder tags.
        const policy = serviceRolePolicy({
            partition: "aws", region: "us-east-1", account: "123456789012", stack: "prod", instanceRoleArn: "arn:aws:iam::123456789012:role/web",
            subnetIds: ["subnet-0123456789abcdef0"], securityGroupId: "sg-1", bakePrepareDocumentName: "prod-web-bake-prepare",
            sourceAmiParameter: "/aws/service/x", amiParameterArn: "arn:aws:ssm:us-east-1:123456789012:parameter/platform/prod/web/ami-id", imagingTag: { key: "Imaging", value: "true" },
        }) as { Statement: Array<{ Action: string | string[]; Resource: string | string[]; Condition?: { StringEquals?: Record<string, string> } }> };
        const allows = (action: string) => policy.Statement.filter((st) => ([] as string[]).concat(st.Action).includes(action));
        assert.ok(allows("ec2:DescribeInstances").some((st) => st.Resource === "*"));
        const terminate = allows("ec2:TerminateInstances");
        assert.strictEqual(terminate.length, 1);
        for (const [k, v] of Object.entries(terminate[0].Condition?.StringEquals ?? {})) {
            assert.ok(instanceTags.some((tag) => `ec2:ResourceTag/${tag.Key}` === k && tag.Value === v), `builder carries ${k}=${v}`);
        }
        assert.deepStrictEqual(Object.keys(terminate[0].Condition?.StringEquals ?? {}).sort(), ["ec2:ResourceTag/Purpose", "ec2:ResourceTag/Stack"]);
    });

    it("stays valid for the document checker, cleanup-path check included", () => {
        for (const refresh of [true, false]) assert.deepStrictEqual(checkDocument(JSON.stringify(runbook(refresh)), { checks: [...DOCUMENT_CHECKS, cleanupPathCheck([TERMINATE_STEP, TERMINATE_AFTER_CANCEL_STEP])] }), []);
    });
});

describe("terminate_builder.py", function () {
    this.timeout(120_000);
    const payload = (extra: Record<string, unknown> = {}) => ({ ...(runbook().mainSteps.find((s) => s.name === TERMINATE_STEP)!.inputs as any).InputPayload, InstanceFilters: builderFilters("prod").map((f) => ({ ...f, Values: f.Values.map(resolve) })), ...extra });
    type MotoRun = { result: any; error?: string; states: Record<string, string>; calls: number };
    let moto: Moto | undefined;
    before(async function () {
        // Without moto the two moto tests are pending (or fail under CI=true) through requireTools.
        if (missingRequirements(["moto"]).length > 0) return;
        moto = await startMoto(tempDir("moto-terminate-"));
    });
    after(async () => {
        if (moto) await moto.stop();
    });

    /** Launches this execution's builders (running, stopped) and instances it must not touch, then runs the step. */
    async function scenario(ctx: Mocha.Context, stepPayload: Record<string, unknown>, failFirst: number): Promise<MotoRun> {
        requireTools(ctx, ["moto"]);
        const m = moto!;
        const [amazon] = await m.botoOk([{ service: "ec2", op: "describe_images", params: { Owners: ["amazon"] } }]);
        const launch = (tags: Record<string, string>): BotoCall => ({
            service: "ec2", op: "run_instances",
            params: { ImageId: amazon.Images[0].ImageId, MinCount: 1, MaxCount: 1, TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }] },
        });
        const names = ["ours", "stopped", "other_execution", "other_stack", "web"];
        const launched = await m.botoOk([
            launch({ AutomationExecutionId: EXECUTION_ID, Purpose: "ami-bake", Stack: "prod" }),
            launch({ AutomationExecutionId: EXECUTION_ID, Purpose: "ami-bake", Stack: "prod" }),
            launch({ AutomationExecutionId: "another-execution", Purpose: "ami-bake", Stack: "prod" }),
            launch({ AutomationExecutionId: EXECUTION_ID, Purpose: "ami-bake", Stack: "dev" }),
            launch({ Stack: "prod", Backup: "true" }),
        ]);
        const ids = launched.map((r) => r.Instances[0].InstanceId as string);
        await m.botoOk([{ service: "ec2", op: "stop_instances", params: { InstanceIds: [ids[1]] } }]);
        const [out] = await m.botoOk([{ step: TERMINATE_BUILDER_SCRIPT_PATH, payload: stepPayload, options: [`--fail-terminate-instances=${failFirst}`, "--no-sleep"] }]);
        const [described] = await m.botoOk([{ service: "ec2", op: "describe_instances", params: { InstanceIds: ids } }]);
        const state = new Map<string, string>(described.Reservations.flatMap((r: any) => r.Instances).map((i: any) => [i.InstanceId, i.State.Name]));
        return { result: out.result, error: out.error, calls: out.terminateCalls, states: Object.fromEntries(names.map((n, i) => [n, state.get(ids[i])!])) };
    }

    it("compiles (python3 -m py_compile)", () => {
        const dir = tempDir("pyc-");
        const r = spawnSync("python3", ["-c", "import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", TERMINATE_BUILDER_SCRIPT_PATH, path.join(dir, "t.pyc")], { encoding: "utf8" });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.strictEqual(r.status, 0, r.stderr);
    });

    it("is embedded in the runbook byte for byte", () => {
        assert.strictEqual((runbook().mainSteps.find((s) => s.name === TERMINATE_STEP)!.inputs as any).Script, fs.readFileSync(TERMINATE_BUILDER_SCRIPT_PATH, "utf8"));
    });

    it("against moto's EC2: terminates this execution's builders (running and stopped) and nothing else, retrying a failed TerminateInstances", async function () {
        const out = await scenario(this, payload(), 2);
        assert.strictEqual(out.error, undefined);
        assert.deepStrictEqual(out.states, { ours: "terminated", stopped: "terminated", other_execution: "running", other_stack: "running", web: "running" });
        assert.strictEqual(out.calls, 3, "two injected failures, then success");
    });

    it("against moto's EC2: fails loudly when the builders outlive every attempt", async function () {
        const out = await scenario(this, payload({ Attempts: 3, WaitSeconds: 0 }), 99);
        assert.match(out.error ?? "", /still alive after 3 attempts/);
        assert.strictEqual(out.states.ours, "running");
    });
});
