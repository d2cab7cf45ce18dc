/** The `npm run plan` contract: flags, the JSON shape, exit codes and the human output. */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Graph } from "../tools/graph";
import { parseStackConfig } from "../config";
import { ProgramError } from "../tools/offline";
import { checkProjectStackFile, parseArgs, UsageError } from "../tools/plan";
import { readStackSettings } from "../tools/stackFiles";
import { runPlan } from "./support/cli";
import { serialRun, stackFileText, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";


describe("npm run plan", () => {
    const graphs: Record<string, Graph> = {};

    for (const stack of ["dev", "prod"]) {
        it(`--stack ${stack} --json prints the contract's JSON and exits 0`, async () => {
            const { code, stdout, stderr } = await runPlan(["--stack", stack, "--json"]);
            assert.equal(code, 0, stderr + stdout.slice(0, 2000));
            const graph = JSON.parse(stdout) as Graph;
            graphs[stack] = graph;
            assert.equal(graph.project, "platform");
            assert.equal(graph.stack, stack);
            assert.ok(Array.isArray(graph.violations));
            assert.ok(graph.resources.length > 20);
            const urns = new Set(graph.resources.map((r) => r.urn));
            for (const r of graph.resources) {
                for (const key of ["urn", "type", "name", "parent", "dependencies", "protect", "inputs"]) assert.ok(key in r, `${r.urn} lacks ${key}`);
                if (r.type !== "pulumi:pulumi:Stack") assert.ok(r.parent && urns.has(r.parent), `${r.urn}: parent ${r.parent} is a real resource`);
                for (const d of r.dependencies) assert.ok(urns.has(d), `${r.urn}: dependency ${d} is a real resource`);
            }
            assert.deepEqual(graph.violations.filter((v) => v.level === "mandatory"), []);
        });
    }

    it("records real dependencies: resources in the VPC depend on it", () => {
        for (const graph of Object.values(graphs)) {
            const vpc = graph.resources.find((r) => r.type === "awsx:ec2:Vpc")!;
            const endpoint = graph.resources.find((r) => r.name === "network-s3")!;
            const sg = graph.resources.find((r) => r.name === "network-app")!;
            assert.ok(endpoint.dependencies.includes(vpc.urn));
            assert.deepEqual(sg.propertyDependencies.vpcId, [vpc.urn]);
        }
    });

    it("prints a tree under the components, counts by type, the awsx note and the policy result", async () => {
        const { code, stdout } = await runPlan(["--stack", "dev"]);
        assert.equal(code, 0);
        assert.match(stdout, /^Offline plan: project platform, stack dev/);
        assert.match(stdout, /\npulumi:pulumi:Stack  platform-dev\n/);
        assert.match(stdout, /\n[├└]─ platform:network:Network  network\n[│ ]  ├─ /);
        assert.match(stdout, /Resources by type:\n/);
        assert.match(stdout, /\s+\d+\s+total\n/);
        assert.match(stdout, /awsx:ec2:Vpc "network" is a remote component/);
        assert.match(stdout, /Policies: /);
    });

    it("--preview plans with provider-computed values unknown, as pulumi preview does, and still passes the policies", async () => {
        for (const stack of ["dev", "prod"]) {
            const { code, stdout, stderr } = await runPlan(["--stack", stack, "--json", "--preview"]);
            assert.equal(code, 0, stderr);
            const graph = JSON.parse(stdout) as Graph;
            const endpoint = graph.resources.find((r) => r.name === "network-s3")!;
            assert.equal(endpoint.inputs.vpcId, "<computed>", "the VPC id is unknown before the VPC exists");
            assert.ok(graph.resources.every((r) => r.id === null || r.custom), "no ids are invented for components");
            assert.deepEqual(graph.violations.filter((v) => v.level === "mandatory"), []);
        }
        assert.deepEqual(parseArgs(["--stack", "dev", "--preview"]), { stack: "dev", json: false, preview: true });
    });

    it("--out writes the JSON to a file", async () => {
        const out = path.join(tempDir("plan-"), "nested", "dev.json");
        const { code } = await runPlan(["--stack", "dev", "--out", out]);
        assert.equal(code, 0);
        assert.equal(JSON.parse(fs.readFileSync(out, "utf8")).stack, "dev");
    });

    it("exits 2 naming all three mistakes of a bad config", async () => {
        const file = tempStackFile("dev", {
            "platform:network": { vpcCidr: "10.0.0.0/33", azCount: 9, natGateways: "single" },
            "platform:webTier": { minSize: 3, maxSize: 1, desiredCapacity: 1 },
        });
        const { code, stderr, stdout } = await runPlan(["--stack", "dev", "--config", file]);
        assert.equal(code, 2);
        assert.equal(stdout, "");
        assert.match(stderr, /Invalid configuration for stack "dev"/);
        assert.match(stderr, /platform:network\.vpcCidr = "10\.0\.0\.0\/33": /);
        assert.match(stderr, /platform:network\.azCount = 9: must be at most 6/);
        assert.match(stderr, /platform:webTier\.minSize = 3: must not exceed maxSize \(1\)/);
        assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
    });

    it("exits 2 for a missing stack file, unknown flags and a missing --stack", async () => {
        const missing = await runPlan(["--stack", "nosuch"]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /no stack file .*Pulumi\.nosuch\.yaml/);
        const unknown = await runPlan(["--stack", "dev", "--jsn"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown argument --jsn/);
        assert.throws(() => parseArgs([]), (e: Error) => e instanceof UsageError && /--stack is required/.test(e.message));
        assert.throws(() => parseArgs(["--stack"]), /--stack needs a value/);
        assert.deepEqual(parseArgs(["--stack=dev", "--json"]), { stack: "dev", json: true });
    });

    it("--program runs another program: the non-compliant fixture exits 1 naming each offence", async () => {
        const { code, stdout } = await runPlan(["--program", "tests/fixtures/noncompliant", "--stack", "dev"]);
        assert.equal(code, 1);
        for (const offence of [
            /s3-no-public-acl \(mandatory\)[\s\S]*public-bucket-acl/,
            /s3-no-public-bucket-policy \(mandatory\)[\s\S]*public-bucket-policy/,
            /iam-role-based-access-only \(mandatory\)[\s\S]*deployer-key/,
            /iam-no-broad-managed-policies \(mandatory\)[\s\S]*AmazonS3FullAccess/,
            /s3-bucket-public-access-block \(mandatory\)/,
        ]) {
            assert.match(stdout, offence);
        }
    });
});

describe("npm run plan: the project's stack file is judged before the program runs", () => {
    /** Bad stack files of every kind: the program's own checks, the engine's (a declared type, a required key), both, and files that cannot be read. */
    const cases: Array<[string, () => { stack: string; configFile?: string }]> = [
        ["an unknown key and a value out of range", () => ({ stack: "dev", configFile: tempStackFile("dev", { "platform:netwrk": { azCount: 2 }, "platform:webTier": { minSize: 3, maxSize: 1 } }) })],
        ["a key of a declared type given another (the engine's check)", () => ({ stack: "dev", configFile: tempStackFile("dev", { "platform:alarmEmails": "ops@example.com" }) })],
        ["a missing platform:environment (the engine's and the program's words, merged)", () => ({ stack: "dev", configFile: stackFileText("config:\n  aws:region: us-east-1\n  platform:webTier:\n    maxSize: two\n") })],
        ["prod's checks across sections", () => ({ stack: "prod", configFile: tempStackFile("prod", { "platform:webTier": { mode: "single" } }) })],
        ["YAML that does not parse", () => ({ stack: "dev", configFile: stackFileText("config:\n  platform:environment: [dev\n") })],
        ["no stack file", () => ({ stack: "nosuch" })],
    ];
    for (const [name, make] of cases) {
        it(`${name}: the same message and kind as the engine's run`, async () => {
            const options = make();
            const early = await checkProjectStackFile(options).then(() => assert.fail("checked as valid"), (err: unknown) => err);
            const late = await serialRun(options).then(() => assert.fail("the run passed"), (err: unknown) => err);
            assert.ok(early instanceof ProgramError && late instanceof ProgramError, `${early} / ${late}`);
            assert.equal(early.kind, "config");
            assert.equal(early.kind, late.kind);
            assert.equal(early.message, late.message);
        });
    }

    it("the legacy `ns:config:key` form is read as the program reads it (`ns:key`: the SDK's setAllConfig cleans it), by the check and by the engine's declared types", async () => {
        const configFile = stackFileText("config:\n  aws:config:region: eu-west-1\n  platform:config:environment: dev\n  platform:config:alarmEmails: ops@example.com\n");
        const early = await checkProjectStackFile({ stack: "dev", configFile }).then(() => assert.fail("checked as valid"), (err: unknown) => err as Error);
        assert.match(early.message, /^Invalid configuration for stack "dev" \(1 problem\):\n {2}- platform:alarmEmails = "ops@example.com": must be a list$/);
        const late = await serialRun({ stack: "dev", configFile }).then(() => assert.fail("the run passed"), (err: unknown) => err as Error);
        assert.equal(late.message, early.message);
        fs.writeFileSync(configFile, "config:\n  aws:config:region: eu-west-1\n  platform:config:environment: dev\n");
        const config = await checkProjectStackFile({ stack: "dev", configFile });
        assert.deepEqual([config?.region, config?.environment], ["eu-west-1", "dev"]);
        const { graph } = await serialRun({ stack: "dev", configFile });
        assert.equal(graph.stack, "dev");
    });

    it("a valid stack file passes, with the config the program gets; another program (--program) is left to its own checks", async () => {
        const settings = readStackSettings(path.resolve(__dirname, ".."), "prod");
        assert.deepEqual(await checkProjectStackFile({ stack: "prod" }), parseStackConfig(settings.config, "platform", "prod"));
        assert.equal(await checkProjectStackFile({ stack: "nosuch", programDir: "tests/fixtures/noncompliant" }), undefined);
    });
});
