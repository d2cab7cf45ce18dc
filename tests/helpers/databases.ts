/**
 * Real database servers from Debian's packages for the db-bootstrap tests, started on loopback
 * with TLS from a throwaway CA, and a moto server answering Secrets Manager: PostgreSQL 15
 * (initdb + postgres on a temp data directory) and MariaDB (mariadb-install-db + mariadbd on a
 * temp datadir and socket). The servers run as `nobody` when the tests run as root (initdb and
 * mariadbd refuse root, or should).
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncOptions } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freePort, waitFor } from "../support/net";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const MARIADBD = "/usr/sbin/mariadbd";
const NOBODY = 65534;
const asRoot = () => process.getuid?.() === 0;

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
    const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return String(r.stdout);
}

/** Makes `p` (a file or directory tree) owned by the server's user. */
function own(p: string): void {
    if (asRoot()) run("chown", ["-R", `${NOBODY}:${NOBODY}`, p]);
}

const asServer = () => (asRoot() ? { uid: NOBODY, gid: NOBODY } : {});

export interface Tls {
    caFile: string;
    certFile: string;
    keyFile: string;
    /** Another CA: a client trusting only it must refuse the server. */
    otherCaFile: string;
}

/** A CA and a server certificate for `localhost` (DNS and IP), as RDS presents one for its endpoint. */
export function makeTls(dir: string): Tls {
    fs.mkdirSync(dir, { recursive: true });
    const f = (n: string) => path.join(dir, n);
    for (const ca of ["ca", "other-ca"]) {
        run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f(`${ca}.key`), "-out", f(`${ca}.pem`), "-days", "2", "-subj", `/CN=${ca}`]);
    }
    run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost"]);
    fs.writeFileSync(f("san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    run("openssl", ["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f("server.pem"), "-days", "2", "-extfile", f("san.ext")]);
    fs.chmodSync(f("server.key"), 0o600);
    own(f("server.key"));
    fs.chmodSync(dir, 0o755);
    return { caFile: f("ca.pem"), certFile: f("server.pem"), keyFile: f("server.key"), otherCaFile: f("other-ca.pem") };
}

export interface Server {
    port: number;
    stop(): Promise<void>;
}

function supervise(child: ChildProcess, what: string): { exited: Promise<void>; log: () => string } {
    let log = "";
    child.stdout?.on("data", (d) => (log += d.toString()));
    child.stderr?.on("data", (d) => (log += d.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", (code, signal) => {
        if (code && code !== 0) log += `\n${what} exited ${code ?? signal}`;
    });
    return { exited, log: () => log };
}

async function stopChild(child: ChildProcess, exited: Promise<void>, signal: NodeJS.Signals): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
    }
}

/** PostgreSQL with `master`/`password` as superuser, TLS required for TCP (hostssl only). */
export async function startPostgres(dir: string, tls: Tls, master: string, password: string): Promise<Server & { psql(db: string, sql: string): string }> {
    const data = path.join(dir, "data");
    const sockets = path.join(dir, "sockets");
    fs.mkdirSync(sockets, { recursive: true });
    fs.writeFileSync(path.join(dir, "pwfile"), `${password}\n`);
    own(dir);
    fs.chmodSync(dir, 0o755);
    run(path.join(PG_BIN, "initdb"), ["-D", data, "-U", master, `--pwfile=${path.join(dir, "pwfile")}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"], asServer());
    // Like RDS with rds.force_ssl: TCP connections without TLS are refused.
    const hba = ["local all all scram-sha-256", "hostssl all all 127.0.0.1/32 scram-sha-256", "hostssl all all ::1/128 scram-sha-256", ""].join("\n");
    fs.writeFileSync(path.join(data, "pg_hba.conf"), hba);
    own(path.join(data, "pg_hba.conf"));
    const port = await freePort();
    const child = spawn(
        path.join(PG_BIN, "postgres"),
        ["-D", data, "-p", String(port), "-k", sockets, "-c", "listen_addresses=localhost", "-c", "ssl=on", "-c", `ssl_cert_file=${tls.certFile}`, "-c", `ssl_key_file=${tls.keyFile}`, "-c", "fsync=off", "-c", "shared_buffers=16MB"],
        { stdio: ["ignore", "pipe", "pipe"], ...asServer() },
    );
    const { exited, log } = supervise(child, "postgres");
    const env = { ...process.env, PGPASSWORD: password };
    const psql = (db: string, sql: string) => run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", `host=${sockets} port=${port} dbname=${db} user=${master}`, "-c", sql], { env });
    await waitFor(`postgres on ${port}: ${log()}`, () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${log()}`);
        return spawnSync("psql", ["-X", "-q", `host=${sockets} port=${port} dbname=postgres user=${master}`, "-c", "select 1"], { env }).status === 0;
    }, 30_000);
    return { port, psql, stop: () => stopChild(child, exited, "SIGINT") };
}

/** MariaDB with `master`@'%'/`password` holding every privilege (as RDS's master user), TLS offered. */
export async function startMariadb(dir: string, tls: Tls, master: string, password: string): Promise<Server & { sql(statement: string): string }> {
    const data = path.join(dir, "data");
    const socket = path.join(dir, "mariadb.sock");
    // The server's temporary files (InnoDB's, TMPDIR by default) stay in its own directory: the
    // run's temporary directory is not writable by the server's user, and must end up empty.
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(tmp, { recursive: true });
    own(dir);
    fs.chmodSync(dir, 0o755);
    const env = { ...process.env, TMPDIR: tmp };
    run("mariadb-install-db", ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=socket", "--skip-test-db", ...(asRoot() ? ["--user=nobody"] : [])], { env });
    own(data);
    const port = await freePort();
    const child = spawn(
        MARIADBD,
        [
            "--no-defaults", `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, "--bind-address=127.0.0.1", `--pid-file=${path.join(dir, "mariadb.pid")}`,
            `--ssl-cert=${tls.certFile}`, `--ssl-key=${tls.keyFile}`, `--ssl-ca=${tls.caFile}`, "--innodb-buffer-pool-size=16M", "--skip-log-bin", `--log-error=${path.join(dir, "error.log")}`,
        ],
        { stdio: ["ignore", "pipe", "pipe"], env, ...asServer() },
    );
    const { exited, log } = supervise(child, "mariadbd");
    // root@localhost authenticates by the client's OS user over the socket (unix_socket).
    const sql = (statement: string) => run("mariadb", ["--no-defaults", `--socket=${socket}`, "-u", "root", "--batch", "--skip-column-names", "-e", statement]);
    await waitFor(`mariadbd on ${port}: ${log()}`, () => {
        if (child.exitCode !== null) throw new Error(`mariadbd exited: ${log()} ${fs.existsSync(path.join(dir, "error.log")) ? fs.readFileSync(path.join(dir, "error.log"), "utf8") : ""}`);
        return spawnSync("mariadb", ["--no-defaults", `--socket=${socket}`, "-u", "root", "-e", "select 1"]).status === 0;
    }, 30_000);
    sql(`CREATE USER '${master}'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON *.* TO '${master}'@'%' WITH GRANT OPTION;`);
    return { port, sql, stop: () => stopChild(child, exited, "SIGTERM") };
}

/** moto serving the AWS API on loopback, with an `aws` wrapper (the real CLI v2) pointed at it: tests/helpers/moto.ts. */
export { startMoto } from "./moto";
