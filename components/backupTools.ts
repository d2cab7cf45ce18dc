/**
 * What an instance needs before components/ssm/backup.sh, restore.sh and drill.sh can run: their commands
 * (each script checks its REQUIRED_TOOLS and exits 9 when one is missing) and the configured
 * backup directories (a missing one fails the run with exit 3). The web tier's user data prepares
 * both on the stock image, because a scheduled backup can run before any bake, and the bake
 * prepares them in the image (components/ssm/bake-prepare.sh).
 */

/**
 * Every command the three scripts (backup.sh, restore.sh, drill.sh) run, with the Amazon Linux 2023 package that provides it
 * (AL2023 is Fedora-based: flock is in util-linux-core, cmp in diffutils, the AWS CLI v2 is
 * awscli-2, curl comes as curl-minimal on the AMI). tests/backupScripts.test.ts checks that the
 * keys are exactly the union of the scripts' REQUIRED_TOOLS.
 */
export const BACKUP_TOOL_PACKAGES: Readonly<Record<string, string>> = {
    aws: "awscli-2",
    awk: "gawk",
    bash: "bash",
    chmod: "coreutils",
    cmp: "diffutils",
    cp: "coreutils",
    curl: "curl-minimal",
    date: "coreutils",
    df: "coreutils",
    du: "coreutils",
    find: "findutils",
    flock: "util-linux-core",
    mkdir: "coreutils",
    mkfifo: "coreutils",
    mktemp: "coreutils",
    mv: "coreutils",
    od: "coreutils",
    openssl: "openssl",
    rm: "coreutils",
    sha256sum: "coreutils",
    sleep: "coreutils",
    stat: "coreutils",
    tar: "tar",
    tee: "coreutils",
    wc: "coreutils",
    zstd: "zstd",
};

/** Where every tool lives on AL2023 (/bin is a link to /usr/bin there). */
export const TOOL_DIR = "/usr/bin";

/**
 * The tools as dnf provide-specs (`/usr/bin/zstd`): dnf installs whichever package provides each
 * path and does nothing for a path already provided ("dnf install /usr/bin/rpmsign: install a
 * package that provides the /usr/bin/rpmsign file", DNF Command Reference, Install Examples:
 * https://dnf.readthedocs.io/en/latest/command_ref.html#install-command). By path rather than by
 * package name because AL2023 ships alternatives that conflict with each other (coreutils and
 * coreutils-single, curl and curl-minimal): naming the one not installed would fail the install.
 */
export function backupToolPaths(): string[] {
    return Object.keys(BACKUP_TOOL_PACKAGES)
        .sort()
        .map((tool) => `${TOOL_DIR}/${tool}`);
}

/** Directories are created by shell text: keep them to characters that need no quoting. */
export const SAFE_DIRECTORY = /^\/[A-Za-z0-9._/-]*$/;

export function checkBackupDirectories(what: string, directories: readonly string[]): void {
    const bad = directories.filter((d) => !SAFE_DIRECTORY.test(d) || d.split("/").includes(".."));
    if (bad.length > 0) throw new Error(`${what}: backup directories must be absolute paths of A-Za-z0-9._/- without "..": ${bad.map((d) => JSON.stringify(d)).join(", ")}`);
}
