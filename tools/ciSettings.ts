/**
 * `npm run -s ci-settings -- --stack <name> [--github-output]`: what a workflow job needs to
 * know about one stack, read from the project's files rather than repeated in YAML.
 *
 * Prints `{ "stack", "project", "region", "environment", "secretsProvider" }`:
 * - `region`: the stack file's `aws:region` (the region OIDC credentials are issued for);
 * - `secretsProvider`: with a self-managed S3 backend ($PULUMI_BACKEND_URL starts with
 *   `s3://`), the stack's own KMS key that bootstrap/ creates in the stack's region
 *   (`awskms://alias/<project>-<stack>-secrets?region=<region>`); with Pulumi Cloud, `default`
 *   (the service's per-stack key). Used when `upsert` creates a missing stack.
 * With `--github-output`, also appends `region=`, `project=`, `environment=` and
 * `secrets-provider=` to $GITHUB_OUTPUT. Exit codes: 0 ok; 2 bad arguments or stack file.
 */
import * as fs from "fs";
import * as path from "path";
import { awsKmsSecretsProvider } from "../bootstrap/naming";
import { runCli } from "./cli";
import { readStackSettings } from "./stackFiles";

const PROJECT_DIR = path.resolve(__dirname, "..");

export interface CiSettings {
    stack: string;
    project: string;
    region: string;
    environment: string;
    secretsProvider: string;
}

export function ciSettings(stack: string, backendUrl: string | undefined, projectDir: string = PROJECT_DIR): CiSettings {
    const settings = readStackSettings(projectDir, stack);
    const project = settings.project.name;
    const region = settings.config["aws:region"];
    if (!region) throw new Error(`${settings.stackFile} sets no aws:region`);
    const environment = settings.config[`${project}:environment`] ?? "";
    const selfManaged = (backendUrl ?? "").startsWith("s3://");
    return { stack, project, region, environment, secretsProvider: selfManaged ? awsKmsSecretsProvider(project, stack, region) : "default" };
}

const USAGE = "usage: npm run -s ci-settings -- --stack <name> [--github-output]";

export async function main(argv: string[]): Promise<number> {
    let stack: string | undefined;
    let githubOutput = false;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--stack" && argv[i + 1] !== undefined) stack = argv[++i];
        else if (argv[i] === "--github-output") githubOutput = true;
        else {
            process.stderr.write(`unknown argument ${argv[i]}\n${USAGE}\n`);
            return 2;
        }
    }
    if (!stack || !/^[A-Za-z0-9_.-]+$/.test(stack)) {
        process.stderr.write(`--stack <name> is required (letters, digits, '-', '_', '.')\n${USAGE}\n`);
        return 2;
    }
    let result: CiSettings;
    try {
        result = ciSettings(stack, process.env.PULUMI_BACKEND_URL);
    } catch (err) {
        process.stderr.write(`ci-settings: ${(err as Error).message}\n`);
        return 2;
    }
    if (githubOutput) {
        const file = process.env.GITHUB_OUTPUT;
        if (!file) {
            process.stderr.write("ci-settings: --github-output needs $GITHUB_OUTPUT (set by GitHub Actions in every step)\n");
            return 2;
        }
        fs.appendFileSync(file, `region=${result.region}\nproject=${result.project}\nenvironment=${result.environment}\nsecrets-provider=${result.secretsProvider}\n`);
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
}

if (require.main === module) {
    runCli("ci-settings", main, 2);
}
