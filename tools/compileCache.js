/**
 * V8's code cache for every CommonJS module a start of the project's tools loads (the SDKs in
 * node_modules and the project's transpiled TypeScript): V8 then deserializes each module's
 * compiled code instead of parsing and compiling its text again. Node 22 has this built in
 * (module.enableCompileCache); this is the same idea for Node 20, installed by tools/register.js.
 *
 * Each entry is found by a hash of the module's path, its exact text, the Node version and
 * architecture and V8's flags, so a changed file can never run code compiled from its old text;
 * V8 checks the data against the source again and rejects what does not fit, and a rejected
 * entry is simply compiled and written anew. An entry is written whole under another name, then
 * renamed, so a reader (another mocha worker) finds none or a complete one. The data is taken
 * after the process ran (script.createCachedData at exit, or, in a process that runs longer,
 * after WRITE_AFTER_MAJOR_GCS major GCs, before V8 flushes bytecode), so it holds the functions
 * that run needed and not only the top-level code; an entry another start wrote meanwhile is
 * kept; a process that never exits normally writes only what was due before.
 *
 * A module is compiled with Node's wrapper and `require` as Node's loader builds them. Left to
 * Node, uncached: modules that may call import() (mayImport) or are ES modules (format `module`,
 * `.mjs`, or text that does not compile as CommonJS), everything while Node keeps
 * source maps (--enable-source-maps), and the whole process under --inspect-brk or a policy.
 * What still differs from Node's own loader: an error thrown in the first line of a module
 * reports a column shifted by the wrapper's length (a minified one-line file is all first line);
 * code that a cached module evaluates (eval, new Function) cannot import(); the loader's
 * stat cache for one require tree and require.resolve's argument check are not used.
 * A worker killed before it exits writes only the entries that were due: the next start writes the rest.
 *
 * PLATFORM_COMPILE_CACHE=off turns it off (tests/register.test.ts compares both).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
const { PerformanceObserver, constants: perfConstants } = require("perf_hooks");
const v8 = require("v8");
const vm = require("vm");

const DYNAMIC_IMPORT = /\bimport\s*\(/g;
/**
 * After how many major GCs since its compile a script's data is taken, in a process that has not
 * exited by then. Node 20's V8 flushes a function's bytecode once it has gone unused through
 * --bytecode-old-age (5) major GCs, a module's top-level code among them (it runs once); data
 * taken after that holds next to nothing, and an entry V8 accepts is never written again.
 */
const WRITE_AFTER_MAJOR_GCS = 3;
/** Entries of an earlier way of writing them, some of them taken after the flush, are not reused. */
const FORMAT = "2";

/**
 * Whether `content` may call import(): some `import(` is not plainly inside a string or a comment
 * of its own line. Erring on Node's side: a `/` that could start a regular expression makes the
 * rest of the line count as code, and so does a line inside a multi-line comment or template.
 * (TypeScript's compiler, 9 MB, mentions `import(` only in its messages and comments.)
 */
function mayImport(content) {
    DYNAMIC_IMPORT.lastIndex = 0;
    let match;
    while ((match = DYNAMIC_IMPORT.exec(content)) !== null) {
        const lineStart = content.lastIndexOf("\n", match.index) + 1;
        if (isCode(content, lineStart, match.index)) return true;
    }
    return false;
}

/** Whether position `at` is code, scanning its line from `i`: not in a string or comment that starts on the line. */
function isCode(text, i, at) {
    while (i < at) {
        const c = text[i];
        if (c === '"' || c === "'" || c === "`") {
            let j = i + 1;
            while (j < at && text[j] !== c && text[j] !== "\n") {
                if (c === "`" && text[j] === "$" && text[j + 1] === "{") return true; // code inside a template: no telling
                j += text[j] === "\\" ? 2 : 1;
            }
            if (j >= at) return false; // `at` is inside this string
            i = j + 1;
        } else if (c === "/" && text[i + 1] === "/") {
            return false; // a line comment
        } else if (c === "/" && text[i + 1] === "*") {
            const end = text.indexOf("*/", i + 2);
            if (end === -1 || end >= at) return false; // inside this comment
            i = end + 2;
        } else if (c === "/") {
            return true; // a division or a regular expression: no telling, so code
        } else {
            i++;
        }
    }
    return true;
}
/** Options under which Node's loader does more than compile (pause on the first line, check a policy). */
const LOADER_OPTIONS = /--inspect-brk|--experimental-policy|--experimental-permission/;

const PRUNE_AFTER_MS = 30 * 24 * 3600 * 1000;

/**
 * Once a day (the `pruned` marker in `dir`), the entries in `dir`'s subdirectories written more
 * than 30 days ago go; one still in use is written again once. For this cache (at a start's first
 * write) and tools/register.js's transpile cache (on a miss).
 */
function prune(dir) {
    const marker = path.join(dir, "pruned");
    const now = Date.now();
    try {
        if (now - fs.statSync(marker).mtimeMs < 24 * 3600 * 1000) return;
    } catch {
        // never pruned
    }
    try {
        fs.writeFileSync(marker, "");
        for (const sub of fs.readdirSync(dir)) {
            const subDir = path.join(dir, sub);
            if (!fs.statSync(subDir).isDirectory()) continue;
            for (const file of fs.readdirSync(subDir)) {
                const entry = path.join(subDir, file);
                if (now - fs.statSync(entry).mtimeMs > PRUNE_AFTER_MS) fs.rmSync(entry, { force: true });
            }
        }
    } catch {
        // another process pruned at the same time
    }
}

function install(dir) {
    if (process.env.PLATFORM_COMPILE_CACHE === "off" || Module.prototype._compile.platformCompileCache) return;
    if (LOADER_OPTIONS.test(`${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`)) return;
    // V8 itself checks its version and flags against the data (cachedDataVersionTag); the rest is belt and braces.
    const salt = [FORMAT, process.version, process.arch, v8.cachedDataVersionTag()].join("\0");
    /** Scripts compiled without usable data: their data is written at exit, or after WRITE_AFTER_MAJOR_GCS. */
    const toWrite = [];
    let pruned = false;
    /** Writes one script's data, unless another start wrote a usable entry meanwhile. */
    const write = ({ script, entry, rejected }) => {
        try {
            if (!rejected && fs.existsSync(entry)) return;
            if (!pruned) {
                pruned = true;
                prune(dir);
            }
            fs.mkdirSync(path.dirname(entry), { recursive: true });
            const temporary = `${entry}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
            fs.writeFileSync(temporary, script.createCachedData());
            fs.renameSync(temporary, entry);
        } catch {
            // a read-only cache: the next start compiles again
        }
    };
    // A long-running process (a mocha worker, two minutes and many major GCs) takes each script's
    // data before V8 flushes what it compiled: at its exit it held 312 bytes for a module whose
    // data from a plan is 146 KB. A short one (a plan: a major GC or two) still writes at exit.
    let majorGcs = 0;
    let observer;
    const writeDue = () => {
        for (let i = 0; i < toWrite.length; ) {
            if (majorGcs - toWrite[i].majorGcs >= WRITE_AFTER_MAJOR_GCS) write(toWrite.splice(i, 1)[0]);
            else i++;
        }
    };
    const watchGcs = () => {
        if (observer) return;
        observer = new PerformanceObserver((list) => {
            const majors = list.getEntries().filter((e) => e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR).length;
            if (majors === 0) return;
            majorGcs += majors;
            writeDue();
        });
        observer.observe({ entryTypes: ["gc"] });
    };

    const original = Module.prototype._compile;
    const compile = function (content, filename, format) {
        // Left to Node itself, uncached: a module that may import() (Node 20 gives a vm.Script no
        // way to reach its default loader: USE_MAIN_CONTEXT_DEFAULT_LOADER fails at the call, and
        // a callback of our own needs --experimental-vm-modules); one Node loads as an ES module;
        // any module while Node keeps source maps itself (--enable-source-maps: module.findSourceMap).
        if (format === "module" || filename.endsWith(".mjs") || process.sourceMapsEnabled || mayImport(content)) {
            return original.apply(this, arguments);
        }
        const key = crypto.createHash("sha256").update(salt).update("\0").update(filename).update("\0").update(content).digest("hex");
        const entry = path.join(dir, key.slice(0, 2), key.slice(2));
        let cachedData;
        try {
            cachedData = fs.readFileSync(entry);
        } catch {
            // first start with this text
        }
        // Node's loader strips a #! line the same way (it becomes an empty line).
        const body = content.startsWith("#!") ? content.replace(/^#![^\r\n]*/, "") : content;
        let script;
        try {
            script = new vm.Script(Module.wrap(body), { filename, cachedData });
        } catch (err) {
            // Not CommonJS as written (an ES module Node 20 would detect), or a real syntax
            // error: Node's loader decides, and reports it as it would.
            if (err instanceof SyntaxError) return original.apply(this, arguments);
            throw err;
        }
        if (cachedData === undefined || script.cachedDataRejected) {
            toWrite.push({ script, entry, rejected: cachedData !== undefined, majorGcs });
            watchGcs();
        }
        const wrapper = script.runInThisContext({ displayErrors: true });
        const mod = this;
        // As Node's makeRequireFunction.
        const require = function require(id) {
            return mod.require(id);
        };
        require.resolve = function resolve(request, options) {
            return Module._resolveFilename(request, mod, false, options);
        };
        require.resolve.paths = function paths(request) {
            return Module._resolveLookupPaths(request, mod);
        };
        require.main = process.mainModule;
        require.extensions = Module._extensions;
        require.cache = Module._cache;
        return wrapper.call(mod.exports, mod.exports, require, mod, filename, path.dirname(filename));
    };
    compile.platformCompileCache = true;
    Module.prototype._compile = compile;

    process.once("exit", () => {
        for (const item of toWrite.splice(0)) write(item);
    });
}

module.exports = { install, prune, mayImport };
