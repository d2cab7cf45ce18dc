/**
 * The drill runbook's PickInstance step (components/backup/steps/pick_drill_instance.py) runs for
 * real under python3: the handler the document embeds, byte for byte, with boto3's SSM client
 * replaced by a recorder that answers DescribeInstanceInformation from a scenario. moto 5.2.1 does
 * not implement DescribeInstanceInformation (it answers 500: tests/opsMoto.test.ts checks that),
 * so this one call is the only stand-in; what the handler does with the answers is real.
 *
 * The AWS rule it encodes: DescribeInstanceInformation refuses a tag filter combined with another
 * filter type ("Tag filters can't be combined with other filter types": AWS Systems Manager API
 * Reference, DescribeInstanceInformation, Filters,
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeInstanceInformation.html).
 * The recorder refuses such a request as the API does, so the step must filter PingStatus itself.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import { DRILL_PICK_WAIT_SECONDS, DRILL_STEP_SCRIPT_PATHS, drillInstanceFilters, drillRunbookContent } from "../components/backup";
import { requireTools } from "./support/tools";

const DRIVER = String.raw`
import importlib.util, json, sys, types
scenario = json.load(sys.stdin)
calls = []
answers = list(scenario["answers"])
class Paginator:
    def paginate(self, **kw):
        filters = kw.get("Filters", [])
        calls.append(filters)
        tags = [f for f in filters if f["Key"].startswith("tag:")]
        if tags and len(tags) != len(filters):
            raise Exception("ValidationException: Tag filters can't be combined with other filter types")
        pages = answers.pop(0) if len(answers) > 1 else answers[0]
        for page in pages:
            yield {"InstanceInformationList": page}
class Client:
    def get_paginator(self, name):
        assert name == "describe_instance_information", name
        return Paginator()
boto3 = types.ModuleType("boto3")
boto3.client = lambda service, **kw: Client()
sys.modules["boto3"] = boto3
spec = importlib.util.spec_from_file_location("step", sys.argv[1])
step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(step)
slept = []
step.time.sleep = lambda s: slept.append(s)
try:
    out = {"result": step.handler(scenario["events"], None)}
except Exception as e:
    out = {"error": str(e)}
out["calls"] = calls
out["slept"] = len(slept)
print(json.dumps(out))
`;

interface Outcome {
    result?: { InstanceId: string; OnlineInstances: number };
    error?: string;
    calls: Array<Array<{ Key: string; Values: string[] }>>;
    slept: number;
}

const online = (id: string) => ({ InstanceId: id, PingStatus: "Online" });
const lost = (id: string) => ({ InstanceId: id, PingStatus: "ConnectionLost" });

describe("drill runbook PickInstance step (python3, DescribeInstanceInformation as the API answers it)", function () {
    this.timeout(60_000);
    const doc = drillRunbookContent({
        stack: "prod", serviceRoleArn: "arn:aws:iam::123456789012:role/r", drillDocumentName: "backup-drill-1234567", backupTag: { key: "Backup", value: "true" },
        logsBucketName: "logs", logPrefix: "ssm/drill/prod", timeoutSeconds: 7200,
    });
    const inputs = doc.mainSteps.find((s) => s.name === "PickInstance")!.inputs as { Script: string; InputPayload: { Filters: Array<{ Key: string; Values: string[] }>; WaitSeconds: number; PollSeconds: number } };

    before(function () {
        // python3 is what moto runs on: the moto requirement names its install.
        requireTools(this, ["moto"]);
    });

    const pick = (answers: unknown[][][], events: Record<string, unknown> = inputs.InputPayload): Outcome => {
        const r = spawnSync("python3", ["-c", DRIVER, DRILL_STEP_SCRIPT_PATHS.pickInstance], { input: JSON.stringify({ answers, events }), encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as Outcome;
    };

    it("the document embeds the file byte for byte, with tag filters only and a wait inside aws:executeScript's 600 s", () => {
        assert.equal(inputs.Script, fs.readFileSync(DRILL_STEP_SCRIPT_PATHS.pickInstance, "utf8"));
        assert.deepEqual(inputs.InputPayload.Filters, drillInstanceFilters("prod", { key: "Backup", value: "true" }));
        assert.ok(inputs.InputPayload.Filters.every((f) => f.Key.startsWith("tag:")));
        assert.ok(DRILL_PICK_WAIT_SECONDS + inputs.InputPayload.PollSeconds <= 600);
    });

    it("keeps the Online instances of every page and picks the lowest id; the request carries the tag filters only", () => {
        const o = pick([[[lost("i-0000000000000000a"), online("i-0ccccccccccccccc0")], [online("i-0bbbbbbbbbbbbbbb0"), lost("i-0aaaaaaaaaaaaaaa0")]]]);
        assert.deepEqual(o.result, { InstanceId: "i-0bbbbbbbbbbbbbbb0", OnlineInstances: 2 });
        assert.deepEqual(o.calls, [inputs.InputPayload.Filters]);
    });

    it("waits while no instance is online (an instance being replaced), then picks the one that came up", () => {
        const o = pick([[[lost("i-0aaaaaaaaaaaaaaa0")]], [[]], [[online("i-0ddddddddddddddd0")]]]);
        assert.deepEqual(o.result, { InstanceId: "i-0ddddddddddddddd0", OnlineInstances: 1 });
        assert.equal(o.calls.length, 3);
        assert.equal(o.slept, 2);
    });

    it("fails, naming the tags, when none comes online in time (the execution fails and alerts: no drill is not a passed drill)", () => {
        const o = pick([[[lost("i-0aaaaaaaaaaaaaaa0")]]], { ...inputs.InputPayload, WaitSeconds: 0 });
        assert.equal(o.result, undefined);
        assert.match(o.error!, /^no instance matching Stack=prod, Backup=true has an Online SSM agent after 0 seconds: nothing to run the restore drill on$/);
    });

    it("refuses a non-tag filter before calling the API (which would refuse it)", () => {
        const o = pick([[[online("i-0aaaaaaaaaaaaaaa0")]]], { ...inputs.InputPayload, Filters: [...inputs.InputPayload.Filters, { Key: "PingStatus", Values: ["Online"] }] });
        assert.match(o.error!, /only tag filters may be given .*PingStatus/);
        assert.deepEqual(o.calls, []);
    });
});
