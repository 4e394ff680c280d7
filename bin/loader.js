#!/usr/bin/env node
'use strict';
// Run by the native launcher bin/tsoci (cpp/launcher), or directly: `node bin/loader.js …`.
// Loads the bundled CLI with V8's code cache: compiling the bundle is the largest part of
// tsoci's own start-up. A cache made by another Node version is rejected by V8; it is then
// rebuilt when dist/ is writable.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const Module = require('module');

const file = path.join(__dirname, '..', 'dist', 'tsoci.js');
// One cache per command: a cache holds what the process that made it had compiled, and V8
// reads all of it at start, so a cache made by `list` lacks `run`'s functions (~10 ms to
// compile at each cold run) and one holding every command's would slow the short ones. A
// command without its own starts from the build's (dist/tsoci.js.cache, made by `list`) and,
// if dist/ is writable to it, saves its own at its first successful exit.
// A warm pool's zygote runs V8 with other flags (src/warm/supervisor.ts), which a cache records:
// it has its own, saved once it has loaded everything, before it forks a worker (a worker
// must not write a cache at its exit).
const COMMANDS = ['checkpoint', 'create', 'delete', 'events', 'exec', 'features', 'kill', 'list', 'pause', 'ps', 'restore', 'resume', 'run', 'spec', 'start', 'state', 'update'];
const zygote = process.env.TSOCI_WARM_ROLE === 'zygote';
const command = zygote ? 'zygote' : process.argv.slice(2).find((a) => COMMANDS.includes(a));
const generalCache = `${file}.cache`;
const ownCache = command ? `${file}.${command}-cache` : generalCache;
let cacheFile = ownCache;
let cachedData;
try {
  cachedData = fs.readFileSync(ownCache);
} catch {
  if (!zygote) {
    cacheFile = generalCache;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      /* no cache yet */
    }
  }
}
// the bundle is ASCII and already wrapped as a module function (scripts/bundle.mjs): read as
// latin1 it is one flat one-byte string that V8 compiles without a copy
const script = new vm.Script(fs.readFileSync(file, 'latin1'), { filename: file, cachedData });
const stale = cachedData === undefined || script.cachedDataRejected;
// the command's own cache when it had none (or a stale one), and the build's when it is stale
const targets = [];
if (cacheFile !== ownCache || stale) targets.push(ownCache);
if (stale && !zygote && ownCache !== generalCache) targets.push(generalCache);
if (targets.length > 0) {
  const save = (code) => {
    if (code) return; // a failed command may have run little of its code: the next one saves
    let data;
    for (const target of targets) {
      const tmp = `${target}.${process.pid}`;
      let fd;
      try {
        fd = fs.openSync(tmp, 'wx', 0o644); // first: not writable to us, nothing to serialise
        data ??= script.createCachedData();
        fs.writeSync(fd, data);
        fs.closeSync(fd);
        fs.renameSync(tmp, target);
      } catch {
        if (fd !== undefined) fs.rmSync(tmp, { force: true });
      }
    }
  };
  if (zygote) globalThis[Symbol.for('tsoci.saveCodeCache')] = save;
  else process.once('exit', save);
}
const mod = new Module(file, module);
mod.filename = file;
mod.paths = Module._nodeModulePaths(path.dirname(file));
script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
