/**
 * The programs under examples/ reuse the components the way another Pulumi project would: with
 * literal Args, importing only the library's front door. Each is planned offline exactly as the
 * README shows (`npm run plan -- --program examples/<name> --stack example`).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import type { Graph } from "../tools/graph";
import { PROJECT_DIR } from "../tools/offline";
import { runPlan } from "./support/cli";

const EXAMPLES_DIR = path.join(PROJECT_DIR, "examples");
const examples = fs.readdirSync(EXAMPLES_DIR).filter((d) => fs.existsSync(path.join(EXAMPLES_DIR, d, "Pulumi.yaml")));

describe("examples/", function () {
    this.timeout(120_000);

    it("has at least one example program", () => {
        assert.ok(examples.includes("small-environment"), examples.join(", "));
    });

    for (const example of examples) {
        describe(example, () => {
            const dir = path.join(EXAMPLES_DIR, example);
            let graph: Graph;
            let code: number;
            let stderr: string;
            before(async () => {
                const run = await runPlan(["--program", dir, "--stack", "example", "--json"]);
                code = run.code;
                stderr = run.stderr;
                graph = run.code === 0 || run.code === 1 ? (JSON.parse(run.stdout) as Graph) : (undefined as unknown as Graph);
            });

            it("plans offline with exit 0: no mandatory policy violation", () => {
                assert.equal(code, 0, stderr);
                assert.deepEqual(graph.violations.filter((v) => v.level === "mandatory"), []);
            });

            it("builds an environment from at least four of the library's components", () => {
                const kinds = new Set(graph.resources.filter((r) => r.type.startsWith("platform:")).map((r) => r.type));
                assert.ok(kinds.size >= 4, [...kinds].join(", "));
            });

            it("imports the components through components/index.ts only, nothing of config/ or tools/ (literal Args)", () => {
                for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
                    const imports = ts.preProcessFile(fs.readFileSync(path.join(dir, file), "utf8"), true, true).importedFiles.map((f) => f.fileName);
                    const local = imports.filter((i) => i.startsWith("."));
                    assert.deepEqual(local.map((i) => path.relative(PROJECT_DIR, path.resolve(dir, i))), local.map(() => "components"), `${file}: ${local.join(", ")}`);
                }
                const stackFile = fs.readFileSync(path.join(dir, "Pulumi.example.yaml"), "utf8");
                assert.doesNotMatch(stackFile, /^\s+platform:/m, "no platform stack config");
            });
        });
    }
});
