// A new build id for each `npm run build` (dist/build-id): compiled into both the launcher
// (CMakeLists.txt) and the bundle (scripts/bundle.mjs), so a warm worker serves only a
// launcher of the very same build. `node scripts/build-id.mjs --if-missing` keeps one.
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, writeFileSync } from 'fs';

const file = new URL('../dist/build-id', import.meta.url);
if (!(process.argv.includes('--if-missing') && existsSync(file))) {
  mkdirSync(new URL('../dist/', import.meta.url), { recursive: true });
  writeFileSync(file, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}\n`);
}
