/**
 * Pulumi.yaml, the stack files and config.ts must agree: every key a stack file sets is
 * known, with the declared type; the project file follows Pulumi's project schema.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { SIMPLE_KEYS } from "../config";
import { PROJECT_DIR } from "../tools/offline";
import { readStackSettings } from "../tools/stackFiles";
import { sharedVpcRanges, stackFileProblems } from "./support/stackFileChecks";
import { serialRun, tempStackFile } from "./support/stacks";
import { tempDir } from "./support/tmp";

const project = parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));
const stackFiles = fs.readdirSync(PROJECT_DIR).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
const SIMPLE_TYPES = ["string", "integer", "boolean", "array"];

function typeOf(value: unknown): string {
    if (Array.isArray(value)) return "array";
    if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
    return typeof value;
}

describe("Pulumi.yaml", () => {
    it("follows Pulumi's project schema: name, nodejs runtime with TypeScript options, typed config", () => {
        assert.match(project.name, /^[A-Za-z0-9_.-]+$/);
        assert.equal(project.name, "platform");
        assert.deepEqual(Object.keys(project.runtime).sort(), ["name", "options"]);
        assert.equal(project.runtime.name, "nodejs");
        assert.equal(project.runtime.options.typescript, true);
        const allowedTop = ["name", "description", "author", "website", "license", "runtime", "main", "config", "stackConfigDir", "backend", "options", "template", "plugins"];
        for (const key of Object.keys(project)) assert.ok(allowedTop.includes(key), `unexpected top-level key ${key}`);
        for (const [key, decl] of Object.entries<Record<string, any>>(project.config)) {
            assert.deepEqual(Object.keys(decl).filter((k) => !["type", "items", "description", "secret", "default"].includes(k)), [], `${key}: only type/items/description/secret/default are allowed`);
            assert.ok(SIMPLE_TYPES.includes(decl.type), `${key}: type must be one of ${SIMPLE_TYPES}`);
            if (decl.type === "array") assert.ok(decl.items && SIMPLE_TYPES.includes(decl.items.type), `${key}: arrays need items.type`);
            if ("default" in decl) assert.equal(typeOf(decl.default), decl.type, `${key}: default must have the declared type`);
            assert.ok(typeof decl.description === "string" && decl.description.length > 10, `${key}: needs a description`);
        }
    });

    it("declares exactly config.ts's simple keys, with the same types and defaults", () => {
        assert.deepEqual(Object.keys(project.config).sort(), Object.keys(SIMPLE_KEYS).sort());
        for (const [key, spec] of Object.entries(SIMPLE_KEYS)) {
            const decl = project.config[key];
            assert.equal(decl.type, spec.type, key);
            assert.deepEqual(decl.default, spec.default, `${key}: default`);
            if ("items" in spec) assert.deepEqual(decl.items, spec.items, `${key}: items`);
        }
    });
});

describe("stack files", () => {
    it("ship dev and prod", () => {
        assert.ok(stackFiles.includes("Pulumi.dev.yaml") && stackFiles.includes("Pulumi.prod.yaml"));
    });

    for (const file of stackFiles) {
        const stack = file.split(".")[1];
        it(`${file}: every key is known, has the declared type, what is required is there, and it validates`, () => {
            assert.deepEqual(stackFileProblems(PROJECT_DIR, stack), []);
        });
    }

    for (const stack of ["dev", "prod"]) {
        it(`the shipped Pulumi.${stack}.yaml states the settings that differ between environments`, () => {
            // Documentation for the reader of the shipped files; a stack of one's own may leave them to the defaults.
            const config = parse(fs.readFileSync(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, any>;
            for (const key of ["vpcCidr", "azCount", "natGateways"]) assert.ok(key in config["platform:network"], `network.${key} is stated`);
            for (const key of ["instanceType", "minSize", "maxSize", "desiredCapacity"]) assert.ok(key in config["platform:webTier"], `webTier.${key} is stated`);
            for (const key of ["instanceClass", "multiAz"]) assert.ok(key in config["platform:database"], `database.${key} is stated`);
        });
    }

    it("gives every stack its own VPC range", () => {
        assert.deepEqual(sharedVpcRanges(PROJECT_DIR), []);
    });

    it("the stack-file checks catch what the engine or config.ts refuses (so the checks above are not vacuous)", () => {
        const dir = tempDir("stack-checks-");
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config:\n  aws:regoin: us-east-1\n  platform:owner: 42\n  platform:netwrk: {}\n  platform:webTier: small\n");
        fs.writeFileSync(path.join(dir, "Pulumi.twin.yaml"), "config:\n  aws:region: us-east-1\n  platform:environment: dev\n");
        fs.writeFileSync(path.join(dir, "Pulumi.other.yaml"), "config:\n  aws:region: us-east-1\n  platform:environment: staging\n");
        const problems = stackFileProblems(dir, "bad");
        for (const expected of [
            "aws:regoin: not an aws provider key this project uses",
            "platform:owner: declared in Pulumi.yaml as string, not integer",
            "platform:netwrk: not a known key",
            "platform:webTier: sections are objects, not string",
            "aws:region: required",
            "platform:environment: required (declared in Pulumi.yaml without a default)",
        ]) {
            assert.ok(problems.some((p) => p.startsWith(expected)), `expected "${expected}" in:\n${problems.join("\n")}`);
        }
        assert.deepEqual(stackFileProblems(dir, "twin"), []);
        fs.rmSync(path.join(dir, "Pulumi.bad.yaml"));
        assert.deepEqual(sharedVpcRanges(dir), ["other and twin: 10.0.0.0/16"], "two stacks left to the default range collide");
    });

    it("a new stack works by writing only its config file", async () => {
        const file = tempStackFile(null, {
            "aws:region": "ap-northeast-1",
            "platform:environment": "staging",
            "platform:network": { vpcCidr: "10.30.0.0/16", azCount: 2, natGateways: "single" },
        });
        const { graph } = await serialRun({ stack: "staging", configFile: file });
        const vpc = graph.resources.find((r) => r.type === "awsx:ec2:Vpc")!;
        assert.equal(vpc.inputs.cidrBlock, "10.30.0.0/16");
        assert.equal(graph.stack, "staging");
        const endpoint = graph.resources.find((r) => r.name === "network-s3")!;
        assert.equal(endpoint.inputs.serviceName, "com.amazonaws.ap-northeast-1.s3");
    });

    it("applies Pulumi.yaml as the engine does: defaults, required keys and declared types", () => {
        const missing = tempStackFile(null, { "aws:region": "us-east-1" });
        const settings = readStackSettings(PROJECT_DIR, "x", missing);
        assert.deepEqual(settings.problems.map((p) => p.key), ["platform:environment"]);
        assert.match(settings.problems[0].message, /Stack 'x' is missing configuration value 'environment'/);
        assert.equal(settings.config["platform:owner"], "platform-team");
        assert.equal(settings.config["platform:alarmEmails"], "[]");
        const wrong = tempStackFile("dev", { "platform:owner": 42, "platform:alarmEmails": "ops@example.com" });
        const problems = readStackSettings(PROJECT_DIR, "dev", wrong).problems.map((p) => `${p.key}: ${p.message}`);
        assert.deepEqual(problems, ["platform:owner: Stack 'dev' with configuration key 'owner' must be of type 'string'", "platform:alarmEmails: Stack 'dev' with configuration key 'alarmEmails' must be of type 'array'"]);
    });

    it("treats secure: values as secret placeholders instead of failing", () => {
        const file = tempStackFile("dev", { "platform:owner": { secure: "v1:abc" } });
        const settings = readStackSettings(PROJECT_DIR, "dev", file);
        assert.equal(settings.config["platform:owner"], "<secret>");
        assert.deepEqual(settings.secretKeys, ["platform:owner"]);
    });
});
