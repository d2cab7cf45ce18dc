/**
 * db-bootstrap for real: components/ssm/db-bootstrap.sh, with the exact SQL the Command document
 * carries (components/dbBootstrap.ts), run twice against Debian's PostgreSQL 15 and MariaDB
 * servers started here on loopback with TLS required, reading the master secret from Secrets
 * Manager (moto, through the real AWS CLI v2). What is not RDS here, and stands in for it:
 *  - PostgreSQL: `rds_iam`, the role RDS creates for IAM authentication, is created by the test
 *    as a plain role (GRANT rds_iam TO ... is what the script must do; RDS checks membership).
 *  - MariaDB: the AWSAuthenticationPlugin exists only on RDS, and CREATE USER ... IDENTIFIED WITH
 *    a plugin the server has not loaded fails. The test replaces exactly the plugin name in the
 *    SQL by `unix_socket`, a built-in plugin that, like RDS's, takes no password and keeps the
 *    authentication string: the rest of the statement (AS 'RDS', REQUIRE SSL, IF NOT EXISTS,
 *    the grants) runs as shipped, and the stored plugin, authentication string and TLS
 *    requirement are checked.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AWS_AUTHENTICATION_CLAUSE, DB_BOOTSTRAP_EXIT_CODES, MYSQL_APP_PRIVILEGES, clientPackage, dbBootstrapDocumentContent, mysqlBootstrapSql, postgresBootstrapSql, readDbBootstrapScript } from "../components/dbBootstrap";
import { checkDocument } from "../tools/ssmDocuments";
import { Server, Tls, makeTls, startMariadb, startMoto, startPostgres } from "./helpers/databases";
import { requireTools } from "./support/tools";
import { tempDir } from "./support/tmp";

const SCRIPT = path.resolve(__dirname, "..", "components/ssm/db-bootstrap.sh");
const MASTER = "platform_admin";
const PASSWORD = "s3cr3t-Pa55word";

describe("db-bootstrap: the IAM database user on real PostgreSQL and MariaDB", function () {
    this.timeout(180_000);
    let dir: string;
    let tls: Tls;
    let moto: Server & { env: NodeJS.ProcessEnv };
    let secretArn: string;

    before(async function () {
        requireTools(this, ["initdb", "postgres", "psql", "mariadbd", "mariadbInstallDb", "mariadb", "awsCliV2", "openssl", "moto"]);
        dir = tempDir("platform-db-");
        fs.chmodSync(dir, 0o755);
        tls = makeTls(path.join(dir, "tls"));
        moto = await startMoto(dir);
        // The secret as RDS manages it: JSON with the master user's name and password.
        const r = spawnSync("aws", ["secretsmanager", "create-secret", "--name", "rds!db-0123abcd-test", "--secret-string", JSON.stringify({ username: MASTER, password: PASSWORD }), "--query", "ARN", "--output", "text"], { env: moto.env, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        secretArn = r.stdout.trim();
        assert.match(secretArn, /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:rds!db-0123abcd-test-\w{6}$/);
    });
    after(async () => {
        if (moto) await moto.stop();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    function bootstrap(engine: string, port: number, sqlText: string, extra: string[] = []) {
        const sql = path.join(dir, `${engine}-bootstrap.sql`);
        fs.writeFileSync(sql, sqlText);
        const r = spawnSync(
            "bash",
            [SCRIPT, "--engine", engine, "--host", "localhost", "--port", String(port), "--database", "app", "--user", "app_user", "--secret-arn", secretArn, "--sql", sql, "--ca-bundle", tls.caFile, "--region", "us-east-1", ...extra],
            { env: { ...moto.env, LANG: "C", LC_ALL: "C" }, encoding: "utf8" },
        );
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    describe("PostgreSQL 15", () => {
        let pg: Awaited<ReturnType<typeof startPostgres>>;
        before(async () => {
            pg = await startPostgres(path.join(dir, "pg"), tls, MASTER, PASSWORD);
            pg.psql("postgres", "CREATE DATABASE app");
            // Stand-in for the role RDS provides (see the header).
            pg.psql("postgres", "CREATE ROLE rds_iam");
            pg.psql("app", "CREATE TABLE public.existing (id serial PRIMARY KEY, note text)");
        });
        after(async () => {
            if (pg) await pg.stop();
        });

        it("creates the user with rds_iam and the database grants, over verified TLS, twice without change", () => {
            const first = bootstrap("postgres", pg.port, postgresBootstrapSql());
            assert.equal(first.code, 0, first.stderr);
            assert.match(first.stderr, /creating app_user on postgres localhost:\d+\/app as platform_admin \(TLS, server certificate verified\)/);
            const state = () =>
                pg.psql(
                    "app",
                    "SELECT concat_ws(' ', (SELECT count(*) FROM pg_roles WHERE rolname = 'app_user'), (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_user'), " +
                        "pg_has_role('app_user', 'rds_iam', 'MEMBER'), (SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = 'app_user'), " +
                        "has_database_privilege('app_user', 'app', 'CONNECT'), has_database_privilege('app_user', 'app', 'TEMPORARY'), has_database_privilege('app_user', 'app', 'CREATE'), " +
                        "has_schema_privilege('app_user', 'public', 'USAGE'), has_schema_privilege('app_user', 'public', 'CREATE'), " +
                        "has_table_privilege('app_user', 'public.existing', 'SELECT,INSERT,UPDATE,DELETE'), has_sequence_privilege('app_user', 'public.existing_id_seq', 'USAGE'), " +
                        "(SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'app_user'))",
                ).trim();
            // one role, may log in, member of rds_iam once, CONNECT+TEMPORARY (not CREATE) on the database,
            // USAGE+CREATE on public, data privileges on the existing table and its sequence, no admin powers.
            const expected = "1 t t 1 t t f t t t t f";
            assert.equal(state(), expected);
            const second = bootstrap("postgres", pg.port, postgresBootstrapSql());
            assert.equal(second.code, 0, second.stderr);
            assert.equal(state(), expected, "the second run changes nothing");
            // Tables the master user creates later are the app's too (default privileges).
            pg.psql("app", "CREATE TABLE public.later (id int)");
            assert.equal(pg.psql("app", "SELECT has_table_privilege('app_user', 'public.later', 'SELECT,INSERT,UPDATE,DELETE')").trim(), "t");
            // The password never reaches the output.
            assert.doesNotMatch(first.stdout + first.stderr + second.stdout + second.stderr, new RegExp(PASSWORD));
        });

        it("refuses a server whose certificate the CA bundle does not vouch for (exit 6), and a TCP login without TLS is refused by the server", () => {
            const r = bootstrap("postgres", pg.port, postgresBootstrapSql(), ["--ca-bundle", tls.otherCaFile]);
            assert.equal(r.code, 6, r.stderr);
            assert.equal(DB_BOOTSTRAP_EXIT_CODES[6], "the SQL failed (connection, TLS, authentication or a statement)");
            assert.match(r.stderr, /certificate verify failed|SSL error/i);
            const plain = spawnSync("psql", ["-X", `host=localhost port=${pg.port} dbname=app user=${MASTER} sslmode=disable`, "-c", "select 1"], { env: { ...process.env, PGPASSWORD: PASSWORD }, encoding: "utf8" });
            assert.notEqual(plain.status, 0);
            assert.match(plain.stderr, /no pg_hba\.conf entry .* no encryption/);
        });

        it("fails with exit 6 when rds_iam is missing (not RDS), and 5 when the secret cannot be read", () => {
            const sql = path.join(dir, "pg.sql");
            fs.writeFileSync(sql, postgresBootstrapSql());
            pg.psql("postgres", "ALTER ROLE rds_iam RENAME TO rds_iam_gone");
            try {
                const r = bootstrap("postgres", pg.port, postgresBootstrapSql());
                assert.equal(r.code, 6, r.stderr);
                assert.match(r.stderr, /role "rds_iam" does not exist/);
            } finally {
                pg.psql("postgres", "ALTER ROLE rds_iam_gone RENAME TO rds_iam");
            }
            const missing = secretArn.replace(/test-\w{6}$/, "gone-abcdef");
            const r = spawnSync("bash", [SCRIPT, "--engine", "postgres", "--host", "localhost", "--port", String(pg.port), "--database", "app", "--user", "app_user", "--secret-arn", missing, "--sql", sql, "--ca-bundle", tls.caFile], { env: moto.env, encoding: "utf8" });
            assert.equal(r.status, 5, r.stderr);
            assert.match(r.stderr, /cannot read the master secret/);
        });
    });

    describe("MariaDB", () => {
        let db: Awaited<ReturnType<typeof startMariadb>>;
        /** The shipped SQL with the one substitution explained in the header. */
        const standIn = () => {
            const sql = mysqlBootstrapSql("app_user", "app");
            assert.ok(sql.includes(AWS_AUTHENTICATION_CLAUSE));
            return sql.replace("AWSAuthenticationPlugin", "unix_socket");
        };
        before(async () => {
            db = await startMariadb(path.join(dir, "mariadb"), tls, MASTER, PASSWORD);
            db.sql("CREATE DATABASE app");
        });
        after(async () => {
            if (db) await db.stop();
        });

        it("creates the user with the IAM authentication clause, REQUIRE SSL and the grants, over verified TLS, twice without change", () => {
            const first = bootstrap("mariadb", db.port, standIn());
            assert.equal(first.code, 0, first.stderr);
            const state = () =>
                db.sql("SELECT user, host, json_value(priv, '$.plugin'), json_value(priv, '$.authentication_string'), json_value(priv, '$.ssl_type') FROM mysql.global_priv WHERE user = 'app_user'").trim();
            // ssl_type 1 = ANY: REQUIRE SSL.
            assert.equal(state(), "app_user\t%\tunix_socket\tRDS\t1");
            const grants = () => db.sql("SHOW GRANTS FOR 'app_user'@'%'").trim().split("\n");
            const expectedGrants = grants();
            assert.equal(expectedGrants.length, 2, expectedGrants.join("\n"));
            assert.match(expectedGrants[0], /^GRANT USAGE ON \*\.\* TO `app_user`@`%` IDENTIFIED VIA unix_socket USING 'RDS' REQUIRE SSL$/);
            for (const privilege of MYSQL_APP_PRIVILEGES) assert.ok(expectedGrants[1].includes(privilege), `${privilege} in ${expectedGrants[1]}`);
            assert.match(expectedGrants[1], /ON `app`\.\* TO `app_user`@`%`$/);
            const second = bootstrap("mariadb", db.port, standIn());
            assert.equal(second.code, 0, second.stderr);
            assert.equal(state(), "app_user\t%\tunix_socket\tRDS\t1");
            assert.deepEqual(grants(), expectedGrants, "the second run changes nothing");
            assert.doesNotMatch(first.stdout + first.stderr, new RegExp(PASSWORD));
        });

        it("turns REQUIRE SSL on for a user that existed without it", () => {
            db.sql("DROP USER 'app_user'@'%'; CREATE USER 'app_user'@'%' IDENTIFIED WITH unix_socket AS 'RDS'");
            // (No ssl_type in the account's JSON: no TLS requirement.)
            assert.ok(["NULL", "0"].includes(db.sql("SELECT json_value(priv, '$.ssl_type') FROM mysql.global_priv WHERE user = 'app_user'").trim()));
            assert.equal(bootstrap("mariadb", db.port, standIn()).code, 0);
            assert.equal(db.sql("SELECT json_value(priv, '$.ssl_type') FROM mysql.global_priv WHERE user = 'app_user'").trim(), "1");
        });

        it("the shipped clause itself is what RDS documents, and a server without the plugin refuses it (exit 6, not silently another plugin)", () => {
            assert.equal(AWS_AUTHENTICATION_CLAUSE, "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'");
            db.sql("DROP USER IF EXISTS 'app_user'@'%'");
            const r = bootstrap("mariadb", db.port, mysqlBootstrapSql("app_user", "app"));
            assert.equal(r.code, 6, r.stderr);
            assert.match(r.stderr, /AWSAuthenticationPlugin/);
        });

        it("refuses a server certificate the CA bundle does not vouch for (exit 6)", () => {
            const r = bootstrap("mariadb", db.port, standIn(), ["--ca-bundle", tls.otherCaFile]);
            assert.equal(r.code, 6, r.stderr);
        });
    });
});

describe("db-bootstrap: the script, the SQL and the Command document", () => {
    it("is shellcheck-clean and rejects bad arguments with exit 2", function () {
        requireTools(this, ["shellcheck"]);
        const r = spawnSync("shellcheck", ["-x", SCRIPT], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stdout);
        for (const bad of [["--engine", "oracle"], ["--engine", "postgres", "--host", "h; reboot"]]) {
            assert.equal(spawnSync("bash", [SCRIPT, ...bad], { encoding: "utf8" }).status, 2, bad.join(" "));
        }
    });

    it("installs the Amazon Linux 2023 client for the engine", () => {
        assert.equal(clientPackage("postgres", "15"), "postgresql15");
        assert.equal(clientPackage("postgres", "14.9"), "postgresql15");
        assert.equal(clientPackage("postgres", "16.4"), "postgresql16");
        assert.equal(clientPackage("postgres", "17"), "postgresql16");
        assert.equal(clientPackage("mysql", "8.0"), "mariadb105");
        assert.equal(clientPackage("mariadb", "10.11"), "mariadb105");
    });

    it("the MySQL SQL refuses names that are not plain identifiers", () => {
        assert.throws(() => mysqlBootstrapSql("app'; DROP USER root; --", "app"), /user .* must be letters, digits and _/);
        assert.throws(() => mysqlBootstrapSql("app_user", "app`x"), /database .* must be letters/);
    });

    it("the document embeds the script and the engine's SQL, passes the static checker and fits SSM's limit", () => {
        for (const engine of ["postgres", "mysql"] as const) {
            const content = dbBootstrapDocumentContent({
                engine, engineVersion: engine === "postgres" ? "16" : "8.0", host: "platform-dev.abc.us-east-1.rds.amazonaws.com", port: engine === "postgres" ? 5432 : 3306,
                database: "app", iamUser: "app_user", secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1234-abcdef", region: "us-east-1", script: readDbBootstrapScript(),
            });
            const lines = (content.mainSteps[0].inputs!.runCommand as string[]).join("\n");
            assert.ok(lines.includes(readDbBootstrapScript().trimEnd()));
            assert.ok(lines.includes((engine === "postgres" ? postgresBootstrapSql() : mysqlBootstrapSql("app_user", "app")).trimEnd()));
            assert.match(lines, new RegExp(`--client-package ${engine === "postgres" ? "postgresql16" : "mariadb105"}$`));
            assert.deepEqual(checkDocument(JSON.stringify(content)), []);
        }
    });
});
