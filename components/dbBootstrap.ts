/**
 * The database user for IAM authentication, as pure functions: the SQL per engine, the
 * Amazon Linux 2023 client package, and the db-bootstrap Command document that runs
 * `components/ssm/db-bootstrap.sh` with that SQL on one web instance.
 *
 * RDS IAM authentication ("Creating a database account using IAM authentication", RDS User
 * Guide): PostgreSQL needs a user granted the `rds_iam` role; MySQL and MariaDB a user
 * `IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`. Such a user connects with a token from
 * `rds-db:connect` (the Database component grants it to the app role) and must use TLS.
 */
import * as fs from "fs";
import * as path from "path";
import type { SsmDocumentContent } from "./ssmDocument";

export type BootstrapEngine = "postgres" | "mysql" | "mariadb";

/** Where the document puts the script and the SQL on the instance. */
export const DB_BOOTSTRAP_DIR = "/usr/local/lib/platform-db";
export const DB_BOOTSTRAP_HEREDOC_TERMINATOR = "PLATFORM_DB_EOF";

/** Exit codes of db-bootstrap.sh (components/ssm/README.md). */
export const DB_BOOTSTRAP_EXIT_CODES: Record<number, string> = {
    0: "done",
    1: "unexpected error",
    2: "bad arguments",
    3: "the database client could not be installed",
    4: "the RDS certificate bundle could not be fetched",
    5: "the master secret could not be read",
    6: "the SQL failed (connection, TLS, authentication or a statement)",
};

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/**
 * The Amazon Linux 2023 package with the engine's command-line client: `postgresql15` /
 * `postgresql16` (psql; a newer psql talks to older servers, so 13-15 use 15 and 16-17 use 16)
 * and `mariadb105` (the `mariadb` client, for MySQL and MariaDB alike).
 */
export function clientPackage(engine: BootstrapEngine, engineVersion: string): string {
    if (engine !== "postgres") return "mariadb105";
    return Number(engineVersion.split(".")[0]) >= 16 ? "postgresql16" : "postgresql15";
}

/**
 * PostgreSQL, run by psql with the variables `iam_user` and `db` (quoted by psql and format's
 * %I, so the names never become SQL). Each statement is idempotent: CREATE USER only when the
 * role is missing; GRANT of a granted privilege or role changes nothing.
 */
export function postgresBootstrapSql(): string {
    return [
        "-- platform db-bootstrap (components/dbBootstrap.ts): the IAM-authenticated app user. Idempotent.",
        "SELECT format('CREATE USER %I', :'iam_user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'iam_user') \\gexec",
        // rds_iam: the role RDS checks for IAM authentication (a password login stays impossible).
        "SELECT format('GRANT rds_iam TO %I', :'iam_user') \\gexec",
        "SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'iam_user') \\gexec",
        // PostgreSQL 15+ no longer lets every user create in public: the app (and its migrations) may.
        "SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'iam_user') \\gexec",
        "SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public TO %I', :'iam_user') \\gexec",
        "SELECT format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO %I', :'iam_user') \\gexec",
        // Tables the master user creates later (restores, admin migrations) are the app's too.
        "SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON TABLES TO %I', :'iam_user') \\gexec",
        "SELECT format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO %I', :'iam_user') \\gexec",
        "",
    ].join("\n");
}

/** The privileges the app user gets on its database (MySQL / MariaDB): data and schema changes, no administration. */
export const MYSQL_APP_PRIVILEGES = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES",
    "CREATE TEMPORARY TABLES", "LOCK TABLES", "EXECUTE", "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE", "ALTER ROUTINE", "TRIGGER", "EVENT",
] as const;

/** The authentication clause RDS documents for IAM database users on MySQL and MariaDB. */
export const AWS_AUTHENTICATION_CLAUSE = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'";

/**
 * MySQL and MariaDB (the names are checked: letters, digits and `_` only, so quoting them as
 * 'name' and `name` is safe). Idempotent: CREATE USER IF NOT EXISTS, then ALTER USER ...
 * REQUIRE SSL for a user that existed before (an IAM token must travel over TLS), then GRANT.
 */
export function mysqlBootstrapSql(iamUser: string, database: string): string {
    for (const [what, value] of [["user", iamUser], ["database", database]]) {
        if (!NAME.test(value)) throw new Error(`db-bootstrap: ${what} "${value}" must be letters, digits and _ (starting with a letter)`);
    }
    const account = `'${iamUser}'@'%'`;
    return [
        "-- platform db-bootstrap (components/dbBootstrap.ts): the IAM-authenticated app user. Idempotent.",
        `CREATE USER IF NOT EXISTS ${account} ${AWS_AUTHENTICATION_CLAUSE} REQUIRE SSL;`,
        `ALTER USER ${account} REQUIRE SSL;`,
        `GRANT ${MYSQL_APP_PRIVILEGES.join(", ")} ON \`${database}\`.* TO ${account};`,
        "",
    ].join("\n");
}

export function bootstrapSql(engine: BootstrapEngine, iamUser: string, database: string): string {
    return engine === "postgres" ? postgresBootstrapSql() : mysqlBootstrapSql(iamUser, database);
}

export function readDbBootstrapScript(): string {
    const text = fs.readFileSync(path.join(__dirname, "ssm", "db-bootstrap.sh"), "utf8");
    if (text.includes("{{")) throw new Error("components/ssm/db-bootstrap.sh must not contain '{{' (SSM would treat it as a parameter reference)");
    return text;
}

export interface DbBootstrapDocumentOptions {
    engine: BootstrapEngine;
    engineVersion: string;
    host: string;
    port: number;
    database: string;
    iamUser: string;
    secretArn: string;
    region: string;
    script: string;
}

function heredoc(target: string, text: string): string[] {
    if (text.split("\n").includes(DB_BOOTSTRAP_HEREDOC_TERMINATOR) || text.includes("{{")) throw new Error(`db-bootstrap: ${target} cannot be embedded`);
    return [`cat > ${target} <<'${DB_BOOTSTRAP_HEREDOC_TERMINATOR}'`, ...text.replace(/\n$/, "").split("\n"), DB_BOOTSTRAP_HEREDOC_TERMINATOR];
}

/** The db-bootstrap Command document (pure: exported for tests). Everything comes from the stack: no parameters. */
export function dbBootstrapDocumentContent(o: DbBootstrapDocumentOptions): SsmDocumentContent {
    const sql = bootstrapSql(o.engine, o.iamUser, o.database);
    return {
        schemaVersion: "2.2",
        description: `platform: create the IAM-authenticated database user ${o.iamUser} on ${o.engine} ${o.host} (components/ssm/db-bootstrap.sh; idempotent). Exit codes: 0 done, 3 client, 4 CA bundle, 5 secret, 6 SQL.`,
        mainSteps: [
            {
                action: "aws:runShellScript",
                name: "bootstrap",
                precondition: { StringEquals: ["platformType", "Linux"] },
                inputs: {
                    timeoutSeconds: 600,
                    runCommand: [
                        "set -eu",
                        "umask 077",
                        `mkdir -p ${DB_BOOTSTRAP_DIR}`,
                        ...heredoc(`${DB_BOOTSTRAP_DIR}/db-bootstrap.sh`, o.script),
                        ...heredoc(`${DB_BOOTSTRAP_DIR}/bootstrap.sql`, sql),
                        `exec bash ${DB_BOOTSTRAP_DIR}/db-bootstrap.sh --engine ${o.engine} --host '${o.host}' --port ${o.port} --database '${o.database}' --user '${o.iamUser}' --secret-arn '${o.secretArn}' --region ${o.region} --sql ${DB_BOOTSTRAP_DIR}/bootstrap.sql --client-package ${clientPackage(o.engine, o.engineVersion)}`,
                    ],
                },
            },
        ],
    };
}
