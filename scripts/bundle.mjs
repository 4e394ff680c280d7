// Bundles the CLI into one CommonJS file (dist/tsoci.js): start-up is the budget every
// command pays, and a bundle loads 30–45 ms faster than loose modules (DESIGN.md).
import { build } from 'esbuild';
import { execSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { builtinModules } from 'module';
import { remakeCodeCaches } from './code-cache.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url)));
let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch { /* not a git checkout */ }
// the launcher has the same (CMakeLists.txt): a warm worker serves only its own build
let buildId = 'none';
try {
  buildId = readFileSync(new URL('../dist/build-id', import.meta.url), 'utf8').trim();
} catch { /* built without scripts/build-id.mjs: never served warm */ }

const result = await build({
  entryPoints: ['src/cli-entry.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/tsoci.js',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // bin/loader.js reads it as latin1: a one-byte string, no UTF-8 decoding (checked below)
  charset: 'ascii',
  define: { TSOCI_VERSION: JSON.stringify(pkg.version), TSOCI_COMMIT: JSON.stringify(commit), TSOCI_BUILD_ID: JSON.stringify(buildId) },
  // vm.Script (bin/loader.js, the code cache loader) has no dynamic import: turn import() into require
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
  write: false,
});

// `import * as fs from 'fs'` becomes __toESM(require("fs")): a fresh copy of every export
// as a getter, in each of ~50 modules (~4.5 ms of a command's start-up). A built-in's
// exports object already is what a namespace import reads; only a default import would
// differ, and src/ has none of built-ins (checked here, so one never slips in).
const builtins = new Set(builtinModules);
const defaultImport = /^import\s+[\w$]+\s*(,|from)\s*'(node:)?([\w/]+)'/m;
for (const f of execSync('git ls-files src', { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.ts'))) {
  const m = defaultImport.exec(readFileSync(f, 'utf8'));
  if (m && builtins.has(m[3])) throw new Error(`${f}: default import of the built-in '${m[3]}': use import * as`);
}
const code = result.outputFiles[0].text.replace(/__toESM\(require\("((?:node:)?[\w/]+)"\)\)/g, (whole, name) =>
  builtins.has(name.replace(/^node:/, '')) ? `require("${name}")` : whole,
);
if (/[^\x00-\x7f]/.test(code)) throw new Error('dist/tsoci.js: not ASCII, which bin/loader.js relies on');
mkdirSync('dist', { recursive: true });
// Written already wrapped as a CommonJS module function: bin/loader.js compiles the file's text
// as it is. A wrapper added at load time (Module.wrap) makes a two-part string that V8 copies
// into one before compiling (~1.4 ms of each cold command, with the read as UTF-8 ~2.9 ms).
writeFileSync('dist/tsoci.js', `(function (exports, require, module, __filename, __dirname) { ${code}\n});\n`);

// Warm the V8 code cache once so the first real command already starts fast.
remakeCodeCaches('.');
