#!/usr/bin/env node
'use strict';
// Run by the native launcher bin/tsoci (cpp/launcher), or directly: `node bin/loader.js …`.
// Loads the bundled CLI with V8's code cache (dist/tsoci.js.cache, made at build time):
// compiling the bundle is the largest part of tsoci's own start-up. A cache made by another
// Node version is rejected by V8; it is then rebuilt when dist/ is writable.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

const file = path.join(__dirname, '..', 'dist', 'tsoci.js');
// A warm pool's zygote runs V8 with other flags (src/warm/supervisor.ts), which a cache records:
// it has its own, saved once it has loaded everything, before it forks a worker (a worker
// must not write a cache at its exit).
const zygote = process.env.TSOCI_WARM_ROLE === 'zygote';
const cacheFile = zygote ? `${file}.zygote-cache` : `${file}.cache`;
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  /* no cache yet */
}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  const save = () => {
    const tmp = `${cacheFile}.${process.pid}`;
    try {
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  };
  if (zygote) globalThis[Symbol.for('tsoci.saveCodeCache')] = save;
  else process.once('exit', save);
}
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
