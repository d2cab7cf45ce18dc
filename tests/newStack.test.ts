/**
 * Adding a stack as the README says keeps everything green: in a copy of the project, the
 * README's own minimal `Pulumi.<name>.yaml` (read from README.md, so the test follows the doc)
 * passes the stack-file checks, gets its own VPC range, joins the workflows' stack matrix and
 * plans with no mandatory violation.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { parseStackConfig } from "../config";
import { PROJECT_DIR } from "../tools/offline";
import { exitCodeFor, plan } from "../tools/plan";
import { readStackSettings } from "../tools/stackFiles";
import { listStacks, stackMatrix } from "../tools/stacks";
import { sharedVpcRanges, stackFileProblems, stackNames } from "./support/stackFileChecks";
import { tempDir } from "./support/tmp";

/** The files a stack's program and its checks read: the project minus tests, tools, docs and CI. */
const PROGRAM_FILES = ["Pulumi.yaml", "index.ts", "config.ts", "config", "components", "package.json", "tsconfig.json"];

/** The README's "Adding a stack": the file name it gives as the example and the YAML it shows. */
export function readmeNewStack(readme: string): { stack: string; text: string } {
    const section = readme.slice(readme.indexOf("### Adding a stack"));
    const stack = /for example `Pulumi\.([A-Za-z0-9_.-]+)\.yaml`/.exec(section)?.[1];
    const text = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(stack && text, 'README has an "Adding a stack" section with an example file name and a yaml block');
    return { stack, text };
}

describe("adding a stack as the README says", function () {
    this.timeout(120_000);
    const { stack, text } = readmeNewStack(fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8"));
    const exampleCidr = parse(text).config["platform:network"].vpcCidr;
    // The project's own stacks, except one that already is the README's example (its name, or
    // its range: someone who followed the README): the example stands for it here.
    const shipped = stackNames(PROJECT_DIR).filter((s) => s !== stack && parse(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${s}.yaml`), "utf8")).config?.["platform:network"]?.vpcCidr !== exampleCidr);
    let copy: string;

    before(() => {
        copy = tempDir("new-stack-");
        for (const name of [...PROGRAM_FILES, ...shipped.map((s) => `Pulumi.${s}.yaml`)]) {
            fs.cpSync(path.join(PROJECT_DIR, name), path.join(copy, name), { recursive: true });
        }
        fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(copy, "node_modules"));
        fs.writeFileSync(path.join(copy, `Pulumi.${stack}.yaml`), text);
    });

    it("is the minimal file the README promises: the region, the environment, the network's own range and the CI permissions boundary", () => {
        assert.equal(stack, "staging");
        assert.deepEqual(Object.keys(parse(text).config).sort(), ["aws:region", "platform:environment", "platform:iam", "platform:network"]);
        // The workflows deploy every stack file, and a deploy role creates roles only with its
        // stack's boundary (tests/permissionsBoundary.test.ts): without it the first deploy fails.
        assert.deepEqual(parse(text).config["platform:iam"], { permissionsBoundary: "ci" });
    });

    it("passes the stack-file checks, next to the shipped stacks, each with its own VPC range", () => {
        assert.deepEqual(stackNames(copy), [...shipped, stack].sort());
        assert.ok(shipped.includes("dev") && shipped.includes("prod"));
        for (const s of stackNames(copy)) assert.deepEqual(stackFileProblems(copy, s), [], s);
        assert.deepEqual(sharedVpcRanges(copy), []);
    });

    it("joins the workflows' stack matrix (npm run -s stacks), deployed before the prod stacks", () => {
        const matrix = stackMatrix(listStacks(copy));
        assert.deepEqual(matrix.all, [...shipped, stack].sort());
        assert.ok(matrix.nonprod.includes(stack) && matrix.nonprod.includes("dev") && !matrix.nonprod.includes("prod"), JSON.stringify(matrix));
        assert.ok(matrix.prod.includes("prod") && !matrix.prod.includes(stack), JSON.stringify(matrix));
        assert.deepEqual(stackMatrix(listStacks(PROJECT_DIR)).all, stackNames(PROJECT_DIR), "the project itself: one entry per stack file");
    });

    it(`plans with no mandatory violation (npm run plan -- --stack ${"staging"} in the copy)`, async () => {
        const graph = await plan({ stack, programDir: copy });
        assert.deepEqual(graph.violations.filter((v) => v.level === "mandatory"), []);
        assert.equal(exitCodeFor(graph), 0);
        assert.equal(graph.stack, stack);
        assert.equal(graph.resources.find((r) => r.type === "awsx:ec2:Vpc")?.inputs.cidrBlock, parse(text).config["platform:network"].vpcCidr);
        const roles = graph.resources.filter((r) => r.type === "aws:iam/role:Role");
        assert.ok(roles.length > 0 && roles.every((r) => r.inputs.permissionsBoundary === "arn:aws:iam::123456789012:policy/ci/platform-staging-boundary"), "every role carries the new stack's boundary");
        // The copy is not this project's directory, so its stack file is judged by the run alone; the estimate still reads its cost section.
        const storage = graph.cost?.items.find((i) => i.priceKey === "s3.standard.gbMonth");
        const expected = parseStackConfig(readStackSettings(copy, stack).config, "platform", stack).cost.s3ExpectedGb;
        assert.ok(expected > 0);
        assert.equal(storage?.quantity, expected);
    });
});
