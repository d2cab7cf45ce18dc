/**
 * Real end-to-end tests of components/ssm/backup.sh and restore.sh: the scripts run
 * under bash with the real AWS CLI v2, GNU tar and zstd against a local s3rver
 * (tests/helpers/s3server.ts) on 127.0.0.1. Runs as root (chown, setuid, ACLs).
 *
 * The endpoint answers as Amazon S3 answers the web tier's instance role: the caller holds exactly
 * the backup grant the plan gives that role (components/bucket.ts grantPolicyDocument, read-write
 * under the prefix, s3:ListBucket only with an s3:prefix condition), so what the policy does not
 * allow is 403, and so is a GetObject/HeadObject of a missing key (S3 API Reference, GetObject,
 * "Permissions": https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). tests/webTier.test.ts
 * checks that the plan grants the role that same document.
 */
import { strict as assert } from 'assert';
import { spawn, spawnSync, SpawnSyncReturns, ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BACKUP_TOOL_PACKAGES } from '../components/backupTools';
import { grantPolicyDocument, PolicyDocument } from '../components/bucket';
import { S3Server, startS3Server } from './helpers/s3server';
import { evaluate, missingKeyStatus, s3Authorization } from './helpers/s3Policy';
import { arrayAssignment, scriptCommands } from './helpers/shellCommands';
import { requireTools, RequirementName } from './support/tools';
import { tempDir } from './support/tmp';

const ROOT = path.resolve(__dirname, '..');
const BACKUP = path.join(ROOT, 'components/ssm/backup.sh');
const RESTORE = path.join(ROOT, 'components/ssm/restore.sh');
const DRILL = path.join(ROOT, 'components/ssm/drill.sh');
const LIB = path.join(ROOT, 'components/ssm/lib.sh');
/** What the backup and restore scripts need here (tests/support/tools.ts says how to install each). */
export const BACKUP_TOOLS: RequirementName[] = ['awsCliV2', 'awk', 'openssl', 'zstd', 'setfacl', 'getfacl', 'setfattr', 'getfattr', 'shellcheck', 'flock', 'tar', 'shfmt', 'curl', 'cmp', 'root'];

// ------------------------------------------------------------------ tree description

interface Entry {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtimeNs: string;
  size?: number;
  sha256?: string;
  target?: string;
  /** first path (in walk order) of the inode: equal for hard links */
  inode: string;
  nlink: number;
  xattrs?: string;
  acl?: string;
}

function typeOf(st: fs.Stats | fs.BigIntStats): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return 'other';
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** lstat-based walk + getfattr/getfacl output; comparable with deepStrictEqual. */
export function describeTree(root: string): Entry[] {
  const out: Entry[] = [];
  const inodes = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = rel === '.' ? root : path.join(root, rel);
    const st = fs.lstatSync(abs, { bigint: true });
    const type = typeOf(st);
    const ino = `${st.dev}:${st.ino}`;
    if (!inodes.has(ino)) inodes.set(ino, rel);
    const e: Entry = {
      path: rel,
      type,
      mode: (Number(st.mode) & 0o7777).toString(8),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeNs: st.mtimeNs.toString(),
      inode: inodes.get(ino)!,
      nlink: Number(st.nlink),
    };
    if (type === 'file') {
      e.size = Number(st.size);
      e.sha256 = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    }
    if (type === 'symlink') e.target = fs.readlinkSync(abs);
    if (type === 'file' || type === 'dir') {
      e.xattrs = run('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', abs])
        .split('\n')
        .filter((l) => l && !l.startsWith('# file:'))
        .join('\n');
      e.acl = run('getfacl', ['--omit-header', '--numeric', '--physical', '--absolute-names', abs]);
    }
    if (type === 'dir') {
      // directory size/nlink depend on the filesystem's history, not on content
      e.nlink = 0;
    }
    out.push(e);
    if (type === 'dir') {
      for (const name of fs.readdirSync(abs).sort()) walk(rel === '.' ? name : path.join(rel, name));
    }
  };
  walk('.');
  return out;
}

/**
 * What the manifest's treeEntries and treeBytes count (components/ssm/README.md): every name below
 * the directory, and the apparent bytes of its regular files, each inode once.
 */
function treeCounts(entries: Entry[]): { treeEntries: number; treeBytes: number } {
  const below = entries.filter((e) => e.path !== '.');
  const files = new Map(below.filter((e) => e.type === 'file').map((e) => [e.inode, e.size!] as const));
  return { treeEntries: below.length, treeBytes: [...files.values()].reduce((a, b) => a + b, 0) };
}

// ------------------------------------------------------------------ running the scripts

interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function scriptEnv(s3: S3Server, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // SSM runs commands with a bare environment: no UTF-8 locale.
  return { ...s3.env, LANG: 'C', LC_ALL: 'C', ...extra };
}

function runScript(s3: S3Server, script: string, args: string[], extra: NodeJS.ProcessEnv = {}): RunResult {
  // bash by absolute path: some tests give the script a PATH holding only the tools it declares.
  const r: SpawnSyncReturns<string> = spawnSync('/bin/bash', [script, ...args], {
    env: scriptEnv(s3, extra),
    encoding: 'utf8',
    timeout: 120000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function okOrDump(r: RunResult, what: string): RunResult {
  assert.equal(r.status, 0, `${what} exited ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** Parses backup.sh's stdout line: snapshot<TAB>slug<TAB>id<TAB>type<TAB>bytes<TAB>url */
function snapshotOf(r: RunResult): { id: string; type: string; bytes: number; line: string } {
  const line = r.stdout.split('\n').find((l) => l.startsWith('snapshot\t'));
  assert.ok(line, `no snapshot line in stdout: ${r.stdout}`);
  const f = line!.split('\t');
  return { id: f[2], type: f[3], bytes: Number(f[4]), line: line! };
}

function setTime(p: string, sec: number, ns = 0) {
  const t = sec + ns / 1e9;
  fs.lutimesSync(p, t, t);
}

// ------------------------------------------------------------------ the suite

/** The real AWS CLI v2 against the test endpoint (through the wrapper on PATH). */
function awsCli(s3: S3Server, args: string[], input?: string): RunResult {
  const r = spawnSync('aws', args, { env: scriptEnv(s3), encoding: 'utf8', input, timeout: 60000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('SSM backup/restore scripts against a local S3 (s3rver)', function () {
  // A safety net, not a measure: on a loaded 2-core machine one AWS CLI start takes seconds, and the
  // chain test's five CLI-heavy runs once took more than 120 s in the full parallel run.
  this.timeout(300000);
  let s3: S3Server;
  let work: string;
  const BUCKET = 'platform-backups';
  const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
  const PREFIX = 'backups/test';
  const IID = 'i-0123456789abcdef0';
  /** What the web tier grants its role on the backup bucket (components/webTier.ts, grantReadWrite under `<prefix>/`). */
  const GRANT: PolicyDocument = grantPolicyDocument('readwrite', BUCKET_ARN, `${PREFIX}/`, undefined);
  const withStatements = (...extra: PolicyDocument['Statement']): PolicyDocument => ({ ...GRANT, Statement: [...GRANT.Statement, ...extra] });

  const backupArgs = (dir: string, ...extra: string[]) => [
    '--bucket', s3.bucket, '--prefix', PREFIX, '--instance-id', IID,
    '--state-dir', path.join(work, 'state'), '--lock-file', path.join(work, 'backup.lock'),
    ...extra, dir,
  ];
  const restoreArgs = (dir: string, target: string, ...extra: string[]) => [
    '--bucket', s3.bucket, '--prefix', PREFIX, '--instance-id', IID, '--directory', dir, '--target', target, ...extra,
  ];
  /** where s3rver keeps an object's bytes on disk */
  const objectFile = (server: S3Server, key: string) => {
    const parts = key.split('/');
    const last = parts.pop()!;
    return path.join(server.dir, server.bucket, ...parts, `${last}._S3rver_object`);
  };

  before(async function () {
    requireTools(this, BACKUP_TOOLS);
    work = tempDir('backup-test-');
    s3 = await startS3Server({ bucket: BUCKET, policy: GRANT });
  });

  afterEach(() => {
    // A test that changed what the role may do must not leak it into the next.
    if (s3) s3.setPolicy(GRANT);
  });

  after(async () => {
    if (s3) await s3.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('round-trips every kind of entry with nothing lost', function () {
    const src = path.join(work, 'kinds src');
    const dst = path.join(work, 'kinds-restored');
    fs.mkdirSync(src);
    const p = (...x: string[]) => path.join(src, ...x);
    fs.writeFileSync(p('plain.txt'), 'hello world\n');
    fs.writeFileSync(p('empty'), '');
    fs.mkdirSync(p('empty-dir'));
    fs.mkdirSync(p('dir', 'nested'), { recursive: true });
    fs.writeFileSync(p('dir', 'nested', 'random.bin'), crypto.randomBytes(200_000));
    fs.writeFileSync(p('setuid'), '#!/bin/sh\n');
    fs.chmodSync(p('setuid'), 0o4755);
    fs.writeFileSync(p('setgid'), 'g');
    fs.chmodSync(p('setgid'), 0o2750);
    fs.mkdirSync(p('setgid-dir'));
    fs.chmodSync(p('setgid-dir'), 0o2775);
    fs.mkdirSync(p('sticky'));
    fs.chmodSync(p('sticky'), 0o1777);
    fs.writeFileSync(p('private'), 'secret');
    fs.chmodSync(p('private'), 0o600);
    fs.writeFileSync(p('owned'), 'owned by 1234:5678');
    fs.chownSync(p('owned'), 1234, 5678);
    fs.mkdirSync(p('owned-dir'));
    fs.chownSync(p('owned-dir'), 4321, 8765);
    fs.symlinkSync('plain.txt', p('link'));
    fs.symlinkSync('does/not/exist', p('dangling'));
    fs.symlinkSync('dir/nested', p('dir-link'));
    fs.lchownSync(p('link'), 1234, 5678);
    fs.writeFileSync(p('hard-a'), 'linked content');
    fs.linkSync(p('hard-a'), p('dir', 'hard-b'));
    // sparse: 4 bytes at 0, 4 bytes at 64 MiB
    const fd = fs.openSync(p('sparse.img'), 'w');
    fs.writeSync(fd, Buffer.from('head'), 0, 4, 0);
    fs.writeSync(fd, Buffer.from('tail'), 0, 4, 64 * 1024 * 1024);
    fs.closeSync(fd);
    fs.writeFileSync(p('with space'), 'space');
    fs.writeFileSync(p('new\nline'), 'newline');
    fs.writeFileSync(p('ünïcødé-日本語'), 'unicode');
    fs.writeFileSync(p('quote"back\\slash'), 'quote');
    fs.mkdirSync(p('dir with\nnewline'));
    spawnSync('mkfifo', [p('fifo')]);
    run('setfattr', ['-n', 'user.comment', '-v', 'hello xattr', p('plain.txt')]);
    run('setfattr', ['-n', 'user.binary', '-v', '0x00ff10', p('dir')]);
    run('setfacl', ['-m', 'u:2000:rwx,g:3000:r-x', p('plain.txt')]);
    run('setfacl', ['-d', '-m', 'u:2000:rwx', p('dir')]);
    // deterministic, sub-second mtimes, set children first
    const all = describeTree(src).map((e) => e.path).reverse();
    all.forEach((rel, i) => setTime(rel === '.' ? src : p(rel), 1_600_000_000 + i, 123_456_000));

    const before = describeTree(src);
    const sparse = fs.statSync(p('sparse.img'));
    assert.ok(sparse.blocks * 512 < sparse.size, 'source sparse file is not sparse; filesystem does not support holes');

    const b = okOrDump(runScript(s3, BACKUP, backupArgs(src)), 'backup');
    assert.equal(snapshotOf(b).type, 'full');
    okOrDump(runScript(s3, RESTORE, restoreArgs(src, dst)), 'restore');

    assert.deepStrictEqual(describeTree(dst), before);
    const rs = fs.statSync(path.join(dst, 'sparse.img'));
    assert.equal(rs.size, sparse.size);
    assert.ok(rs.blocks * 512 < rs.size, `restored sparse file is not sparse (${rs.blocks} blocks)`);
    const ha = fs.statSync(path.join(dst, 'hard-a'));
    const hb = fs.statSync(path.join(dst, 'dir', 'hard-b'));
    assert.equal(ha.ino, hb.ino, 'hard link identity lost');
    assert.equal(fs.statSync(path.join(dst, 'setuid')).mode & 0o7777, 0o4755);

    // the manifest describes the snapshot
    const slug = b.stdout.split('\t')[1];
    const manifest = JSON.parse(
      fs.readFileSync(objectFile(s3, `${PREFIX}/${IID}/${slug}/${snapshotOf(b).id}/manifest.json`), 'utf8'),
    );
    assert.equal(manifest.directory, src);
    assert.equal(manifest.type, 'full');
    assert.equal(manifest.tarFormat, 'posix');
    assert.equal(manifest.archives.length, 1);
    const archive = fs.readFileSync(objectFile(s3, `${PREFIX}/${IID}/${slug}/${snapshotOf(b).id}/archive.tar.zst`));
    assert.equal(manifest.archives[0].sha256, crypto.createHash('sha256').update(archive).digest('hex'));
    assert.equal(manifest.archives[0].size, archive.length);
    // Format 2: what the restore produces (every name below the directory; apparent bytes of the
    // regular files, the hard-linked pair once, the sparse file at its full size), counted from what
    // tar archived, and what the archive holds (its members: those names and "./").
    assert.equal(manifest.formatVersion, 2);
    const counts = treeCounts(describeTree(dst));
    assert.deepStrictEqual({ treeEntries: manifest.treeEntries, treeBytes: manifest.treeBytes }, counts);
    assert.ok(counts.treeBytes > 64 * 1024 * 1024, 'the sparse file counts at its apparent size');
    assert.equal(manifest.archives[0].members, counts.treeEntries + 1);
    assert.equal(manifest.archives[0].memberBytes, counts.treeBytes);
  });

  it('applies an incremental chain exactly (changes, additions, deletions), honours --full-every and a lost state file', function () {
    const src = path.join(work, 'incr');
    const dst = path.join(work, 'incr-restored');
    const p = (...x: string[]) => path.join(src, ...x);
    fs.mkdirSync(p('sub'), { recursive: true });
    fs.mkdirSync(p('gone-dir', 'inner'), { recursive: true });
    fs.writeFileSync(p('keep.txt'), 'keep');
    fs.writeFileSync(p('change.txt'), 'version 1');
    fs.writeFileSync(p('delete.txt'), 'delete me');
    fs.writeFileSync(p('gone-dir', 'inner', 'x'), 'x');
    fs.writeFileSync(p('sub', 'a'), 'a');
    fs.writeFileSync(p('skip.log'), 'excluded');
    const args = (...x: string[]) => backupArgs(src, '--full-every', '2', '--exclude', '*.log', ...x);

    const full = snapshotOf(okOrDump(runScript(s3, BACKUP, args()), 'full backup'));
    assert.equal(full.type, 'full');

    fs.writeFileSync(p('change.txt'), 'version 2, longer');
    fs.rmSync(p('delete.txt'));
    fs.rmSync(p('gone-dir'), { recursive: true });
    fs.writeFileSync(p('new.txt'), 'new');
    fs.mkdirSync(p('new-dir'));
    fs.writeFileSync(p('new-dir', 'b'), 'b');
    fs.writeFileSync(p('sub', 'c'), 'c');
    const inc = snapshotOf(okOrDump(runScript(s3, BACKUP, args()), 'incremental backup'));
    assert.equal(inc.type, 'incremental');
    assert.ok(inc.bytes < full.bytes * 2, 'incremental should be small');

    // restore into a target that already holds stale content: it must end up exact
    fs.mkdirSync(path.join(dst, 'stale'), { recursive: true });
    fs.writeFileSync(path.join(dst, 'stale', 'junk'), 'junk');
    okOrDump(runScript(s3, RESTORE, restoreArgs(src, dst)), 'restore');
    const expected = describeTree(src).filter((e) => e.path !== 'skip.log');
    assert.deepStrictEqual(describeTree(dst), expected);
    // The incremental's manifest counts the tree its whole chain restores: unchanged names carried
    // over from the full, deleted ones gone, the excluded file never (tar lists it in its directory dump).
    const incSlug = inc.line.split('\t')[1];
    const incManifest = JSON.parse(fs.readFileSync(objectFile(s3, `${PREFIX}/${IID}/${incSlug}/${inc.id}/manifest.json`), 'utf8'));
    assert.deepStrictEqual({ treeEntries: incManifest.treeEntries, treeBytes: incManifest.treeBytes }, treeCounts(expected));
    assert.ok(incManifest.archives[0].members < treeCounts(expected).treeEntries, 'the incremental archive carries only what changed (and the directories)');
    assert.ok(!fs.existsSync(path.join(dst, 'delete.txt')));
    assert.ok(!fs.existsSync(path.join(dst, 'gone-dir')));
    assert.ok(!fs.existsSync(path.join(dst, 'skip.log')), 'excluded file was restored');

    // --full-every 2: the run after a level-1 incremental is a full
    fs.writeFileSync(p('third.txt'), '3');
    assert.equal(snapshotOf(okOrDump(runScript(s3, BACKUP, args()), 'third backup')).type, 'full');

    // lost local state forces a full rather than a wrong incremental
    const stateDir = path.join(work, 'state');
    const slugDir = fs.readdirSync(stateDir).find((d) => d.endsWith('incr'))!;
    fs.rmSync(path.join(stateDir, slugDir, 'snar'));
    const r = okOrDump(runScript(s3, BACKUP, args('--full-every', '3')), 'backup without state');
    // (with --full-every 3 and intact state this run would have been a level-1 incremental)
    assert.equal(snapshotOf(r).type, 'full');
    assert.match(r.stderr, /local incremental state missing/);
  });

  it('S3 dying mid-upload fails with exit 4 and leaves latest on the previous good snapshot', async function () {
    // its own server, so killing it does not disturb the other tests
    const s3b = await startS3Server({ bucket: BUCKET, policy: GRANT });
    try {
      const src = path.join(work, 'killed');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'small'), 'small');
      const good = snapshotOf(okOrDump(runScript(s3b, BACKUP, backupArgs(src)), 'good backup'));
      const slug = good.line.split('\t')[1];
      const slugLatest = objectFile(s3b, `${PREFIX}/${IID}/${slug}/latest`);
      assert.equal(fs.readFileSync(slugLatest, 'utf8').trim(), good.id);

      fs.writeFileSync(path.join(src, 'big.bin'), crypto.randomBytes(24 * 1024 * 1024));
      const child: ChildProcess = spawn('bash', [BACKUP, ...backupArgs(src)], {
        env: scriptEnv(s3b, { AWS_WRAPPER_THROTTLE_BPS: String(6 * 1024 * 1024) }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // wait until the first multipart part has landed, then kill the server
      const uploads = path.join(s3b.dir, s3b.bucket, '._S3rver_uploads');
      const deadline = Date.now() + 30000;
      let killedMidUpload = false;
      while (Date.now() < deadline) {
        const ids = fs.existsSync(uploads) ? fs.readdirSync(uploads) : [];
        if (ids.some((id) => fs.existsSync(path.join(uploads, id, '1.md5')))) {
          await s3b.kill();
          killedMidUpload = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(killedMidUpload, `never saw a multipart part being uploaded; stderr: ${stderr}`);
      const code = await exited;
      assert.equal(code, 4, `expected exit 4, got ${code}; stderr:\n${stderr}`);
      assert.match(stderr, /upload to s3:\/\/.* failed/);
      assert.equal(fs.readFileSync(slugLatest, 'utf8').trim(), good.id, 'latest moved');
    } finally {
      await s3b.stop();
    }
  });

  it('refuses a corrupted archive at restore with exit 5 and extracts nothing', function () {
    const src = path.join(work, 'corrupt');
    const dst = path.join(work, 'corrupt-restored');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'data'), crypto.randomBytes(50_000));
    const b = okOrDump(runScript(s3, BACKUP, backupArgs(src)), 'backup');
    const slug = b.stdout.split('\t')[1];
    const obj = objectFile(s3, `${PREFIX}/${IID}/${slug}/${snapshotOf(b).id}/archive.tar.zst`);
    const bytes = fs.readFileSync(obj);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(obj, bytes);

    const r = runScript(s3, RESTORE, restoreArgs(src, dst));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /verification failed/);
    assert.ok(!fs.existsSync(dst), 'target was created although verification failed');
    assert.deepStrictEqual(
      fs.readdirSync(work).filter((n) => n.startsWith('.platform-restore')),
      [],
      'staging dir left behind',
    );
  });

  it('restore still reads format 1 manifests (snapshots made before format 2)', function () {
    const src = path.join(work, 'format1');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'format 1');
    const b = snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src)), 'backup'));
    const file = objectFile(s3, `${PREFIX}/${IID}/${b.line.split('\t')[1]}/${b.id}/manifest.json`);
    // Exactly what backup.sh wrote before format 2: no member counts, no tree counts.
    const v1 = fs
      .readFileSync(file, 'utf8')
      .replace('"formatVersion": 2,', '"formatVersion": 1,')
      .replace(/, "members": \d+, "memberBytes": \d+\}/, '}')
      .replace(/"tarWarnings": \[(.*)\],\n  "treeEntries": \d+,\n  "treeBytes": \d+\n/, '"tarWarnings": [$1]\n');
    assert.doesNotMatch(v1, /members|treeEntries|treeBytes|"formatVersion": 2/);
    fs.writeFileSync(file, v1);
    const dst = path.join(work, 'format1-restored');
    okOrDump(runScript(s3, RESTORE, restoreArgs(src, dst)), 'restore of a format 1 snapshot');
    assert.deepStrictEqual(describeTree(dst), describeTree(src));
    fs.writeFileSync(file, v1.replace('"formatVersion": 1,', '"formatVersion": 3,'));
    const r = runScript(s3, RESTORE, restoreArgs(src, path.join(work, 'format3-restored')));
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /unsupported formatVersion '3'/);
  });

  it('a snapshot whose BackupSuccess metric cannot be published is still committed, and the run says so with exit 11', function () {
    // This endpoint serves S3 only: the CLI's PutMetricData fails here as a denied one would on AWS.
    const src = path.join(work, 'metric-fails');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'f');
    const r = runScript(s3, BACKUP, backupArgs(src, '--stack', 'test'));
    assert.equal(r.status, 11, r.stderr);
    assert.match(r.stderr, /snapshot \S+ is committed, but publishing BackupSuccess failed/);
    const snap = snapshotOf(r);
    assert.equal(fs.readFileSync(objectFile(s3, `${PREFIX}/${IID}/${snap.line.split('\t')[1]}/latest`), 'utf8').trim(), snap.id, 'latest moved to the good snapshot');
    for (const args of [['--stack', 'bad stack'], ['--stack', 'test', '--metrics-namespace', 'AWS/EC2'], ['--stack', 'test', '--metrics-namespace', 'a:b']]) {
      assert.equal(runScript(s3, BACKUP, backupArgs(src, ...args)).status, 2, JSON.stringify(args));
    }
  });

  it('exit codes: missing source 3, lock held 6, bad arguments 2, unknown snapshot 8, missing library 9', async function () {
    const missing = runScript(s3, BACKUP, backupArgs(path.join(work, 'no-such-dir')));
    assert.equal(missing.status, 3, missing.stderr);
    assert.match(missing.stderr, /source directory does not exist.*no-such-dir/);

    const src = path.join(work, 'locked');
    fs.mkdirSync(src);
    const lock = path.join(work, 'backup.lock');
    // Its own process group: flock's child (sleep) holds the lock too, and must die with it.
    const holder = spawn('flock', [lock, 'sleep', '60'], { stdio: 'ignore', detached: true });
    try {
      const deadline = Date.now() + 5000;
      while (spawnSync('flock', ['-n', lock, 'true']).status === 0) {
        assert.ok(Date.now() < deadline, 'flock holder did not take the lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      const locked = runScript(s3, BACKUP, backupArgs(src));
      assert.equal(locked.status, 6, locked.stderr);
      assert.match(locked.stderr, /another backup is running/);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
    }

    const bad: string[][] = [
      [],
      ['--prefix', 'p', src],
      ['--bucket', s3.bucket, src],
      ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID, '--bogus', src],
      ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID, 'relative/dir'],
      ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID, '--full-every', '0', src],
      ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID, '--level', 'x', src],
      ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID, '--exclude'],
    ];
    for (const args of bad) {
      const r = runScript(s3, BACKUP, args);
      assert.equal(r.status, 2, `backup ${JSON.stringify(args)}: ${r.stderr}`);
      assert.match(r.stderr, /ERROR/);
    }
    for (const args of [[], ['--bucket', s3.bucket, '--prefix', 'p', '--instance-id', IID], ['--nope']]) {
      const r = runScript(s3, RESTORE, args);
      assert.equal(r.status, 2, `restore ${JSON.stringify(args)}: ${r.stderr}`);
    }

    const unknown = runScript(s3, RESTORE, restoreArgs(src, path.join(work, 'x'), '--snapshot', '20000101T000000.000Z'));
    assert.equal(unknown.status, 8, unknown.stderr);
    assert.match(unknown.stderr, /not found/);
    const never = runScript(s3, RESTORE, restoreArgs(path.join(work, 'never-backed-up'), path.join(work, 'y')));
    assert.equal(never.status, 8, never.stderr);

    // A script installed without the library it sources fails as a missing tool (9), saying so.
    const lonely = fs.mkdtempSync(path.join(work, 'lonely-'));
    for (const script of [BACKUP, RESTORE, DRILL]) {
      const copy = path.join(lonely, path.basename(script));
      fs.copyFileSync(script, copy);
      const r = runScript(s3, copy, ['--help']);
      assert.equal(r.status, 9, r.stderr);
      assert.match(r.stderr, /lib\.sh is missing: install it beside this script/);
      fs.rmSync(copy);
    }
  });

  it('shellcheck passes on the three scripts and the library they share', function () {
    const r = spawnSync('shellcheck', ['-x', '--severity=style', BACKUP, RESTORE, DRILL, path.join(path.dirname(BACKUP), 'lib.sh')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  // ---------------------------------------------------------------- S3 as the instance role meets it

  it('the test S3 answers as AWS answers the backup grant: 403 for a missing key, listing only under the prefix, 404 only with an unconditional ListBucket', function () {
    // S3 API Reference, GetObject and HeadObject, "Permissions": without s3:ListBucket on the bucket
    // a missing key is 403 AccessDenied, not 404. If this proxy stops answering so, every proof
    // below that "a first run survives the 403" would pass vacuously: this test fails first.
    const missing = `${PREFIX}/${IID}/never-written/latest`;
    s3.takeRequests();
    const head = awsCli(s3, ['s3api', 'head-object', '--bucket', BUCKET, '--key', missing]);
    assert.notEqual(head.status, 0);
    assert.match(head.stderr, /\(403\) when calling the HeadObject operation/);
    const get = awsCli(s3, ['s3api', 'get-object', '--bucket', BUCKET, '--key', missing, path.join(work, 'never')]);
    assert.match(get.stderr, /AccessDenied.*GetObject|GetObject.*AccessDenied/);
    const cp = awsCli(s3, ['s3', 'cp', `s3://${BUCKET}/${missing}`, '-']);
    assert.notEqual(cp.status, 0);
    assert.match(cp.stderr, /\(403\)/);
    assert.doesNotMatch(cp.stderr, /404|NoSuchKey|Not Found/, 'the old "not found" test would have matched');
    // The exact key as a prefix is a listing the s3:prefix condition allows.
    const listed = awsCli(s3, ['s3api', 'list-objects-v2', '--bucket', BUCKET, '--prefix', missing]);
    assert.equal(listed.status, 0, listed.stderr);
    for (const args of [['s3api', 'list-objects-v2', '--bucket', BUCKET], ['s3api', 'list-objects-v2', '--bucket', BUCKET, '--prefix', 'backups/other/']]) {
      assert.match(awsCli(s3, args).stderr, /AccessDenied.*ListObjectsV2/, args.join(' '));
    }
    assert.match(awsCli(s3, ['s3', 'cp', '-', `s3://${BUCKET}/backups/other/x`], 'x').stderr, /AccessDenied.*PutObject/);
    assert.deepStrictEqual(s3.takeRequests().slice(0, 2), [`HeadObject ${missing} 403`, `GetObject ${missing} 403`]);

    s3.setPolicy(withStatements({ Effect: 'Allow', Action: 's3:ListBucket', Resource: BUCKET_ARN }));
    assert.match(awsCli(s3, ['s3api', 'head-object', '--bucket', BUCKET, '--key', missing]).stderr, /\(404\) when calling the HeadObject operation/);
  });

  it('the access model: explicit deny wins, s3:prefix conditions, and which action each request needs', function () {
    const q = (s: string) => new URLSearchParams(s);
    assert.deepStrictEqual(s3Authorization('HEAD', `/${BUCKET}/${PREFIX}/a%20b`, q('')), { operation: 'HeadObject', action: 's3:GetObject', resource: `${BUCKET_ARN}/${PREFIX}/a b`, context: {} });
    assert.deepStrictEqual(s3Authorization('GET', `/${BUCKET}`, q(`list-type=2&prefix=${PREFIX}/x`)).context, { 's3:prefix': `${PREFIX}/x` });
    assert.equal(s3Authorization('POST', `/${BUCKET}/${PREFIX}/k`, q('uploads')).action, 's3:PutObject');
    assert.equal(s3Authorization('DELETE', `/${BUCKET}/${PREFIX}/k`, q('uploadId=1')).action, 's3:AbortMultipartUpload');
    assert.throws(() => s3Authorization('GET', `/${BUCKET}/${PREFIX}/k`, q('acl')), /not modelled/);
    assert.equal(evaluate(GRANT, 's3:ListBucket', BUCKET_ARN, { 's3:prefix': `${PREFIX}/i-1/x/latest` }), 'Allow');
    assert.equal(evaluate(GRANT, 's3:ListBucket', BUCKET_ARN, {}), 'ImplicitDeny');
    assert.equal(evaluate(GRANT, 's3:GetObject', `${BUCKET_ARN}/${PREFIX}/x`), 'Allow');
    assert.equal(evaluate(GRANT, 's3:GetObject', `${BUCKET_ARN}/backups/other/x`), 'ImplicitDeny');
    assert.equal(evaluate(withStatements({ Effect: 'Deny', Action: 's3:*', Resource: `${BUCKET_ARN}/${PREFIX}/x` }), 's3:GetObject', `${BUCKET_ARN}/${PREFIX}/x`), 'ExplicitDeny');
    assert.equal(missingKeyStatus(GRANT, BUCKET_ARN), 403);
    assert.equal(missingKeyStatus(grantPolicyDocument('readwrite', BUCKET_ARN, undefined, undefined), BUCKET_ARN), 404);
  });

  it('a first run finds no latest (S3 answers 403) and makes a full backup; the next run is incremental; both restore', function () {
    const src = path.join(work, 'first-run');
    const dst = path.join(work, 'first-run-restored');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a'), 'a');
    s3.takeRequests();
    const first = okOrDump(runScript(s3, BACKUP, backupArgs(src, '--full-every', '3')), 'first backup');
    const full = snapshotOf(first);
    assert.equal(full.type, 'full');
    assert.match(first.stderr, /full backup \(no previous snapshot in S3\)/);
    const slug = full.line.split('\t')[1];
    const latest = `${PREFIX}/${IID}/${slug}/latest`;
    // What the run met: the 403 AWS gives this role for the missing latest, then the listing that decided.
    const seen = s3.takeRequests();
    assert.ok(seen.includes(`HeadObject ${latest} 403`), seen.join('\n'));
    assert.ok(seen.includes(`ListObjectsV2 ${latest} 200`), seen.join('\n'));

    fs.writeFileSync(path.join(src, 'b'), 'b');
    const inc = snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src, '--full-every', '3')), 'incremental backup'));
    assert.equal(inc.type, 'incremental');
    okOrDump(runScript(s3, RESTORE, restoreArgs(src, dst)), 'restore of the incremental');
    assert.deepStrictEqual(describeTree(dst), describeTree(src));
  });

  it('restore exits 8 for what does not exist, decided by listing (S3 answers 403 for it): no latest, unknown snapshot, missing chain member, missing archive', function () {
    const src = path.join(work, 'notfound');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'f');
    const full = snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src, '--full-every', '5')), 'full'));
    fs.writeFileSync(path.join(src, 'g'), 'g');
    const inc = snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src, '--full-every', '5')), 'incremental'));
    assert.equal(inc.type, 'incremental');
    const base = `${PREFIX}/${IID}/${full.line.split('\t')[1]}`;
    const target = (n: string) => path.join(work, `notfound-${n}`);

    const never = runScript(s3, RESTORE, restoreArgs(path.join(work, 'never-backed-up-either'), target('never')));
    assert.equal(never.status, 8, never.stderr);
    assert.match(never.stderr, /no snapshot found .*latest does not exist/);
    const unknown = runScript(s3, RESTORE, restoreArgs(src, target('unknown'), '--snapshot', '20000101T000000.000Z'));
    assert.equal(unknown.status, 8, unknown.stderr);
    assert.match(unknown.stderr, /snapshot 20000101T000000\.000Z not found/);

    // The chain's full loses its manifest: restoring the incremental cannot be done, and says so.
    okOrDump(awsCli(s3, ['s3', 'rm', `s3://${BUCKET}/${base}/${full.id}/manifest.json`]), 'rm manifest');
    s3.takeRequests();
    const member = runScript(s3, RESTORE, restoreArgs(src, target('member')));
    assert.equal(member.status, 8, member.stderr);
    assert.match(member.stderr, new RegExp(`snapshot ${full.id.replace('.', '\\.')} not found`));
    assert.ok(s3.takeRequests().includes(`HeadObject ${base}/${full.id}/manifest.json 403`));

    // The incremental's archive is gone but its manifest is there: exit 8, nothing extracted.
    okOrDump(awsCli(s3, ['s3', 'rm', `s3://${BUCKET}/${base}/${inc.id}/archive.tar.zst`]), 'rm archive');
    const archive = runScript(s3, RESTORE, restoreArgs(src, target('archive'), '--snapshot', inc.id));
    assert.equal(archive.status, 8, archive.stderr);
    for (const n of ['never', 'unknown', 'member', 'archive']) assert.ok(!fs.existsSync(target(n)), `${n}: target created`);
  });

  it('a real access error is still exit 4, never "not found": a denied latest, a denied listing, a denied archive', function () {
    const src = path.join(work, 'denied');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'f');
    const good = snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src)), 'good backup'));
    const base = `${PREFIX}/${IID}/${good.line.split('\t')[1]}`;
    const latestFile = objectFile(s3, `${base}/latest`);

    // 403 on a latest that exists (a Deny, a KMS key policy...): no silent full backup, no "not found".
    s3.setPolicy(withStatements({ Effect: 'Deny', Action: 's3:GetObject', Resource: `${BUCKET_ARN}/${base}/latest` }));
    const backup = runScript(s3, BACKUP, backupArgs(src));
    assert.equal(backup.status, 4, backup.stderr);
    assert.match(backup.stderr, /cannot read s3:\/\/.*\/latest/);
    assert.equal(fs.readFileSync(latestFile, 'utf8').trim(), good.id, 'latest moved');
    const restore = runScript(s3, RESTORE, restoreArgs(src, path.join(work, 'denied-restored')));
    assert.equal(restore.status, 4, restore.stderr);

    // 403 on the archive of a snapshot that exists.
    s3.setPolicy(withStatements({ Effect: 'Deny', Action: 's3:GetObject', Resource: `${BUCKET_ARN}/${base}/${good.id}/archive.tar.zst` }));
    const archive = runScript(s3, RESTORE, restoreArgs(src, path.join(work, 'denied-restored')));
    assert.equal(archive.status, 4, archive.stderr);
    assert.match(archive.stderr, /download of .*archive\.tar\.zst failed/);
    assert.ok(!fs.existsSync(path.join(work, 'denied-restored')));

    // No way to tell whether latest exists (listing denied too): an S3 failure, not a first run.
    s3.setPolicy(withStatements({ Effect: 'Deny', Action: 's3:ListBucket', Resource: BUCKET_ARN }));
    const fresh = path.join(work, 'denied-fresh');
    fs.mkdirSync(fresh);
    const blind = runScript(s3, BACKUP, backupArgs(fresh));
    assert.equal(blind.status, 4, blind.stderr);
    assert.match(blind.stderr, /deciding whether it exists failed: .*AccessDenied/s);
    const blindRestore = runScript(s3, RESTORE, restoreArgs(fresh, path.join(work, 'denied-fresh-restored')));
    assert.equal(blindRestore.status, 4, blindRestore.stderr);
  });

  // ---------------------------------------------------------------- the tools the scripts need

  const declaredTools = (script: string) => {
    const tools = arrayAssignment(script, 'REQUIRED_TOOLS');
    assert.ok(tools, `${script} declares no REQUIRED_TOOLS`);
    return tools!;
  };

  it('each tool check names exactly the commands the script runs (read from its syntax tree), and the bake and user data install them all', function () {
    // The derivation must see commands wherever bash runs them, or this test could not fail.
    const probe = path.join(work, 'probe.sh');
    fs.writeFileSync(probe, 'f() { local x; x="$(nested-a | nested-b)"; }\ntrap \'trapped; f\' EXIT\nif ! [[ $(in-test) ]]; then exec replaced --arg; fi\nv=$(command -v checked-only)\nwhile read -r l; do :; done < <(procsub)\necho "$(date -u)" >"$(redirect-word)"\n');
    assert.deepStrictEqual(scriptCommands([probe]).external, ['date', 'in-test', 'nested-a', 'nested-b', 'procsub', 'redirect-word', 'replaced', 'trapped']);

    for (const script of [BACKUP, RESTORE, DRILL]) {
      const { external, dynamic } = scriptCommands([script, LIB]);
      assert.deepStrictEqual(dynamic, [], `${script}: a command whose name is not a literal cannot be checked`);
      // The drill runs restore.sh (bash restore.sh ...): it needs, and checks first, what restore.sh needs too.
      const runs = script === DRILL ? [...new Set([...external, ...declaredTools(RESTORE)])].sort() : external;
      assert.deepStrictEqual([...declaredTools(script)].sort(), runs, `${path.basename(script)}: REQUIRED_TOOLS must be exactly the commands it runs`);
    }
    assert.ok(scriptCommands([DRILL, LIB]).external.includes('bash'), 'the drill runs restore.sh with bash');
    const needed = [...new Set([...declaredTools(BACKUP), ...declaredTools(RESTORE), ...declaredTools(DRILL)])].sort();
    assert.deepStrictEqual(Object.keys(BACKUP_TOOL_PACKAGES).sort(), needed, 'components/backupTools.ts must list every tool the scripts need, and only those');
  });

  it('a missing tool is exit 9 naming it, before anything is read or written; with only the declared tools on PATH both scripts run through', function () {
    const linkDir = (tools: string[]) => {
      const dir = fs.mkdtempSync(path.join(work, 'path-'));
      for (const t of tools) {
        const real = t === 'aws' ? path.join(s3.binDir, 'aws') : spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
        assert.ok(real, `${t} is not installed here`);
        fs.symlinkSync(real, path.join(dir, t));
      }
      return dir;
    };
    const src = path.join(work, 'minimal-path');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'f');
    for (const [script, args] of [[BACKUP, backupArgs(src)], [RESTORE, restoreArgs(src, path.join(work, 'minimal-restored'))]] as Array<[string, string[]]>) {
      const tools = declaredTools(script);
      for (const missing of tools) {
        const dir = linkDir(tools.filter((t) => t !== missing));
        s3.takeRequests();
        const r = runScript(s3, script, args, { PATH: dir });
        assert.equal(r.status, 9, `${path.basename(script)} without ${missing}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`required tools missing: ${missing}$`, 'm'));
        assert.deepStrictEqual(s3.takeRequests(), [], 'S3 was called before the tool check');
      }
    }
    const backupPath = linkDir(declaredTools(BACKUP));
    okOrDump(runScript(s3, BACKUP, backupArgs(src), { PATH: backupPath }), 'backup with only its declared tools');
    fs.writeFileSync(path.join(src, 'g'), 'g');
    assert.equal(snapshotOf(okOrDump(runScript(s3, BACKUP, backupArgs(src), { PATH: backupPath }), 'incremental with only its declared tools')).type, 'incremental');
    okOrDump(runScript(s3, RESTORE, restoreArgs(src, path.join(work, 'minimal-restored')), { PATH: linkDir(declaredTools(RESTORE)) }), 'restore with only its declared tools');
    assert.deepStrictEqual(describeTree(path.join(work, 'minimal-restored')), describeTree(src));
  });
});
