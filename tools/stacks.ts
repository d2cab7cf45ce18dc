/**
 * `npm run -s stacks [-- --github-output]`: the project's stacks, from its `Pulumi.<name>.yaml`
 * files, so that adding a stack is writing its file (README "Adding a stack"): the workflows
 * build their stack matrices from this instead of a list to keep in step.
 *
 * Prints `{ "all": [...], "nonprod": [...], "prod": [...] }` (names sorted; `prod` is every
 * stack whose `platform:environment` is prod, which deploys in its own environment,
 * behind its reviewers, after the others). With `--github-output`, also appends `all=`, `nonprod=` and
 * `prod=` lines to the file named by $GITHUB_OUTPUT, for `fromJSON(needs.<job>.outputs.all)`.
 * Exit codes: 0 ok; 2 a stack file that cannot be read, or bad arguments.
 */
import * as fs from "fs";
import * as path from "path";
import { runCli } from "./cli";
import { readProject, readStackSettings } from "./stackFiles";

/** The directory of this project. */
const PROJECT_DIR = path.resolve(__dirname, "..");

export interface StackEntry {
    name: string;
    /** `platform:environment` (the project's namespace), as the stack file sets it. */
    environment?: string;
}

export interface StackMatrix {
    all: string[];
    nonprod: string[];
    prod: string[];
}

/** Every stack with a stack file in the project (its `stackConfigDir`, if it sets one), sorted by name. */
export function listStacks(projectDir: string = PROJECT_DIR): StackEntry[] {
    const project = readProject(projectDir);
    const dir = path.join(projectDir, project.stackConfigDir ?? "");
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/.exec(f)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort()
        .map((name) => ({ name, environment: readStackSettings(projectDir, name).config[`${project.name}:environment`] }));
}

export function stackMatrix(stacks: StackEntry[]): StackMatrix {
    return {
        all: stacks.map((s) => s.name),
        nonprod: stacks.filter((s) => s.environment !== "prod").map((s) => s.name),
        prod: stacks.filter((s) => s.environment === "prod").map((s) => s.name),
    };
}

export async function main(argv: string[]): Promise<number> {
    const unknown = argv.filter((a) => a !== "--github-output");
    if (unknown.length > 0) {
        process.stderr.write(`unknown argument ${unknown[0]}\nusage: npm run -s stacks [-- --github-output]\n`);
        return 2;
    }
    let matrix: StackMatrix;
    try {
        matrix = stackMatrix(listStacks());
    } catch (err) {
        process.stderr.write(`stacks: ${(err as Error).message}\n`);
        return 2;
    }
    if (argv.includes("--github-output")) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) {
            process.stderr.write("stacks: --github-output needs $GITHUB_OUTPUT (set by GitHub Actions in every step)\n");
            return 2;
        }
        fs.appendFileSync(file, Object.entries(matrix).map(([key, names]) => `${key}=${JSON.stringify(names)}\n`).join(""));
    }
    process.stdout.write(`${JSON.stringify(matrix)}\n`);
    return 0;
}

if (require.main === module) {
    runCli("stacks", main, 2);
}
