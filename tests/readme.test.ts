/**
 * The README's commands, as written: the ones whose output a program reads must produce only
 * that output (npm's `> platform@0.1.0 plan` banner on stdout broke `--json`), and the usage
 * it documents is the CLI's own.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../tools/offline";
import { USAGE } from "../tools/plan";
import { runShell } from "./support/processes";

const README = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");

/** Every command line in the README's code blocks that runs an npm script, without its trailing comment. */
export function readmeNpmCommands(markdown: string = README): string[] {
    const blocks = [...markdown.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    return blocks
        .flatMap((b) => b.split("\n"))
        .map((line) => line.replace(/\s{2,}#.*$/, "").trim())
        .filter((line) => /(^|&&\s*)npm run /.test(line));
}

/** The command before its first pipe or stdout redirection: what writes the output a program reads. */
export function producer(commandLine: string): { command: string; consumed: boolean } {
    const m = /\s(\||>(?!\s*\/dev\/null))\s/.exec(commandLine);
    return m ? { command: commandLine.slice(0, m.index).trim(), consumed: true } : { command: commandLine, consumed: false };
}

describe("README commands", function () {
    this.timeout(120_000);
    const commands = readmeNpmCommands();

    it("are found (the extraction is not vacuous)", () => {
        assert.ok(commands.includes("npm run plan -- --stack dev"), commands.join("\n"));
        assert.ok(commands.some((c) => c.includes("--json")), commands.join("\n"));
        assert.deepEqual(producer("npm run -s plan -- --stack dev --json | jq ."), { command: "npm run -s plan -- --stack dev --json", consumed: true });
        assert.deepEqual(producer("npm run plan -- --stack dev --out base.json > /dev/null"), { command: "npm run plan -- --stack dev --out base.json > /dev/null", consumed: false });
    });

    it("run npm with -s wherever a program reads the output (piped, redirected, or --json)", () => {
        for (const line of commands) {
            const { command, consumed } = producer(line);
            if (consumed || command.includes("--json")) assert.match(command, /npm run (-s|--silent) /, `README: ${line}`);
        }
    });

    it("document the plan's usage exactly as the CLI prints it", () => {
        assert.ok(README.includes(`\n${USAGE.replace(/^usage: /, "")}\n`), `README lacks the usage line:\n${USAGE}`);
    });

    it("print JSON that parses, as written: stdout is one JSON object, stderr empty, exit 0", async () => {
        const producers = [...new Set(commands.filter((c) => c.includes("--json")).map((c) => producer(c).command))];
        assert.ok(producers.length > 0);
        for (const command of producers) {
            const result = await runShell(command);
            assert.equal(result.code, 0, `${command}\n${result.stderr}`);
            assert.equal(result.stderr, "", command);
            const graph = JSON.parse(result.stdout);
            assert.equal(graph.project, "platform", command);
            assert.ok(Array.isArray(graph.resources) && graph.resources.length > 0, command);
        }
    });

    it("without -s, npm's banner would come first: the reason for the rule above", async () => {
        const result = await runShell("npm run plan -- --help");
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^\n?> platform@\d+\.\d+\.\d+ plan\n/);
    });
});
