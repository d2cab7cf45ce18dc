/**
 * components/ssm/backup.sh's two verifications, run for real (bash, the AWS CLI v2, GNU tar, zstd,
 * s3rver with Amazon S3's Content-MD5 check, tests/helpers/s3Integrity.ts):
 *
 * - `--verify upload` (the default): S3's check of every upload body. The test server flips a byte
 *   of every upload on arrival, as a network fault would, and S3 refuses it (BadDigest); what S3
 *   reports as the archive's size (HeadObject) is made to differ, or HeadObject to fail.
 * - `--verify read-back`: what the script reads back from S3 is made to differ from what it
 *   uploaded, or the read-back to fail. The archive's read-back runs in the background while the
 *   manifest is written and verified; an archive that does not verify must be what the run
 *   reports (exit 5, or 4 when it cannot be read back), before anything about the manifest.
 *
 * The faults come from an `aws` in front of the test server's. Whatever fails, `latest` must stay
 * where it was, and a mismatch must delete what was uploaded.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { S3Server, startS3Server } from "./helpers/s3server";
import { requireTools } from "./support/tools";
import { tempDir } from "./support/tmp";

const BACKUP = path.join(__dirname, "..", "components", "ssm", "backup.sh");
const PREFIX = "backups/verify";
const IID = "i-0fedcba9876543210";

type Fault =
    | "none"
    | "archive-corrupt"
    | "archive-unreadable"
    | "manifest-corrupt"
    | "both-corrupt"
    | "reads-fail"
    | "size-differs"
    | "head-fails"
    | "new-cli-checksum"
    | "new-cli-no-checksum"
    | "new-cli-no-checksum-corrupt"
    | "unknown-cli";
type Verify = "upload" | "read-back";

describe("backup.sh: verification by S3's upload checks (the default) and by reading back", function () {
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
                // Every call the script makes asks for upload checksums, whatever a config file says.
                '[ "${AWS_REQUEST_CHECKSUM_CALCULATION:-}" = when_supported ] || { echo "AWS_REQUEST_CHECKSUM_CALCULATION is not when_supported for: $args" >&2; exit 99; }',
                'case "$BACKUP_TEST_FAULT:$args" in',
                // A CLI from 2.23 on (flexible checksums by default), or one the script does not know.
                `  new-cli-*:"--version") echo "aws-cli/2.27.7 Python/3.13.3 Linux/6.1.134 exe/x86_64.amzn.2023"; exit 0 ;;`,
                `  unknown-cli:"--version") echo "aws-cli/3.0.0 Python/3.13.3 Linux/6.1.134"; exit 0 ;;`,
                // What such a CLI's HeadObject --checksum-mode ENABLED shows: the checksum S3 stored.
                `  new-cli-checksum:"s3api head-object "*) "${next}" "$@" | { IFS=$'\\t' read -r n _ && printf '%s\\t%s\\n' "$n" "AAAAAA==-3"; }; exit ;;`,
                // The archive's read-back: `aws s3 cp --only-show-errors s3://B/K/archive.tar.zst -`.
                `  archive-unreadable:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -") echo "download failed: simulated connection reset" >&2; exit 1 ;;`,
                // Same size, one byte different: only the hash tells.
                `  archive-corrupt:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -" | both-corrupt:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -" | new-cli-no-checksum-corrupt:"s3 cp --only-show-errors s3://"*"/archive.tar.zst -") "${next}" "$@" | { head -c -1; printf X; }; exit ;;`,
                // The manifest's read-back: `aws s3 cp --only-show-errors s3://B/K/manifest.json FILE`.
                `  manifest-corrupt:"s3 cp --only-show-errors s3://"*"/manifest.json "* | both-corrupt:"s3 cp --only-show-errors s3://"*"/manifest.json "*) "${next}" "$@" || exit; printf ' ' >>"\${@: -1}"; exit 0 ;;`,
                // Any read of the snapshot's archive or manifest.
                `  reads-fail:"s3 cp --only-show-errors s3://"*"/archive.tar.zst "* | reads-fail:"s3 cp --only-show-errors s3://"*"/manifest.json "* | reads-fail:"s3api get-object "*) echo "simulated: this run must not read $args" >&2; exit 1 ;;`,
                // The archive's size as S3 reports it: `aws s3api head-object ... --query ContentLength --output text`.
                `  size-differs:"s3api head-object "*) "${next}" "$@" | { read -r n && echo $((n - 1)); }; exit ;;`,
                `  head-fails:"s3api head-object "*) echo "An error occurred (403) when calling the HeadObject operation: Forbidden" >&2; exit 254 ;;`,
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

    /**
     * Backs up a fresh small directory (with `bigFile`, one of 12 MiB of random bytes too: a multipart
     * upload) under BACKUP_TEST_FAULT=fault; returns the run and the keys it left under its prefix.
     */
    async function backup(fault: Fault, verify: Verify, bigFile = false): Promise<{ status: number | null; stdout: string; stderr: string; keys: string[] }> {
        runs += 1;
        const dir = path.join(work, `data-${runs}`);
        fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
        for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, "sub", `f${i}.txt`), `file ${i} of run ${runs}\n`.repeat(50));
        if (bigFile) fs.writeFileSync(path.join(dir, "random.bin"), crypto.randomBytes(12 * 1024 * 1024));
        const prefix = `${PREFIX}/${runs}`;
        const r = spawnSync(
            "bash",
            [BACKUP, "--bucket", s3.bucket, "--prefix", prefix, "--instance-id", IID, "--state-dir", path.join(work, `state-${runs}`), "--lock-file", path.join(work, "lock"), ...(verify === "upload" ? [] : ["--verify", verify]), dir],
            { encoding: "utf8", env: { ...s3.env, PATH: `${faultBin}:${s3.env.PATH}`, BACKUP_TEST_FAULT: fault, LC_ALL: "C" } },
        );
        const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
        const keys = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
        return { status: r.status, stdout: r.stdout, stderr: r.stderr, keys };
    }

    describe("--verify upload (the default)", () => {
        afterEach(() => s3.corruptUploads(false));

        it("reads nothing back: every upload carried a Content-MD5 S3 checked, and the run passes with every read of the snapshot failing", async () => {
            s3.takeUploads();
            const r = await backup("reads-fail", "upload", true);
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /uploaded and verified \d+ bytes \(S3 checked every part's Content-MD5 \(2\.9\.\d+ sends one with each\); the size from HeadObject\)/);
            // <instance>/<slug>/ then the snapshot's two objects and latest
            const names = r.keys.map((k) => k.split("/").slice(2).join("/").replace(/^\d{8}T\d{6}\.\d{3}Z\//, "ID/"));
            assert.deepEqual(names, ["ID/archive.tar.zst", "ID/manifest.json", "latest"]);
            const uploads = s3.takeUploads();
            // The archive went up in parts (12 MiB of random bytes is above the CLI's 8 MiB multipart
            // threshold), the manifest and latest as single PUTs: each with a Content-MD5 that matched.
            assert.ok(uploads.filter((u) => /^UploadPart \S+\/archive\.tar\.zst match$/.test(u)).length >= 2, uploads.join("\n"));
            assert.ok(uploads.some((u) => /^PutObject \S+\/manifest\.json match$/.test(u)), uploads.join("\n"));
            assert.ok(uploads.some((u) => /^PutObject \S+\/latest match$/.test(u)), uploads.join("\n"));
            assert.deepEqual(uploads.filter((u) => !u.endsWith(" match")), [], "every upload carried a Content-MD5 of its body");
        });

        it("an archive corrupted on its way to S3 is refused by S3 (BadDigest): exit 4, nothing committed", async () => {
            s3.corruptUploads(true);
            const r = await backup("none", "upload", true);
            assert.equal(r.status, 4, r.stderr);
            assert.match(r.stderr, /upload to s3:\/\/verify-backups\/.*\/archive\.tar\.zst failed \(aws exit \d+\): .*BadDigest.*; latest unchanged/);
            assert.deepEqual(r.keys, [], "no archive, no manifest, no latest");
            assert.equal(r.stdout, "");
        });

        it("an archive S3 reports at another size: exit 5, archive and manifest deleted, no latest", async () => {
            const r = await backup("size-differs", "upload");
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /verification failed for s3:\/\/verify-backups\/.*\/archive\.tar\.zst: uploaded (\d+) bytes, S3 stores (?!\1)\d+; latest unchanged/);
            assert.deepEqual(r.keys, []);
            assert.equal(r.stdout, "");
        });

        it("an archive whose size cannot be read (HeadObject denied): exit 4, no latest", async () => {
            const r = await backup("head-fails", "upload");
            assert.equal(r.status, 4, r.stderr);
            assert.match(r.stderr, /reading the size of s3:\/\/verify-backups\/.*\/archive\.tar\.zst \(HeadObject\) failed: An error occurred \(403\)/);
            assert.ok(!r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
        });

        it("a CLI from 2.23 on: the checksum S3 stored with the archive is the proof", async () => {
            const r = await backup("new-cli-checksum", "upload");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /uploaded and verified \d+ bytes \(S3 checked every part; it stores the checksum AAAAAA==-3; the size from HeadObject\)/);
            assert.doesNotMatch(r.stderr, /reading the archive and the manifest back/);
        });

        it("a CLI from 2.23 on whose archive S3 reports without a checksum: the run reads back instead, and says so", async () => {
            const r = await backup("new-cli-no-checksum", "upload");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /2\.27\.7 sends a checksum S3 stores, but HeadObject reports none; reading the archive and the manifest back instead/);
            assert.match(r.stderr, /uploaded and verified \d+ bytes \(read back\)/);
            assert.ok(r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
        });

        it("that read-back catches what it catches in --verify read-back: an archive that reads back different is exit 5, nothing left", async () => {
            const r = await backup("new-cli-no-checksum-corrupt", "upload");
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /verification failed for s3:\/\/verify-backups\/.*\/archive\.tar\.zst: uploaded sha256=([0-9a-f]{64}) size=(\d+), read back sha256=(?!\1)[0-9a-f]{64} size=\2; latest unchanged/);
            assert.deepEqual(r.keys, []);
        });

        it("a CLI whose version does not say which checksum it sends: read back", async () => {
            const r = await backup("unknown-cli", "upload");
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stderr, /the AWS CLI's version \(aws-cli\/3\.0\.0\) does not say which checksum its uploads carry; reading the archive and the manifest back instead/);
            assert.match(r.stderr, /\(read back\)/);
        });

        it("rejects another --verify with exit 2 naming the choices", async () => {
            const r = spawnSync("bash", [BACKUP, "--bucket", s3.bucket, "--prefix", PREFIX, "--verify", "none", work], { encoding: "utf8", env: { ...s3.env, LC_ALL: "C" } });
            assert.equal(r.status, 2, r.stderr);
            assert.match(r.stderr, /--verify must be upload or read-back/);
        });
    });

    describe("--verify read-back, with the archive's read-back overlapping the manifest's steps", () => {
        it("an archive that reads back different (same size): exit 5, archive and manifest deleted, no latest", async () => {
            const r = await backup("archive-corrupt", "read-back");
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /verification failed for s3:\/\/verify-backups\/.*\/archive\.tar\.zst: uploaded sha256=([0-9a-f]{64}) size=(\d+), read back sha256=(?!\1)[0-9a-f]{64} size=\2; latest unchanged/);
            assert.deepEqual(r.keys, [], "nothing of the snapshot is left, and latest was never written");
            assert.equal(r.stdout, "");
        });

        it("an archive that cannot be read back: exit 4, no latest", async () => {
            const r = await backup("archive-unreadable", "read-back");
            assert.equal(r.status, 4, r.stderr);
            assert.match(r.stderr, /verification download of s3:\/\/verify-backups\/.*\/archive\.tar\.zst failed: download failed: simulated connection reset/);
            assert.ok(!r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
        });

        // Also shows that the fault wrapper passes what it does not target through: the archive verifies.
        it("a manifest that reads back different, the archive verified: exit 5 naming the manifest, no latest", async () => {
            const r = await backup("manifest-corrupt", "read-back");
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /uploaded and verified \d+ bytes/);
            assert.match(r.stderr, /manifest read back from S3 differs from what was uploaded; latest unchanged/);
            assert.ok(!r.keys.some((k) => k.endsWith("/latest")), r.keys.join("\n"));
        });

        it("archive and manifest both wrong: the archive's failure is the one reported, as when the steps ran one after the other", async () => {
            const r = await backup("both-corrupt", "read-back");
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /verification failed for s3:\/\/.*archive\.tar\.zst/);
            assert.doesNotMatch(r.stderr, /manifest read back/);
            assert.deepEqual(r.keys, []);
        });
    });
});
