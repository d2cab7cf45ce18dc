/**
 * The one gate for tests that need something outside npm: a Debian tool, a Python package, or
 * root. What is missing makes the suite (or test) *pending* with the exact command that
 * installs it, so a fresh clone's `npm test` passes and says what it skipped; with `CI=true`
 * it is a *failure*, so CI (which installs everything, see .ci/run) never skips silently.
 *
 *   before(function () { requireTools(this, ["shellcheck", "zstd"]); });
 */
import * as fs from "fs";
import * as path from "path";
import { spawnSync } from "child_process";

type Env = NodeJS.ProcessEnv;

/** How to get a requirement: a Debian package, a pip requirement, or what to do (root). */
export type Install = { apt: string } | { pip: string } | { hint: string };

export interface Requirement {
    /** What the message calls it. */
    label: string;
    install: Install;
    /** Whether it is there, looked up in `env` (PATH) rather than this process's environment. */
    present(env: Env): boolean;
}

/** An executable found on PATH (as `command -v` finds it). */
function onPath(command: string, env: Env): string | undefined {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const file = path.join(dir, command);
        try {
            fs.accessSync(file, fs.constants.X_OK);
            if (fs.statSync(file).isFile()) return file;
        } catch {
            // not here
        }
    }
    return undefined;
}

/** An executable at a fixed path (a daemon in /usr/sbin or a versioned directory, often not on PATH). */
function aptFile(file: string, pkg: string): Requirement {
    return {
        label: file,
        install: { apt: pkg },
        present: () => {
            try {
                fs.accessSync(file, fs.constants.X_OK);
                return fs.statSync(file).isFile();
            } catch {
                return false;
            }
        },
    };
}

const probes = new Map<string, boolean>();

/**
 * The answer of a check that starts a program (the AWS CLI, Python importing moto: about a
 * second of CPU each), asked once per test process for each program, not by every suite.
 */
function probed(key: string, probe: () => boolean): boolean {
    if (!probes.has(key)) probes.set(key, probe());
    return probes.get(key)!;
}

/** A command from a Debian package, on PATH. */
function aptCommand(command: string, pkg: string = command): Requirement {
    return { label: command, install: { apt: pkg }, present: (env) => onPath(command, env) !== undefined };
}

/**
 * Everything the tests may need besides npm packages. Keep the apt packages in step with
 * .ci/run and the README's install line (tests/testSupport.test.ts checks both).
 */
export const REQUIREMENTS = {
    // The AWS CLI v2 of Debian's awscli package: an older v1 often comes first on PATH (pyenv),
    // so the tests call this one by its path.
    awsCliV2: {
        label: "aws (v2 at /usr/bin/aws)",
        install: { apt: "awscli" },
        present: () =>
            probed("/usr/bin/aws --version", () => {
                const r = spawnSync("/usr/bin/aws", ["--version"], { encoding: "utf8" });
                return r.status === 0 && /^aws-cli\/2\./.test(`${r.stdout}${r.stderr}`);
            }),
    },
    shellcheck: aptCommand("shellcheck"),
    zstd: aptCommand("zstd"),
    setfacl: aptCommand("setfacl", "acl"),
    getfacl: aptCommand("getfacl", "acl"),
    setfattr: aptCommand("setfattr", "attr"),
    getfattr: aptCommand("getfattr", "attr"),
    flock: aptCommand("flock", "util-linux"),
    unshare: aptCommand("unshare", "util-linux"),
    tar: aptCommand("tar"),
    // The backup's listing parser (lib.sh listing_table): POSIX awk, mawk on Debian as gawk on AL2023.
    awk: aptCommand("awk", "mawk"),
    // The syntax tree the backup tests read the scripts' commands from (shfmt --to-json).
    shfmt: aptCommand("shfmt"),
    curl: aptCommand("curl"),
    cmp: aptCommand("cmp", "diffutils"),
    // The default app under real nginx; its unit checked by systemd-analyze.
    nginx: aptFile("/usr/sbin/nginx", "nginx"),
    systemdAnalyze: aptCommand("systemd-analyze", "systemd"),
    // db-bootstrap against real servers: PostgreSQL 15 (Debian bookworm's), MariaDB, TLS from openssl.
    initdb: aptFile("/usr/lib/postgresql/15/bin/initdb", "postgresql"),
    postgres: aptFile("/usr/lib/postgresql/15/bin/postgres", "postgresql"),
    psql: aptCommand("psql", "postgresql"),
    mariadbd: aptFile("/usr/sbin/mariadbd", "mariadb-server"),
    mariadbInstallDb: aptCommand("mariadb-install-db", "mariadb-server"),
    mariadb: aptCommand("mariadb", "mariadb-client"),
    openssl: aptCommand("openssl"),
    // moto's server (IAM, S3, SSM, EC2 API behaviour on loopback), in the python3 on PATH.
    moto: {
        label: "moto 5.2.1 with its server (python3 -m moto.server)",
        install: { pip: '"moto[server]==5.2.1"' },
        present: (env: Env) => {
            const python = onPath("python3", env);
            if (!python) return false;
            return probed(`${python} moto`, () => {
                const r = spawnSync(python, ["-c", "import moto, flask, sys; sys.exit(0 if moto.__version__ == '5.2.1' else 1)"], { env, encoding: "utf8" });
                return r.status === 0;
            });
        },
    },
    root: {
        label: "root (chown, setuid and ACL round trips)",
        install: { hint: "run the tests as root, e.g. sudo npm test" },
        present: () => process.getuid?.() === 0,
    },
} satisfies Record<string, Requirement>;

export type RequirementName = keyof typeof REQUIREMENTS;

/** The requirements that are not there, in the order given. */
export function missingRequirements(names: RequirementName[], env: Env = process.env): Requirement[] {
    return names.map((n) => REQUIREMENTS[n] as Requirement).filter((r) => !r.present(env));
}

/** One command line that installs everything in `missing` (apt first, then pip, then what to do). */
export function installCommand(missing: Requirement[]): string {
    const apt = [...new Set(missing.flatMap((r) => ("apt" in r.install ? [r.install.apt] : [])))];
    const pip = [...new Set(missing.flatMap((r) => ("pip" in r.install ? [r.install.pip] : [])))];
    const hints = [...new Set(missing.flatMap((r) => ("hint" in r.install ? [r.install.hint] : [])))];
    const steps = [
        ...(apt.length ? [`sudo apt-get update && sudo apt-get install -y ${apt.join(" ")}`] : []),
        ...(pip.length ? [`pip install ${pip.join(" ")}`] : []),
    ];
    return [steps.join(" && "), ...hints].filter(Boolean).join("; and ");
}

/** The message for what is missing, or undefined when everything is there. */
export function missingMessage(names: RequirementName[], env: Env = process.env): string | undefined {
    const missing = missingRequirements(names, env);
    if (missing.length === 0) return undefined;
    return `needs ${missing.map((r) => r.label).join(", ")}. Install with: ${installCommand(missing)}`;
}

const warned = new Set<string>();

/**
 * Makes the calling suite (from a `before` hook) or test pending when a requirement is missing,
 * printing the install command once; with `CI=true`, fails it instead.
 */
export function requireTools(context: Mocha.Context, names: RequirementName[], env: Env = process.env): void {
    const message = missingMessage(names, env);
    if (!message) return;
    const title = context.test?.parent?.fullTitle() || "tests";
    const full = `${title} ${message}`;
    if (env.CI === "true") throw new Error(`${full} (CI=true: a missing tool is a failure, not a skip)`);
    if (!warned.has(full)) {
        warned.add(full);
        console.warn(`PENDING: ${full}`);
    }
    context.skip();
}
