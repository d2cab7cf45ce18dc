/**
 * tools/register.js, the require hook that runs the project's TypeScript (npm run plan/ops/...,
 * mocha): TypeScript's own transpiler with a cache on disk. The cache must never run stale
 * code, whatever the timestamps say; a start with nothing changed must not load TypeScript;
 * errors must still point at the TypeScript line; a syntax error must fail and cache nothing.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
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

describe("tools/compileCache.js: V8's code cache, by content, for every module a start loads", function () {
    this.timeout(120_000);
    let dir: string;
    let cacheRoot: string;
    let v8Dir: string;
    // The cache on, whatever this run's environment says (PLATFORM_COMPILE_CACHE=off npm test).
    const run = (target: string, env: NodeJS.ProcessEnv = {}) => runProcess(process.execPath, ["-r", REGISTER, target], { env: cleanEnv({ PLATFORM_CACHE_DIR: cacheRoot, PLATFORM_COMPILE_CACHE: undefined, ...env }) });
    const entries = () => (fs.existsSync(v8Dir) ? fs.readdirSync(v8Dir, { recursive: true }).map(String).filter((f) => f.includes(path.sep)).sort() : []);

    beforeEach(() => {
        dir = tempDir("compile-cache-");
        cacheRoot = path.join(dir, "cache");
        v8Dir = path.join(cacheRoot, "platform-v8");
    });

    it("runs a module's current text: an edit of the same length and timestamps misses the cache (V8's own check is only the length)", async () => {
        const lib = path.join(dir, "lib.js");
        const main = path.join(dir, "main.js");
        fs.writeFileSync(main, 'console.log(require("./lib").value());\n');
        const write = (value: string) => {
            fs.writeFileSync(lib, `exports.value = function () { return "${value}"; };\n`);
            fs.utimesSync(lib, new Date(2020, 0, 1), new Date(2020, 0, 1));
        };
        write("one");
        assert.equal((await run(main)).stdout, "one\n");
        const first = entries();
        assert.ok(first.length >= 2, `the modules' data is written at exit: ${first.join(", ")}`);
        assert.equal((await run(main)).stdout, "one\n");
        assert.deepEqual(entries(), first, "a start with nothing changed writes nothing");
        write("two");
        assert.equal((await run(main)).stdout, "two\n");
        assert.equal(entries().length, first.length + 1);
    });

    it("a module sees what Node's loader gives it: require and its resolve, module, __filename, __dirname, this, a #! line, dynamic import()", async () => {
        const main = path.join(dir, "main.js");
        fs.writeFileSync(path.join(dir, "esm.mjs"), "export const esm = 'esm';\n");
        fs.writeFileSync(
            main,
            [
                "#!/usr/bin/env node",
                "const seen = {",
                "  self: this === module.exports, file: __filename === module.filename, dir: __dirname === require('path').dirname(__filename),",
                "  resolve: require.resolve('./esm.mjs') === require('path').join(__dirname, 'esm.mjs'), paths: Array.isArray(require.resolve.paths('x')),",
                "  main: require.main === module, cache: require.cache[__filename] === module, os: require('os').EOL,",
                "};",
                "import('./esm.mjs').then((m) => console.log(JSON.stringify({ ...seen, esm: m.esm })));",
                "",
            ].join("\n"),
        );
        const want = { self: true, file: true, dir: true, resolve: true, paths: true, main: true, cache: true, os: "\n", esm: "esm" };
        for (const env of [{}, {}, { PLATFORM_COMPILE_CACHE: "off" }]) {
            const r = await run(main, env);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), want, JSON.stringify(env));
        }
    });

    it("require() of ES modules still goes to Node's ES loader (a .mjs, a type:module package, export syntax), and --enable-source-maps still finds a module's map", async () => {
        const pkg = path.join(dir, "esm-pkg");
        fs.mkdirSync(pkg);
        fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ type: "module", main: "index.js" }));
        fs.writeFileSync(path.join(pkg, "index.js"), "export const typed = 'type-module';\n");
        fs.writeFileSync(path.join(dir, "plain.mjs"), "export const mjs = 'mjs';\n");
        fs.writeFileSync(path.join(dir, "detected.js"), "export const detected = 'detected';\n");
        const main = path.join(dir, "main.js");
        fs.writeFileSync(main, "const out = [];\nfor (const m of ['./esm-pkg', './plain.mjs', './detected.js']) {\n  try { out.push(Object.values(require(m))[0]); } catch (e) { out.push(e.code || e.name); }\n}\nconsole.log(out.join(' '));\n");
        const plain = await run(main, { PLATFORM_COMPILE_CACHE: "off" });
        for (const start of ["cold", "warm"]) {
            const cached = await run(main);
            assert.equal(cached.stdout, plain.stdout, `${start}: with the cache as without it\n${cached.stderr}`);
        }
        // A module with a map, loaded under --enable-source-maps: Node itself records the map.
        const mapped = path.join(dir, "mapped.js");
        fs.writeFileSync(mapped, "exports.x = 1;\n//# sourceMappingURL=mapped.js.map\n");
        fs.writeFileSync(`${mapped}.map`, JSON.stringify({ version: 3, sources: ["mapped.ts"], names: [], mappings: "AAAA" }));
        const finder = path.join(dir, "finder.js");
        fs.writeFileSync(finder, "require('./mapped');\nconsole.log(!!require('module').findSourceMap(require.resolve('./mapped')));\n");
        const withMaps = await runProcess(process.execPath, ["--enable-source-maps", "-r", REGISTER, finder], { env: cleanEnv({ PLATFORM_CACHE_DIR: cacheRoot, PLATFORM_COMPILE_CACHE: undefined }) });
        assert.equal(withMaps.stdout, "true\n", withMaps.stderr);
    });

    it("leaves to Node every module that may call import(), and only those: an import( in a string or comment of its own line is not a call", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { mayImport } = require("../tools/compileCache") as { mayImport: (text: string) => boolean };
        const calls = ["import('x')", "await import ('x')", "f(a / 2, import('x'))", "/'/.test(s) && import('x')", "`${await import('x')}`", "const s = 'a';\n  import('x')", " * import('x') in a multi-line comment counts as code"];
        const mentions = ["'import(x)'", '"no import() here"', "`import(${q}x${q})`", "// import('x')", "/* import('x') */ f()", "diag(1, /* Error */ \"'import()' calls\")", "exports.important = 1; ximport('x')"];
        for (const text of calls) assert.equal(mayImport(text), true, text);
        for (const text of mentions) assert.equal(mayImport(text), false, text);
    });

    it("a damaged entry is rejected by V8 and written again; the module runs either way", async () => {
        const main = path.join(dir, "main.js");
        fs.writeFileSync(main, "console.log([1, 2, 3].map((n) => n * 2).join(','));\n");
        assert.equal((await run(main)).stdout, "2,4,6\n");
        const [entry] = entries().filter((e) => fs.statSync(path.join(v8Dir, e)).size > 0);
        const file = path.join(v8Dir, entry);
        const good = fs.readFileSync(file);
        fs.writeFileSync(file, Buffer.alloc(good.length, 0x5a));
        const r = await run(main);
        assert.equal(r.stdout, "2,4,6\n", r.stderr);
        assert.notDeepEqual(fs.readFileSync(file), Buffer.alloc(good.length, 0x5a), "the rejected entry was replaced");
    });

    it("a process that runs on takes a script's data after a few major GCs (before V8 flushes the bytecode it no longer runs), and keeps an entry another start wrote meanwhile", async () => {
        const lib = path.join(dir, "lib.js");
        fs.writeFileSync(lib, "exports.double = (n) => n * 2;\n");
        // A long-running start: loads the module, says so, then runs a major GC for each line it reads, and never exits by itself.
        const long = path.join(dir, "long.js");
        fs.writeFileSync(
            long,
            [
                `console.log(require(${JSON.stringify(lib)}).double(21));`,
                "require('v8').setFlagsFromString('--expose-gc');",
                "const gc = require('vm').runInNewContext('gc');",
                "process.stdin.on('data', () => { gc(); console.log('gc'); });",
                "",
            ].join("\n"),
        );
        const child = spawn(process.execPath, ["-r", REGISTER, long], { env: cleanEnv({ PLATFORM_CACHE_DIR: cacheRoot, PLATFORM_COMPILE_CACHE: undefined }), stdio: ["pipe", "pipe", "pipe"] });
        const lines: string[] = [];
        child.stdout!.on("data", (d) => lines.push(...String(d).split("\n").filter(Boolean)));
        const exited = new Promise((resolve) => child.once("exit", resolve));
        const until = async (what: string, done: () => boolean) => {
            const deadline = Date.now() + 20_000;
            while (!done()) {
                const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
                if (gone || Date.now() > deadline) assert.fail(`${what}: ${gone ? "the long start exited" : "timed out"} (${lines.join(" ")})`);
            }
        };
        try {
            await until("the long start loads the module", () => lines.includes("42"));
            // Another start of the same module meanwhile: it exits and writes the module's entry.
            const short = path.join(dir, "short.js");
            fs.writeFileSync(short, `console.log(require(${JSON.stringify(lib)}).double(2));\n`);
            assert.equal((await run(short)).stdout, "4\n");
            // The entries as the short start left them (a file written again is a new inode: temp file and rename).
            const written = new Map(entries().map((e) => [e, fs.statSync(path.join(v8Dir, e)).ino]));
            assert.ok(written.size >= 2, "short.js and lib.js (and the loader's own modules)");
            // Two major GCs: nothing is due yet.
            for (let i = 1; i <= 2; i++) {
                child.stdin!.write("gc\n");
                await until(`major GC ${i}`, () => lines.filter((l) => l === "gc").length === i);
            }
            await new Promise((r) => setTimeout(r, 200));
            assert.equal(entries().length, written.size, "written before its third major GC");
            // The third: long.js's entry is written, before the process exits; the others are left as they were.
            child.stdin!.write("gc\n");
            await until("long.js's entry", () => entries().length > written.size);
            assert.equal(entries().length, written.size + 1);
            for (const [entry, ino] of written) assert.equal(fs.statSync(path.join(v8Dir, entry)).ino, ino, `${entry} was written again`);
        } finally {
            child.kill("SIGKILL");
        }
    });

    it("PLATFORM_COMPILE_CACHE=off writes nothing", async () => {
        const main = path.join(dir, "main.js");
        fs.writeFileSync(main, "console.log('off');\n");
        assert.equal((await run(main, { PLATFORM_COMPILE_CACHE: "off" })).stdout, "off\n");
        assert.deepEqual(entries(), []);
    });
});
