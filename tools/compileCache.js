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
 * after the process ran (script.createCachedData at exit), so it holds the functions that run
 * needed and not only the top-level code; a process that never exits normally writes nothing.
 *
 * The module is compiled as Node's own loader compiles it, with the same wrapper and `require`;
 * a module whose text may call import() is left to Node (see DYNAMIC_IMPORT). What differs: an
 * error thrown in the first line of a module reports a column shifted by the wrapper's length.
 *
 * PLATFORM_COMPILE_CACHE=off turns it off (tests/register.test.ts compares both).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
const v8 = require("v8");
const vm = require("vm");

/** Anything that could be an import() call (comments and strings included: erring on Node's side). */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

function install(dir) {
    if (process.env.PLATFORM_COMPILE_CACHE === "off" || Module.prototype._compile.platformCompileCache) return;
    // V8 itself checks its version and flags against the data (cachedDataVersionTag); the rest is belt and braces.
    const salt = [process.version, process.arch, v8.cachedDataVersionTag()].join("\0");
    /** Scripts compiled without usable data: their data is written at exit. */
    const toWrite = [];

    const original = Module.prototype._compile;
    const compile = function (content, filename) {
        // Node 20 gives a vm.Script no way to reach its default loader for import() (the
        // USE_MAIN_CONTEXT_DEFAULT_LOADER option fails at the call), so a module that might
        // import() is compiled by Node itself, uncached.
        if (DYNAMIC_IMPORT.test(content)) return original.apply(this, arguments);
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
        const script = new vm.Script(Module.wrap(body), { filename, cachedData });
        if (cachedData === undefined || script.cachedDataRejected) toWrite.push({ script, entry });
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
        for (const { script, entry } of toWrite) {
            try {
                fs.mkdirSync(path.dirname(entry), { recursive: true });
                const temporary = `${entry}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
                fs.writeFileSync(temporary, script.createCachedData());
                fs.renameSync(temporary, entry);
            } catch {
                // a read-only cache: the next start compiles again
            }
        }
    });
}

module.exports = { install };
