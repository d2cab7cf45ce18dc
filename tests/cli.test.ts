/**
 * The command-line contract as a user's shell sees it: the real `npm run plan` and `npm run ops`
 * processes, their exit codes and exactly what they print. Each failure is one message on
 * stderr, never Node's dump of an internal object or a stack trace: an unhandled rejection after
 * `main()` returned used to turn a config error (exit 2) into Node's default exit 1.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../tools/offline";
import { assertCleanFailure, cleanEnv, ProcessResult, runProcess, runScript, runShell, scriptCommand } from "./support/processes";
import { stackFileText } from "./support/stacks";
import { tempDir } from "./support/tmp";

const plan = (args: string[]) => runScript("plan", args);
const ops = (args: string[], env?: NodeJS.ProcessEnv) => runScript("ops", args, { env: env && cleanEnv(env) });


/**
 * Each case's process starts when its suite does (two at a time), so the cases' start-up
 * times overlap; each test then awaits its own process.
 */
function processes<K extends string>(runs: Record<K, () => Promise<ProcessResult>>): Record<K, Promise<ProcessResult>> {
    const started = {} as Record<K, Promise<ProcessResult>>;
    before(() => {
        for (const [name, run] of Object.entries(runs) as Array<[K, () => Promise<ProcessResult>]>) {
            started[name] = run();
            started[name].catch(() => undefined); // awaited (and reported) by its test
        }
    });
    return new Proxy(started, { get: (target, name) => target[name as K] ?? Promise.reject(new Error(`no process ${String(name)}`)) });
}

const USAGE_LINE = "usage: npm run plan -- --stack <name> [--config FILE] [--program DIR] [--json] [--out FILE] [--policy-config FILE] [--diff BASE.json] [--preview]";

describe("npm run plan, as a process", function () {
    // Every case is a process start (Node, the SDKs and the program's modules).
    this.timeout(180_000);
    const files: Record<string, string> = {};
    const fixture = path.join("tests", "fixtures", "failing");
    const run = processes({
        unknownKey: () => plan(["--stack", "dev", "--config", (files.unknownKey = stackFileText("config:\n  aws:region: us-east-1\n  platform:environment: dev\n  platform:netwrk:\n    azCount: 2\n"))]),
        badValue: () => plan(["--stack", "dev", "--config", stackFileText("config:\n  aws:region: us-east-1\n  platform:environment: dev\n  platform:network:\n    azCount: 9\n")]),
        missingEnvironment: () =>
            plan([
                "--stack",
                "dev",
                "--config",
                stackFileText(
                    [
                        "config:",
                        "  aws:region: us-east-1",
                        "  platform:buckets:",
                        "    encryption: kmss", // wrong: and the check that kmsKeyArn needs "kms" must not fire on a made-up value
                        "    kmsKeyArn: arn:aws:kms:us-east-1:123456789012:key/abc",
                        "  platform:webTier:",
                        '    maxSize: "two"', // wrong type: the checks against maxSize must stay silent...
                        "    minSize: 5",
                        "    instanceType: m5.large", // ...while the architecture check, which does not read it, still runs
                        "",
                    ].join("\n"),
                ),
            ]),
        prodTypeError: () =>
            plan([
                "--stack",
                "prod",
                "--config",
                stackFileText(
                    [
                        "config:",
                        "  aws:region: us-east-1",
                        "  platform:environment: prod",
                        "  platform:webTier:",
                        "    mode: single", // wrong in prod (a check across sections)...
                        "    minSize: three", // ...a type error...
                        "    maxSize: 2",
                        "    desiredCapacity: 5", // ...and above maxSize, whatever minSize was meant to be
                        "  platform:dns:",
                        "    enabled: true", // wrong with single mode (another check across sections)
                        "    parentDomain: example.org",
                        "",
                    ].join("\n"),
                ),
            ]),
        badYaml: () => plan(["--stack", "dev", "--config", (files.badYaml = stackFileText("config:\n  aws:region: us-east-1\n  platform:environment: [dev\n"))]),
        noStackFile: () => plan(["--stack", "nosuch"]),
        typeError: () => plan(["--program", fixture, "--stack", "type-error"]),
        runError: () => plan(["--program", fixture, "--stack", "run-error"]),
        lateThrow: () => plan(["--program", fixture, "--stack", "late-throw", "--out", (files.lateThrowOut = path.join(tempDir("cli-late-"), "plan.json"))]),
        unknownFlag: () => plan(["--stack", "dev", "--jsn"]),
        flagWithoutValue: () => plan(["--stack"]),
        policyConfig: () => {
            files.policyConfig = path.join(tempDir("cli-policy-"), "policy.json");
            fs.writeFileSync(files.policyConfig, JSON.stringify({ "ec2-imdsv2-requird": "mandatory", all: "advisry" }));
            return plan(["--stack", "dev", "--policy-config", files.policyConfig]);
        },
        violations: () => plan(["--program", "tests/fixtures/noncompliant", "--stack", "dev"]),
        help: () => runShell("npm run -s plan -- --help"),
        earlyReader: () => {
            const [node, argv] = scriptCommand("plan", ["--stack", "dev", "--json"]);
            return runProcess("bash", ["-c", `set -o pipefail; ${[node, ...argv].join(" ")} | head -c 1; echo " rc=\${PIPESTATUS[0]}"`]);
        },
    });

    describe("exit 2: a bad stack file is one message naming every bad key", () => {
        it("an unknown key, with a did-you-mean", async () => {
            const lines = assertCleanFailure(await run.unknownKey, 2).split("\n");
            assert.equal(lines[0], 'Invalid configuration for stack "dev" (1 problem):');
            assert.match(lines[1], /^ {2}- platform:netwrk = \{"azCount":2\}: unknown key \(did you mean "network"\?\); known keys: environment, owner, alarmEmails, network, /);
            assert.equal(lines.length, 3, "the message and its final newline only");
        });

        it("a value out of range", async () => {
            assert.equal(assertCleanFailure(await run.badValue, 2), 'Invalid configuration for stack "dev" (1 problem):\n  - platform:network.azCount = 9: must be at most 6\n');
        });

        it("a missing platform:environment no longer hides the other mistakes, and a wrong type no longer hides its section's checks", async () => {
            const lines = assertCleanFailure(await run.missingEnvironment, 2).trimEnd().split("\n");
            assert.deepEqual(lines.slice(0, 4), [
                'Invalid configuration for stack "dev" (4 problems):',
                "  - platform:environment: is required; one of dev, staging, prod",
                '  - platform:buckets.encryption = "kmss": must be one of "s3", "kms"',
                '  - platform:webTier.maxSize = "two": must be a number',
            ]);
            assert.match(lines[4], /^ {2}- platform:webTier\.instanceType = "m5\.large": family "m5" is not a known arm64 family \(m5 is an x86_64 family: set architecture: x86_64\); allowed: t4g, /);
            assert.equal(lines.length, 5);
        });

        it("a type error in a prod stack file hides none of the checks that do not read it, in its section or across sections", async () => {
            // Issue 15 item 2: every bad key in one message. webTier.minSize failed its schema, so
            // the checks that read it (minSize <= maxSize, desiredCapacity >= minSize) are skipped,
            // never run against a placeholder; every other check still reports.
            assert.equal(
                assertCleanFailure(await run.prodTypeError, 2),
                [
                    'Invalid configuration for stack "prod" (4 problems):',
                    '  - platform:webTier.minSize = "three": must be a number',
                    "  - platform:webTier.desiredCapacity = 5: must not exceed maxSize (2)",
                    '  - platform:webTier.mode = "single": must be "asg" in prod: single mode has no load balancer, so no HTTPS termination, no redundancy and no health-checked replacement',
                    '  - platform:dns.enabled = true: needs webTier.mode "asg": the certificate, alias records and health check point at the load balancer, which single mode does not have',
                    "",
                ].join("\n"),
            );
        });

        it("a file that is not valid YAML names the file and the line", async () => {
            const stderr = assertCleanFailure(await run.badYaml, 2);
            assert.match(stderr, new RegExp(`^${escape(files.badYaml)} is not valid YAML: .+ at line \\d+, column \\d+\\n$`));
        });

        it("a stack without a stack file says how to add one", async () => {
            assert.equal(assertCleanFailure(await run.noStackFile, 2), `no stack file ${path.join(PROJECT_DIR, "Pulumi.nosuch.yaml")}: create it (see README "Adding a stack") or pass --config FILE\n`);
        });

        it("is judged before the program runs: the process loads none of the AWS SDK that the program's components import", async () => {
            // A module required before the plan's own, that reports at exit how many @pulumi/aws modules were loaded.
            const probe = path.join(tempDir("cli-probe-"), "probe.js");
            fs.writeFileSync(probe, "process.on('exit', () => require('fs').writeSync(2, '@pulumi/aws modules: ' + Object.keys(require.cache).filter((f) => f.includes('/node_modules/@pulumi/aws/')).length + '\\n'));\n");
            const [node, argv] = scriptCommand("plan", []);
            const bad = await runProcess(node, ["-r", probe, ...argv, "--stack", "dev", "--config", files.unknownKey]);
            assert.equal(bad.code, 2);
            assert.match(bad.stderr, /^Invalid configuration for stack "dev" \(1 problem\):\n {2}- platform:netwrk = [^\n]+\n@pulumi\/aws modules: 0\n$/);
            // Not vacuous: where a program runs (another one, which judges its own config), the probe sees the SDK.
            const program = await runProcess(node, ["-r", probe, ...argv, "--program", "tests/fixtures/noncompliant", "--stack", "dev"]);
            assert.equal(program.code, 1, program.stderr);
            assert.match(program.stderr, /@pulumi\/aws modules: [1-9]\d*\n$/);
        });
    });

    describe("exit 2: a program that fails is one line naming the error, never a stack trace", () => {
        it("a TypeError in index.ts, with the line it was thrown from", async () => {
            const line = fs.readFileSync(path.join(PROJECT_DIR, fixture, "index.ts"), "utf8").split("\n").findIndex((l) => l.includes("FAILS HERE")) + 1;
            const stderr = assertCleanFailure(await run.typeError, 2);
            assert.match(stderr, new RegExp(`^the program failed: TypeError: Cannot read properties of undefined \\(reading 'name'\\) \\(index\\.ts:${line}:\\d+\\)\\n$`));
        });

        it("a RunError: the program's own message, as the engine prints it", async () => {
            assert.equal(assertCleanFailure(await run.runError, 2), "the program failed: set failing:bucket first (pulumi config set failing:bucket NAME)\n");
        });

        it("an exception thrown from a timer after the run: nothing on stdout and no --out file, exit 2", async () => {
            // Thrown 1.5 s after the program's code ran: usually after the plan was made (the CLI's
            // last-resort handler), on a slow machine during the run (the engine's). Either way the
            // plan is held until the process settles, so exit 2 never comes with a plan on stdout.
            assert.match(assertCleanFailure(await run.lateThrow, 2), /^(plan failed: Error: boom after the run|the program failed: Error: boom after the run \(index\.ts:\d+:\d+\))\n$/);
            assert.equal(fs.existsSync(files.lateThrowOut), false, "no plan file for a failed run");
        });
    });

    describe("exit 2: bad arguments and a bad policy config fail at once, before the program runs", () => {
        it("an unknown flag, with a did-you-mean and the usage", async () => {
            assert.equal(assertCleanFailure(await run.unknownFlag, 2), `unknown argument --jsn (did you mean "--json"?)\n${USAGE_LINE}\n`);
        });

        it("a flag without its value", async () => {
            assert.equal(assertCleanFailure(await run.flagWithoutValue, 2), `--stack needs a value\n${USAGE_LINE}\n`);
        });

        it("a policy config with an unknown rule and an unknown level: both named, with a did-you-mean", async () => {
            const lines = assertCleanFailure(await run.policyConfig, 2).trimEnd().split("\n");
            assert.equal(lines[0], `Invalid policy config ${files.policyConfig} (2 problems):`);
            assert.match(lines[1], /^ {2}- "ec2-imdsv2-requird": unknown policy \(did you mean "ec2-imdsv2-required"\?\); the pack's policies: .*ec2-imdsv2-required/);
            assert.equal(lines[2], '  - "all": unknown enforcement level "advisry" (did you mean "advisory"?); allowed: advisory, mandatory, remediate, disabled');
            assert.equal(lines.length, 3);
        });
    });

    describe("exit 1 and 0", () => {
        it("exit 1: mandatory violations, printed on stdout, nothing on stderr", async () => {
            const result = await run.violations;
            assert.equal(result.code, 1, result.stderr);
            assert.equal(result.stderr, "");
            assert.match(result.stdout, /s3-no-public-acl \(mandatory\)/);
        });

        it("exit 0: npm run -s plan -- --help prints the usage and the exit codes on stdout", async () => {
            const result = await run.help;
            assert.equal(result.code, 0, result.stderr);
            assert.equal(result.stderr, "");
            assert.ok(result.stdout.startsWith(`${USAGE_LINE}\n`), result.stdout);
            assert.match(result.stdout, /exit codes: 0 no mandatory policy violation; 1 mandatory violation\(s\); 2 bad arguments/);
        });

        it("a reader that stops early (| head) is not an error: no EPIPE message, the plan's own exit code", async () => {
            const result = await run.earlyReader;
            assert.equal(result.stdout, "{ rc=0\n");
            assert.equal(result.stderr, "", "no 'write EPIPE' message");
        });
    });
});

describe("npm run ops, as a process", function () {
    this.timeout(120_000);
    const outputsFile = (content: unknown) => {
        const file = path.join(tempDir("cli-outputs-"), "outputs.json");
        fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
        return file;
    };
    const files: Record<string, string> = {};
    // Nothing listens on port 9: an SDK request fails at once, after the clients were made.
    const offline = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_ENDPOINT_URL: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1", AWS_EC2_METADATA_DISABLED: "true" };
    const helpForms = [["--help"], ["-h"], ["help"], ["backup-now", "--help"], ["restore", "-h"], ["drill", "--help"]];
    const drillOutputs = { environment: "dev", region: "us-east-1", logsBucketName: "logs-dev", drillDocumentName: "dev-drill", webInstanceId: "i-0123456789abcdef0" };
    const run = processes({
        // The first through npm as a user types it, the others as the same process without npm (faster to start).
        ...Object.fromEntries(helpForms.map((args, i) => [args.join(" "), () => (i === 0 ? runShell(`npm run -s ops -- ${args.join(" ")}`) : ops(args))])),
        empty: () => ops(["status", "--stack", "dev", "--outputs", (files.empty = outputsFile({}))]),
        otherEnvironment: () => ops(["backups", "--stack", "dev", "--outputs", (files.otherEnvironment = outputsFile({ environment: "prod", region: "us-east-1", backupBucketName: "backups-prod" }))]),
        plan: () => ops(["bake", "--stack", "dev", "--outputs", (files.plan = outputsFile({ project: "platform", stack: "dev", resources: [], outputs: { environment: "dev" }, violations: [] }))]),
        notJson: () => ops(["status", "--stack", "dev", "--outputs", (files.notJson = outputsFile("environment: dev\n"))]),
        quiet: () => ops(["backups", "--stack", "dev", "--outputs", (files.quiet = outputsFile({ environment: "dev", region: "us-east-1", backupBucketName: "backups-dev" }))], offline),
        loud: () => ops(["backups", "--stack", "dev", "--outputs", outputsFile({ environment: "dev", region: "us-east-1", backupBucketName: "backups-dev" })], { ...offline, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false" }),
        drillBadMode: () => ops(["drill", "--stack", "dev", "--mode", "sometimes", "--outputs", outputsFile(drillOutputs)]),
        drillNotEnabled: () => ops(["drill", "--stack", "dev", "--outputs", (files.drillNotEnabled = outputsFile({ environment: "dev", region: "us-east-1", logsBucketName: "logs-dev" }))]),
        drillOffline: () => ops(["drill", "--stack", "dev", "--outputs", outputsFile(drillOutputs)], offline),
    } as Record<string, () => Promise<ProcessResult>>);

    for (const args of helpForms) {
        it(`ops ${args.join(" ")}: the usage on stdout, exit 0`, async () => {
            const result = await run[args.join(" ")];
            assert.equal(result.code, 0, result.stderr);
            assert.equal(result.stderr, "");
            assert.match(result.stdout, /^usage: npm run ops -- <command> --stack <name>/);
            assert.match(result.stdout, /\nexit codes: 0 ok, 1 operation failed, 2 bad arguments\/config, 3 timeout, 130 interrupted\n$/);
        });
    }

    describe("an --outputs file that is not this stack's outputs is exit 2 naming what is wrong, never a silent \"not enabled\"", () => {
        it("{}", async () => {
            assert.equal(
                assertCleanFailure(await run.empty, 2),
                `ops: --outputs ${files.empty} is not the outputs of a stack of this program: environment and region are missing (every stack exports environment and region; keys present: none); use pulumi stack output --json --stack dev\n`,
            );
        });

        it("another environment's outputs", async () => {
            assert.equal(assertCleanFailure(await run.otherEnvironment, 2), `ops: --outputs ${files.otherEnvironment} belongs to a "prod" stack, but Pulumi.dev.yaml says environment "dev": wrong file for --stack dev?\n`);
        });

        it("a plan's JSON", async () => {
            assert.equal(
                assertCleanFailure(await run.plan, 2),
                `ops: --outputs ${files.plan} is a plan of stack "dev" (npm run plan --json / --out), not stack outputs: use pulumi stack output --json --stack dev > outputs.json\n`,
            );
        });

        it("not JSON", async () => {
            assert.match(assertCleanFailure(await run.notJson, 2), new RegExp(`^ops: --outputs ${escape(files.notJson)} is not JSON: [^\\n]+\\n$`));
        });
    });

    describe("ops drill", () => {
        it("is in the usage", async () => {
            assert.match((await run["drill --help"]).stdout, /\n  drill       \[--instance-id ID\] \[--mode auto\|extract\|stream\]/);
        });

        it("a bad --mode is exit 2 before anything is read", async () => {
            assert.equal(assertCleanFailure(await run.drillBadMode, 2), 'ops: --mode must be auto, extract, stream, not "sometimes"\n');
        });

        it("a stack without the drill is exit 2 naming the output and the config key", async () => {
            assert.equal(
                assertCleanFailure(await run.drillNotEnabled, 2),
                'ops: stack output "drillDocumentName" is missing (is the restore drill enabled for this stack (config backup.drill.enabled)?); outputs present: environment, logsBucketName, region\n',
            );
        });

        it("SSM unreachable is exit 1 with the SDK's reason, after saying nothing was started", async () => {
            const r = await run.drillOffline;
            assert.equal(r.code, 1, r.stderr);
            assert.equal(r.stdout, "", "no command was sent");
            assert.match(r.stderr, /^ops: .*ECONNREFUSED/);
        });
    });

    it("loads none of the Pulumi SDKs (its usage and argument errors answer in a fraction of a second, as a pre-commit hook wants)", async () => {
        const probe = "require('./tools/ops'); process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('/node_modules/@pulumi/')).length))";
        const r = await runProcess(process.execPath, ["-r", "./tools/register.js", "-e", probe]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "0", "modules of @pulumi/* loaded by tools/ops.ts");
    });

    it("the AWS SDK's Node-version warning does not come before the command's own first line", async () => {
        const quiet = await run.quiet;
        assert.equal(quiet.code, 1, quiet.stderr);
        assert.match(quiet.stderr, /^ops: .*ECONNREFUSED/);
        assert.doesNotMatch(quiet.stderr, /NodeVersionSupportWarning|NodeDeprecationWarning|AWS SDK for JavaScript/);
        // Not vacuous, and exactly that warning: ops turns it off with the SDK's own switch, so
        // with the switch set otherwise the SDK prints it again (a global silence would not).
        const loud = await run.loud;
        if (Number(process.versions.node.split(".")[0]) < 22) assert.match(loud.stderr, /NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\)/);
        assert.match(loud.stderr, /ops: .*ECONNREFUSED/);
    });
});

function escape(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
