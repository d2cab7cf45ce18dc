/**
 * components/ssm/backup.sh's verification, run for real (bash, the AWS CLI v2, GNU tar, zstd,
 * s3rver): what the script reads back from S3 is made to differ from what it uploaded, or the
 * read-back to fail, by an `aws` in front of the test server's. The archive's read-back runs in
 * the background while the manifest is written and verified; whatever overlaps, `latest` must
 * stay where it was, a mismatch must delete what was uploaded, and an archive that does not
 * verify must be what the run reports (exit 5, or 4 when it cannot be read back), before
 * anything about the manifest.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { S3Server, startS3Server } from "./helpers/s3server";
import { requireTools } from "./support/tools";
import { tempDir } from "./support/tmp";

const BACKUP = path.join(__dirname, "..", "components", "ssm", "backup.sh");
const PREFIX = "backups/verify";
const IID = "i-0fedcba9876543210";

type Fault = "none" | "archive-corrupt" | "archive-unreadable" | "manifest-corrupt" | "both-corrupt";

describe("backup.sh: the read-back verification, with the archive's read-back overlapping the manifest's steps", function () {
    this.timeout(180_000);
    let s3: S3Server;
    let client: S3Client;
    let work: string;
    let faultBin: string;
    let runs = 0;

    before(async function () {
        requireTools(this, ["awsCliV2", "zstd", "tar", "flock", "cmp", "curl"]);
        work = tempDir("backup-verify-");
        s3 = await startS3Server({ bucket: "verify-backups" });
        client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
        // In front of the server's wrapper: BACKUP_TEST_FAULT decides what a read-back returns.
        faultBin = path.join(work, "fault-bin");
        fs.mkdirSync(faultBin);
        const next = path.join(s3.binDir, "aws");
        fs.writeFileSync(
            path.join(faultBin, "aws"),
            [
                "#!/bin/bash",
                "set -o pipefail",
                'args="$*"',
                'case "$BACKUP_TEST_FAULT:$args" in',
                // The archive's read-back: `aws s3 cp --only-show-errors s3://B/K/archive.tar.zst -`.
                `  archive-unreadable:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -") echo "download failed: simulated connection reset" >&2; exit 1 ;;`,
                // Same size, one byte different: only the hash tells.
                `  archive-corrupt:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -" | both-corrupt:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -") "${next}" "$@" | { head -c -1; printf X; }; exit ;;`,
                // The manifest's read-back: `aws s3 cp --only-show-errors s3://B/K/manifest.json FILE`.
                `  manifest-corrupt:"s3 cp --only-show-errors s3://"*"/manifest.json "* | both-corrupt:"s3 cp --only-show-errors s3://"*"/manifest.json "*) "${next}" "$@" || exit; printf ' ' >>"\${@: -1}"; exit 0 ;;`,
                "esac",
                `exec "${next}" "$@"`,
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
    });

    after(async () => {
        client?.destroy();
        if (s3) await s3.stop();
    });

    /** Backs up a fresh small directory under BACKUP_TEST_FAULT=fault; returns the run and the keys it left under its prefix. */
    async function backup(fault: Fault): Promise<{ status: number | null; stdout: string; stderr: string; keys: string[] }> {
        runs += 1;
        const dir = path.join(work, `data-${runs}`);
        fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
        for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, "sub", `f${i}.txt`), `file ${i} of run ${runs}\n`.repeat(50));
        const prefix = `${PREFIX}/${runs}`;
        const r = spawnSync(
            "bash",
            [BACKUP, "--bucket", s3.bucket, "--prefix", prefix, "--instance-id", IID, "--state-dir", path.join(work, `state-${runs}`), "--lock-file", path.join(work, "lock"), dir],
            { encoding: "utf8", env: { ...s3.env, PATH: `${faultBin}:${s3.env.PATH}`, BACKUP_TEST_FAULT: fault, LC_ALL: "C" } },
        );
        const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
        const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, keys };
    }

    it("an archive that reads back different (same size): exit 5, archive and manifest deleted, no latest", async () => {
        const r = await backup("archive-corrupt");
        assert.equal(r.status, 5, r.stderr);
        assert.match(r.stderr, /verification failed for s3:\/\/verify-backups\/.*\/archive\.tar\.zst: uploaded sha256=([0-9a-f]{64}) size=(\d+), read back sha256=(?!\1)[0-9a-f]{64} size=\2; latest unchanged/);
        assert.deepEqual(r.keys, [], "nothing of the snapshot is left, and latest was never written");
        assert.equal(r.stdout, "");
    });

    it("an archive that cannot be read back: exit 4, no latest", async () => {
        const r = await backup("archive-unreadable");
        assert.equal(r.status, 4, r.stderr);
        assert.match(r.stderr, /verification download of s3:\/\/verify-backups\/.*\/archive\.tar\.zst failed: download failed: simulated connection reset/);
        assert.ok(!r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
    });

    // Also shows that the fault wrapper passes what it does not target through: the archive verifies.
    it("a manifest that reads back different, the archive verified: exit 5 naming the manifest, no latest", async () => {
        const r = await backup("manifest-corrupt");
        assert.equal(r.status, 5, r.stderr);
        assert.match(r.stderr, /uploaded and verified \d+ bytes/);
        assert.match(r.stderr, /manifest read back from S3 differs from what was uploaded; latest unchanged/);
        assert.ok(!r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
    });

    it("archive and manifest both wrong: the archive's failure is the one reported, as when the steps ran one after the other", async () => {
        const r = await backup("both-corrupt");
        assert.equal(r.status, 5, r.stderr);
        assert.match(r.stderr, /verification failed for s3:\/\/.*archive\.tar\.zst/);
        assert.doesNotMatch(r.stderr, /manifest read back/);
        assert.deepEqual(r.keys, []);
    });
});
