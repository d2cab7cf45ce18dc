/**
 * Require hook for the project's TypeScript (`node -r ./tools/register.js tools/plan.ts`, and
 * mocha's `require`): each `.ts` file is transpiled by TypeScript's own `transpileModule`, as
 * `ts-node --transpile-only` (and Pulumi's TypeScript support) does, and the result is kept on
 * disk, so that a start with nothing changed transpiles nothing.
 *
 * The cache can never run stale code: an entry is found by a hash of everything the output
 * depends on (the source text, the file's path, the TypeScript version, tsconfig.json and this
 * file), never by a timestamp. A changed source misses and is transpiled again; a syntax error
 * is thrown (with TypeScript's message) and nothing is cached.
 *
 * Plain JavaScript on purpose: it must run before anything can transpile TypeScript.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const PROJECT_DIR = path.resolve(__dirname, "..");
/**
 * The project's caches (this one, and the type-check's build info from tools/test.ts): under
 * node_modules/, so ignored by git and emptied by `npm ci`; PLATFORM_CACHE_DIR moves them.
 */
const CACHE_ROOT = process.env.PLATFORM_CACHE_DIR || path.join(PROJECT_DIR, "node_modules", ".cache");
const CACHE_DIR = path.join(CACHE_ROOT, "platform-ts");
/** The compiler settings: the project's (as ts-node and Pulumi read them), or PLATFORM_TS_CONFIG's. */
const TSCONFIG = path.resolve(process.env.PLATFORM_TS_CONFIG || path.join(PROJECT_DIR, "tsconfig.json"));
const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

let salt;
/** What every output depends on besides its own source: read once per process, without loading TypeScript. */
function cacheSalt() {
    if (salt === undefined) {
        const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json", { paths: [PROJECT_DIR] }), "utf8")).version;
        salt = [fs.readFileSync(__filename, "utf8"), tsVersion, fs.readFileSync(TSCONFIG, "utf8")].join("\0");
    }
    return salt;
}

let compiler;
/** TypeScript and the project's compiler options, loaded only on the first miss. */
function typescript() {
    if (!compiler) {
        const ts = require(require.resolve("typescript", { paths: [PROJECT_DIR] }));
        const parsed = ts.getParsedCommandLineOfConfigFile(TSCONFIG, {}, {
            ...ts.sys,
            onUnRecoverableConfigFileDiagnostic: (d) => {
                throw new Error(ts.formatDiagnostic(d, formatHost(ts)));
            },
        });
        // One JavaScript output per file and its source map, kept beside it rather than inline: an
        // inline map would double the text V8 scans at every start, for stack traces few runs print.
        const options = { ...parsed.options, sourceMap: true, inlineSourceMap: false, inlineSources: false, declaration: false, declarationMap: false, noEmit: false, composite: false, incremental: false };
        delete options.outDir;
        delete options.out;
        delete options.outFile;
        delete options.tsBuildInfoFile;
        compiler = { ts, options };
    }
    return compiler;
}

function formatHost(ts) {
    return { getCanonicalFileName: (f) => f, getCurrentDirectory: () => PROJECT_DIR, getNewLine: () => ts.sys.newLine };
}

/** Where the source map of each TypeScript file this process loaded is kept. */
const sourceMaps = new Map();

/**
 * The JavaScript for `source` (the text of `filename`) and the path of its source map, from the
 * cache or transpiled now.
 */
function transpile(source, filename) {
    const key = crypto.createHash("sha256").update(cacheSalt()).update("\0").update(filename).update("\0").update(source).digest("hex");
    const cached = path.join(CACHE_DIR, key.slice(0, 2), `${key.slice(2)}.js`);
    const map = `${cached}.map`;
    try {
        return { code: fs.readFileSync(cached, "utf8"), map };
    } catch {
        // not transpiled yet
    }
    const { ts, options } = typescript();
    const result = ts.transpileModule(source, { fileName: filename, compilerOptions: options, reportDiagnostics: true });
    const errors = (result.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) {
        const error = new Error(`Unable to compile TypeScript:\n${ts.formatDiagnostics(errors, formatHost(ts))}`);
        error.name = "TSError";
        throw error;
    }
    const code = result.outputText.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
    // Each file is written whole under another name, then renamed, the map first: a reader (another
    // mocha worker) finds either no entry or a complete one with its map.
    try {
        fs.mkdirSync(path.dirname(cached), { recursive: true });
        const suffix = `.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
        fs.writeFileSync(map + suffix, result.sourceMapText);
        fs.renameSync(map + suffix, map);
        fs.writeFileSync(cached + suffix, code);
        fs.renameSync(cached + suffix, cached);
        pruneOldEntries();
        return { code, map };
    } catch {
        // a read-only tree still runs, only without the cache
        return { code, map: undefined, mapText: result.sourceMapText };
    }
}

/**
 * Every edit adds an entry: once a day (on a miss, never on a warm start), entries written more
 * than 30 days ago go; one still in use is transpiled again once (tools/compileCache.js's prune,
 * which its own cache uses the same way).
 */
function pruneOldEntries() {
    require("./compileCache").prune(CACHE_DIR);
}

function install() {
    if (require.extensions[".ts"] && require.extensions[".ts"].platformRegister) return;
    // V8's code cache for every module this process loads, the SDKs included (tools/compileCache.js).
    require("./compileCache").install(path.join(CACHE_ROOT, "platform-v8"));
    const sourceMapSupport = require("@cspotcode/source-map-support");
    sourceMapSupport.install({
        environment: "node",
        // Stack traces and offline.ts's error positions name the TypeScript line; null lets the library look for any other file's map itself.
        retrieveSourceMap: (source) => {
            const map = sourceMaps.get(source.startsWith("file://") ? require("url").fileURLToPath(source) : source);
            if (!map) return null;
            try {
                return { url: source, map: typeof map === "string" ? fs.readFileSync(map, "utf8") : map.text };
            } catch {
                return null;
            }
        },
    });
    const loadTs = (module, filename) => {
        // As ts-node: a package's own files are not the project's to transpile.
        if (filename.includes(NODE_MODULES)) return require.extensions[".js"](module, filename);
        const output = transpile(fs.readFileSync(filename, "utf8"), filename);
        sourceMaps.set(filename, output.map ?? { text: output.mapText });
        module._compile(output.code, filename);
    };
    loadTs.platformRegister = true;
    require.extensions[".ts"] = loadTs;
}

install();

module.exports = { CACHE_ROOT, CACHE_DIR, transpile };
