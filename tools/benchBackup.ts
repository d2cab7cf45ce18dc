/**
 * Benchmark for components/ssm/backup.sh + restore.sh against a local s3rver.
 *
 *   npm run bench:backup [-- --size-mb 1024 --files 20000 --level 3 --keep --peer-script OLD/backup.sh]
 *
 * Builds a data set in a temp dir (one large file of incompressible-ish data plus many
 * small files), then prints:
 *   - backup wall time vs a bare `tar | zstd | aws s3 cp -` of the same tree to the same server
 *     (the floor for any uploader here, measured before and after the backup; target <= 1.5x),
 *     and which verification ran: S3's checks of every upload (the default, --verify upload: the
 *     test server checks Content-MD5 as S3 does, tests/helpers/s3Integrity.ts) or the read-back
 *   - the read-back fallback (--verify read-back) on the same tree, against the same floor
 *   - backup wall time vs the same `tar | zstd` pipeline writing to /dev/null (local limit)
 *   - backup wall time vs `aws s3 sync` of the same tree to the same server (naive peer)
 *   - restore wall time
 *   - bytes uploaded by an incremental run after 1% of the files changed, vs the full
 * with the targets beside them. It prints, never asserts. Needs root-free tools only,
 * but the same ones as the tests (aws v2 at /usr/bin/aws, zstd, GNU tar).
 *
 * Note: s3rver is a single-threaded Node process writing to local disk and computing
 * MD5s; on a 2-core machine it competes with tar/zstd/aws for CPU, so absolute upload
 * figures are a lower bound of what S3 itself would allow.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startS3Server } from '../tests/helpers/s3server';

const ROOT = path.resolve(__dirname, '..');
const BACKUP = path.join(ROOT, 'components/ssm/backup.sh');
const RESTORE = path.join(ROOT, 'components/ssm/restore.sh');

function flag(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return Number(process.argv[i + 1]);
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? Number(eq.split('=')[1]) : def;
}

const sizeMb = flag('size-mb', 1024);
const files = flag('files', 20000);
const level = flag('level', 3);
const keep = process.argv.includes('--keep');
// Another backup.sh (e.g. the previous version, beside its lib.sh) run on the same tree in the same run.
const peerScript = (() => {
  const i = process.argv.indexOf('--peer-script');
  return i >= 0 ? path.resolve(process.argv[i + 1]) : undefined;
})();

function timed(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): { secs: number; stdout: string; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr}`);
  }
  return { secs, stdout: r.stdout, stderr: r.stderr };
}

function makeDataset(dir: string) {
  // one large file: per 1 MiB chunk, 7/8 random bytes and 1/8 repeated text
  const big = fs.openSync(path.join(dir, 'large.bin'), 'w');
  const text = Buffer.alloc(128 * 1024, 'platform backup benchmark line\n');
  for (let i = 0; i < sizeMb; i++) {
    fs.writeSync(big, crypto.randomBytes(896 * 1024));
    fs.writeSync(big, text);
  }
  fs.closeSync(big);
  // many small files, 100 per directory, 1-4 KiB of semi-compressible text
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, 'small', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) fs.mkdirSync(d, { recursive: true });
    const n = 1024 + (i * 7919) % 3072;
    fs.writeFileSync(path.join(d, `f${i}.txt`), crypto.randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n));
  }
}

function du(p: string): number {
  return Number(spawnSync('du', ['-sb', p], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

const fmt = (s: number) => `${s.toFixed(2)} s`;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const verdict = (ok: boolean) => (ok ? 'OK' : 'MISSED');

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
  const src = path.join(work, 'data');
  fs.mkdirSync(src);
  console.log(`building data set: ${sizeMb} MiB large file + ${files} small files in ${src} ...`);
  makeDataset(src);
  console.log(`data set apparent size: ${mb(du(src))}`);
  const s3 = await startS3Server({ bucket: 'bench-backups', directCli: true });
  const env = { ...s3.env, LANG: 'C', LC_ALL: 'C' };
  const common = ['--bucket', s3.bucket, '--prefix', 'bench', '--instance-id', 'i-bench'];
  const state = path.join(work, 'state');
  try {
    // warm the page cache so the first contender is not penalised
    spawnSync('bash', ['-c', `tar -cf - -C ${JSON.stringify(src)} . > /dev/null`]);

    const local = timed(
      'tar|zstd > /dev/null',
      'bash',
      [
        '-c',
        'set -o pipefail; tar --create --file=- --directory="$1" --format=posix --listed-incremental="$2" ' +
          '--no-check-device --numeric-owner --acls --xattrs --xattrs-include="*" --sparse . ' +
          `| zstd -q -T0 -${level} -c > /dev/null`,
        'bench',
        src,
        path.join(work, 'bench.snar'),
      ],
      env,
    );

    // The floor for any uploader on this machine: the same stream into the same server, with
    // no verification, manifest or pointer. Shows how much of the gap to the local limit is
    // the server's and the CLI's, and how much the script's own safety steps cost.
    let bareUpload: { secs: number } | undefined;
    try {
      bareUpload = timed(
        'tar|zstd|aws s3 cp - (bare upload)',
        'bash',
        [
          '-c',
          'set -o pipefail; tar --create --file=- --directory="$1" --format=posix --numeric-owner --acls --xattrs --xattrs-include="*" --sparse . ' +
            `| zstd -q -T0 -${level} -c | aws s3 cp --only-show-errors --expected-size "$3" - "s3://$2/bare/archive.tar.zst"`,
          'bench',
          src,
          s3.bucket,
          String(Math.ceil(du(src) * 1.125) + 64 * 1024 * 1024),
        ],
        env,
      );
    } catch (err) {
      console.log(`(bare upload reference not measured: ${(err as Error).message.split('\n').slice(0, 2).join(' ')})`);
    }

    // The floor again, after the backup: the machine's speed drifts (it is shared), the mean of
    // the two brackets the backup.
    let bareAfter: { secs: number } | undefined;
    const bareArgs = (key: string) => [
      '-c',
      'set -o pipefail; tar --create --file=- --directory="$1" --format=posix --numeric-owner --acls --xattrs --xattrs-include="*" --sparse . ' +
        `| zstd -q -T0 -${level} -c | aws s3 cp --only-show-errors --expected-size "$3" - "s3://$2/${key}"`,
      'bench',
      src,
      s3.bucket,
      String(Math.ceil(du(src) * 1.125) + 64 * 1024 * 1024),
    ];

    const backupArgs = [...common, '--level', String(level), '--state-dir', state, '--lock-file', path.join(work, 'lock'), src];
    s3.takeUploads();
    const full = timed('backup.sh (full)', 'bash', [BACKUP, ...backupArgs], env);
    const uploads = s3.takeUploads();
    const readBack = timed(
      'backup.sh --verify read-back (full)',
      'bash',
      [BACKUP, '--bucket', s3.bucket, '--prefix', 'bench-read-back', '--instance-id', 'i-bench', '--level', String(level), '--state-dir', path.join(work, 'read-back-state'), '--lock-file', path.join(work, 'lock'), '--verify', 'read-back', src],
      env,
    );
    const peer = peerScript
      ? timed('peer backup.sh (full)', 'bash', [peerScript, '--bucket', s3.bucket, '--prefix', 'bench-peer', '--instance-id', 'i-bench', '--level', String(level), '--state-dir', path.join(work, 'peer-state'), '--lock-file', path.join(work, 'lock'), src], env)
      : undefined;
    if (bareUpload) bareAfter = timed('tar|zstd|aws s3 cp - (bare upload, after)', 'bash', bareArgs('bare/after.tar.zst'), env);
    const cliVersion = (spawnSync('/usr/bin/aws', ['--version'], { encoding: 'utf8' }).stdout ?? '').split(' ')[0];
    const checked = uploads.filter((u) => u.endsWith(' match')).length;
    const how = /uploaded and verified \d+ bytes \((.*)\), sha256/.exec(full.stderr)?.[1];
    const verifiedBy = !how
      ? 'unknown (no verification line in the log)'
      : how === 'read back'
        ? 'read-back (the archive streamed back from S3, sha256 and size compared; the manifest read back and compared)'
        : `S3's checks on upload (--verify upload: ${how}): ${checked} of ${uploads.length} uploads (PutObject, UploadPart) carried a Content-MD5 from ${cliVersion}, ` +
          'which the test server checks as S3 does (a mismatch is 400 BadDigest)';
    const fullBytes = Number(full.stdout.split('\n').find((l) => l.startsWith('snapshot\t'))!.split('\t')[4]);

    const sync = timed('aws s3 sync', 'aws', ['s3', 'sync', '--only-show-errors', src, `s3://${s3.bucket}/sync/`], env);

    const target = path.join(work, 'restored');
    const restore = timed('restore.sh', 'bash', [RESTORE, ...common, '--directory', src, '--target', target], env);

    // change 1% of the small files
    const changed = Math.max(1, Math.round(files / 100));
    for (let i = 0; i < changed; i++) {
      const idx = Math.floor((i * files) / changed);
      fs.appendFileSync(path.join(src, 'small', `d${Math.floor(idx / 100)}`, `f${idx}.txt`), 'changed\n');
    }
    const inc = timed('backup.sh (incremental)', 'bash', [BACKUP, ...backupArgs], env);
    const incLine = inc.stdout.split('\n').find((l) => l.startsWith('snapshot\t'))!.split('\t');
    const incBytes = Number(incLine[4]);

    const rLocal = full.secs / local.secs;
    const rSync = full.secs / sync.secs;
    const frac = incBytes / fullBytes;
    console.log('');
    console.log(`data: ${sizeMb} MiB large file + ${files} small files, zstd level ${level}, ${os.cpus().length} CPUs`);
    console.log(`local limit (tar|zstd > /dev/null):   ${fmt(local.secs)}`);
    console.log(`backup.sh full (upload + verify):     ${fmt(full.secs)}  -> ${rLocal.toFixed(2)}x local limit   target <= 1.5x   ${verdict(rLocal <= 1.5)}`);
    if (bareUpload) {
      const bare = bareAfter ? (bareUpload.secs + bareAfter.secs) / 2 : bareUpload.secs;
      const rBare = full.secs / bare;
      console.log(`bare upload, no verification:         ${fmt(bareUpload.secs)} before, ${bareAfter ? fmt(bareAfter.secs) : '-'} after -> ${(bare / local.secs).toFixed(2)}x local limit`);
      console.log(`backup.sh / bare upload:              ${rBare.toFixed(2)}x   target <= 1.5x   ${verdict(rBare <= 1.5)}`);
      console.log(`read-back fallback (--verify read-back): ${fmt(readBack.secs)} -> ${(readBack.secs / bare).toFixed(2)}x the bare upload`);
      if (peer) console.log(`peer ${peerScript} (full): ${fmt(peer.secs)} -> ${(peer.secs / bare).toFixed(2)}x the bare upload; backup.sh / peer = ${(full.secs / peer.secs).toFixed(2)}`);
    }
    console.log(`verification that ran: ${verifiedBy}`);
    console.log(`aws s3 sync (naive peer):             ${fmt(sync.secs)}  -> backup/sync = ${rSync.toFixed(2)}   target < 1.0   ${verdict(rSync < 1)}`);
    console.log(`restore.sh (download + verify + extract): ${fmt(restore.secs)}`);
    console.log(`full archive: ${mb(fullBytes)}; incremental after ${changed} files (1%) changed: ${(incBytes / 1024).toFixed(1)} KiB (${incLine[3]})`);
    console.log(`incremental / full = ${(frac * 100).toFixed(3)}%   target <= 5%   ${verdict(frac <= 0.05)}`);
  } finally {
    await s3.stop();
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
