/**
 * The component-library refactor (issue 17) changes no deployed resource: each graph the
 * current code plans equals the graph planned from the code before the refactor (saved in
 * tests/fixtures/graphs/ by tests/support/graphBaseline.ts from a checkout of `main`) in URNs,
 * types, parents, dependencies, resource options and inputs, and in stack outputs, policy
 * results and warnings. A changed URN is a delete + create for Pulumi (a rename without an
 * alias), so an URN difference fails here as a resource "removed" and one "added".
 */
import * as assert from "assert";
import { runPolicies } from "../tools/policyCheck";
import { AllowedDifference, comparable, compareGraphs, readComparable, VARIANTS, variantStackFile } from "./support/graphBaseline";
import { PROJECT_DIR } from "../tools/offline";
import { serialRun, stackRun } from "./support/stacks";
import { tempDir } from "./support/tmp";

/**
 * Differences the refactor makes on purpose, each state-compatible (no replacement, no rename).
 * Empty: the refactor moves code, not resources.
 */
const ALLOWED: AllowedDifference[] = [];

describe("graph baseline: the refactored components plan the same resources as main", function () {
    this.timeout(120_000);

    for (const variant of VARIANTS) {
        it(`${variant.name}: same URNs, types, parents, dependencies, options, inputs and outputs`, async () => {
            const configFile = variantStackFile(variant, PROJECT_DIR, tempDir("graph-variant-"));
            const { graph } = configFile ? await serialRun({ stack: variant.stack, configFile }) : await stackRun(variant.stack);
            const violations = await runPolicies(graph);
            const base = readComparable(variant.name);
            const differences = compareGraphs(base, comparable(variant.name, { ...graph, violations }), ALLOWED);
            assert.deepEqual(differences.slice(0, 40), [], `${differences.length} difference(s) from the graph of ${base.baseCommit}`);
            assert.ok(Object.keys(base.resources).length > 100, "the baseline holds the whole stack");
        });
    }

    describe("the comparison itself", () => {
        const base = () => readComparable("dev");
        const anyUrn = (g: ReturnType<typeof base>, type: string) => Object.keys(g.resources).find((u) => g.resources[u].type === type)!;

        it("reports a renamed resource as removed and added (Pulumi replaces it without an alias)", () => {
            const changed = base();
            const urn = anyUrn(changed, "aws:s3/bucketV2:BucketV2") ?? Object.keys(changed.resources)[0];
            changed.resources[urn + "-renamed"] = changed.resources[urn];
            delete changed.resources[urn];
            const diff = compareGraphs(base(), changed);
            assert.deepEqual(diff, [`resource ${urn}: removed`, `resource ${urn}-renamed: added`]);
        });

        it("reports a changed input, parent, dependency and output, and honours an allowed difference", () => {
            const changed = base();
            const urn = Object.keys(changed.resources).find((u) => changed.resources[u].custom && Object.keys(changed.resources[u].inputs).length > 0)!;
            const r = changed.resources[urn];
            const key = Object.keys(r.inputs)[0];
            r.inputs[key] = "changed";
            r.parent = "urn:pulumi:dev::platform::pulumi:pulumi:Stack::other";
            r.dependencies = [...r.dependencies, "urn:extra"];
            changed.outputs = { ...changed.outputs, stack: "other" };
            const diff = compareGraphs(base(), changed);
            assert.ok(diff.some((d) => d.startsWith(`resource ${urn}.inputs.${key}:`)), diff.join("\n"));
            assert.ok(diff.some((d) => d.startsWith(`resource ${urn}.parent:`)));
            assert.ok(diff.some((d) => d.startsWith(`resource ${urn}.dependencies.`)));
            assert.ok(diff.some((d) => d.startsWith("outputs.stack:")));
            const allowed = compareGraphs(base(), changed, [{ path: "outputs.stack", why: "test" }]);
            assert.equal(allowed.length, diff.length - 1);
        });
    });
});
