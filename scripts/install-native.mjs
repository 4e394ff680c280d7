// npm's install step of the published package: builds the native parts (the addon,
// tsoci-init and the launcher bin/tsoci) with cmake-js for this host and its Node, then warms
// the bundle's V8 code cache. Missing build tools are named in one error line first, so a
// failed install says what to install instead of a compiler's wall of text.
// In a development checkout (a git tree) it does nothing: `npm run build` builds there.
import { spawnSync } from 'child_process';
import { existsSync } from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { remakeCodeCaches } from './code-cache.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const checkOnly = process.argv.includes('--check-only');
if (!checkOnly && existsSync(path.join(root, '.git'))) process.exit(0);

function onPath(cmd) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, cmd)));
}

function hasHeader(rel) {
  const dirs = [...(process.env.CPATH ?? '').split(':'), '/usr/local/include', '/usr/include'];
  const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim();
  if (multiarch) dirs.push(`/usr/include/${multiarch}`);
  return dirs.some((dir) => dir && existsSync(path.join(dir, rel)));
}

const missing = [];
if (!onPath('cmake')) missing.push('cmake (Debian: cmake)');
if (!['c++', 'g++', 'clang++'].some(onPath)) missing.push('a C++17 compiler (Debian: build-essential)');
if (!onPath('make') && !onPath('ninja')) missing.push('make or ninja (Debian: build-essential)');
if (!hasHeader('seccomp.h')) missing.push('seccomp.h (Debian: libseccomp-dev)');
if (!hasHeader('nlohmann/json.hpp')) missing.push('nlohmann/json.hpp (Debian: nlohmann-json3-dev)');
if (missing.length > 0) {
  console.error(`tsoci: cannot build its native parts: missing ${missing.join(', ')}`);
  process.exit(1);
}
if (checkOnly) process.exit(0);

const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`tsoci: the native build failed (cmake-js, exit ${build.status ?? build.signal}): see its output above`);
  process.exit(1);
}
// a cache made by another Node is rejected anyway: make this Node's now
remakeCodeCaches(root);
