/**
 * tools/register.js, the require hook that runs the project's TypeScript (npm run plan/ops/...,
 * mocha): TypeScript's own transpiler with a cache on disk. The cache must never run stale
 * code, whatever the timestamps say; a start with nothing changed must not load TypeScript;
 * errors must still point at the TypeScript line; a syntax error must fail and cache nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_DIR } from "../tools/offline";
import { cleanEnv, runProcess } from "./support/processes";
import { tempDir } from "./support/tmp";

const REGISTER = path.join(PROJECT_DIR, "tools", "register.js");

/** Whether the process loaded TypeScript (printed by the scripts below as their last line). */
const REPORT_TS = `console.log("typescript loaded: " + Object.keys(require.cache).some((k) => k.includes("/node_modules/typescript/")));`;

function cacheEntries(cacheDir: string): string[] {
    if (!fs.existsSync(cacheDir)) return [];
    return fs.readdirSync(cacheDir, { recursive: true }).map(String).filter((f) => f.endsWith(".js")).sort();
}

describe("tools/register.js: the project's TypeScript, transpiled once and cached by content", function () {
    this.timeout(120_000);
    let dir: string;
    let cacheRoot: string;
    let cacheDir: string;
    let file: string;
    const run = (target = file) => runProcess(process.execPath, ["-r", REGISTER, target], { env: cleanEnv({ PLATFORM_CACHE_DIR: cacheRoot }) });

    beforeEach(() => {
        dir = tempDir("register-");
        cacheRoot = path.join(dir, "cache");
        cacheDir = path.join(cacheRoot, "platform-ts");
        file = path.join(dir, "program.ts");
    });

    it("runs the file's current text: an edit that keeps the size and the timestamps still runs the new code", async () => {
        const write = (value: string) => {
            fs.writeFileSync(file, `const answer: string = "${value}";\nconsole.log(answer);\n${REPORT_TS}\n`);
            fs.utimesSync(file, new Date(2020, 0, 1), new Date(2020, 0, 1));
        };
        write("one");
        const first = await run();
        assert.equal(first.stdout, "one\ntypescript loaded: true\n", first.stderr);
        assert.equal(cacheEntries(cacheDir).length, 1);

        write("two"); // same length, same mtime: only the content tells
        const edited = await run();
        assert.equal(edited.stdout, "two\ntypescript loaded: true\n", edited.stderr);
        assert.equal(cacheEntries(cacheDir).length, 2);
    });

    it("transpiles nothing on a start where nothing changed: TypeScript is not even loaded", async () => {
        fs.writeFileSync(file, `import * as os from "os";\nconst n: number = os.EOL.length;\nconsole.log(n);\n${REPORT_TS}\n`);
        const cold = await run();
        assert.equal(cold.stdout, "1\ntypescript loaded: true\n", cold.stderr);
        const entries = cacheEntries(cacheDir);
        const warm = await run();
        assert.equal(warm.stdout, "1\ntypescript loaded: false\n", warm.stderr);
        assert.deepEqual(cacheEntries(cacheDir), entries);
    });

    it("a thrown error's stack names the TypeScript line, on a cold and on a warm start", async () => {
        // Type-only lines before the throw: the JavaScript line differs from the TypeScript one.
        fs.writeFileSync(file, ["interface Unused {", "    a: string;", "    b: number;", "}", "type Alias = Unused;", "function fail(): never {", '    throw new Error("from line 7");', "}", "fail();", ""].join("\n"));
        for (const start of ["cold", "warm"]) {
            const result = await run();
            assert.notEqual(result.code, 0, start);
            assert.match(result.stderr, /Error: from line 7/, start);
            assert.match(result.stderr, /program\.ts:7:11/, `${start}: the TypeScript position\n${result.stderr}`);
        }
    });

    it("a syntax error fails with TypeScript's message and position, and is not cached", async () => {
        fs.writeFileSync(file, "const ok = 1;\nconst broken = (;\n");
        for (let attempt = 0; attempt < 2; attempt++) {
            const result = await run();
            assert.notEqual(result.code, 0);
            assert.match(result.stderr, /Unable to compile TypeScript:\n.*program\.ts\(2,\d+\): error TS\d+: Expression expected/);
            assert.deepEqual(cacheEntries(cacheDir), []);
        }
    });

    it("two processes starting cold at once both run, and leave one complete entry", async () => {
        fs.writeFileSync(file, 'const message: string = "ran";\nconsole.log(message);\n');
        const both = await Promise.all([run(), run()]);
        for (const result of both) assert.equal(result.stdout, "ran\n", result.stderr);
        const entries = cacheEntries(cacheDir);
        assert.equal(entries.length, 1);
        assert.equal(fs.readdirSync(path.join(cacheDir, path.dirname(entries[0]))).filter((f) => !f.endsWith(".js") && !f.endsWith(".js.map")).length, 0, "no partial file left");
    });

    it("keys the cache on the compiler settings: a tsconfig.json change (timestamps kept) runs newly transpiled code", async () => {
        const tsconfig = path.join(dir, "tsconfig.json");
        const configure = (target: string) => {
            fs.writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { target, module: "commonjs", strict: true } }));
            fs.utimesSync(tsconfig, new Date(2020, 0, 1), new Date(2020, 0, 1));
        };
        // Down-levelled to ES5, a class becomes a function: the output shows which settings made it.
        fs.writeFileSync(file, "class Point {}\nconsole.log(String(Point).split(/\\s/)[0]);\n");
        const runWith = () => runProcess(process.execPath, ["-r", REGISTER, file], { env: cleanEnv({ PLATFORM_CACHE_DIR: cacheRoot, PLATFORM_TS_CONFIG: tsconfig }) });
        configure("ES2022");
        assert.equal((await runWith()).stdout, "class\n");
        configure("ES5");
        const after = await runWith();
        assert.equal(after.stdout, "function\n", after.stderr);
        assert.equal(cacheEntries(cacheDir).length, 2);
    });
});
