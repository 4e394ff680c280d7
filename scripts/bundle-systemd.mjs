// The systemd cgroup driver's D-Bus client (src/cgroups/systemd-dbus.ts + dbus-next) as its
// own bundle, dist/systemd-dbus.js, next to dist/tsoci.js: src/cgroups/systemd.ts requires it
// only when a command talks to systemd, so the main bundle (every command's start-up) does
// not grow by dbus-next and its dependencies.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cgroups/systemd-dbus.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/systemd-dbus.js',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // dbus-next's optional modules: usocket (native; dbus-next falls back to net) and x11
  // (session bus discovery only). Left as plain requires that fail and are handled.
  external: ['usocket', 'x11'],
  logLevel: 'warning',
});
