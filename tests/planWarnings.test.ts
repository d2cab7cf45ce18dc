/**
 * What `pulumi preview` shows as warnings, the offline plan shows too: the program's
 * `pulumi.log.warn` messages are recorded in the graph (`warnings` in the JSON) and printed in
 * the human output. An alert topic nobody is subscribed to is such a warning.
 */
import { strict as assert } from "assert";
import { runPlan } from "./support/cli";
import { tempStackFile } from "./support/stacks";

describe("Plan warnings", function () {
    this.timeout(240000);

    it("no alarmEmails: the plan warns that nobody receives the alerts (JSON and human output), and still exits 0", async () => {
        const json = await runPlan(["--stack", "dev", "--json"]);
        assert.strictEqual(json.code, 0, json.stderr);
        const graph = JSON.parse(json.stdout);
        const warning = (graph.warnings as Array<{ message: string; urn: string | null }>).find((w) => /alarmEmails is empty/.test(w.message));
        assert.ok(warning, JSON.stringify(graph.warnings));
        assert.match(warning.message, /nobody is subscribed/);
        assert.match(String(warning.urn), /platform:monitoring:Monitoring::monitoring$/);
        const human = await runPlan(["--stack", "dev"]);
        assert.strictEqual(human.code, 0, human.stderr);
        assert.match(human.stdout, /\nWarnings: \d+\n {2}- Monitoring "monitoring": alarmEmails is empty/);
    });

    it("with alarmEmails set, no such warning", async () => {
        const file = tempStackFile("dev", { "platform:alarmEmails": ["ops@example.com"] });
        const r = await runPlan(["--stack", "dev", "--config", file, "--json"]);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.ok(!(JSON.parse(r.stdout).warnings as Array<{ message: string }>).some((w) => /alarmEmails/.test(w.message)));
    });
});
