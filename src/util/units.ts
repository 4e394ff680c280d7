/**
 * Value syntaxes runc's CLI accepts, re-implemented from their documented behaviour:
 *  - memory sizes (docker/go-units RAMInBytes): a decimal number (fraction allowed), an
 *    optional single space, an optional case-insensitive suffix: "b", or k/m/g/t/p
 *    (powers of 1024) optionally followed by "b" or "ib" ("512m", "1.5GiB", "100 kb");
 *    negative numbers are refused; fractions of a byte are truncated.
 *  - durations (Go time.ParseDuration): a sequence of decimal numbers with units
 *    ns, us (µs), ms, s, m, h ("5s", "1m30s", "250ms", "1.5h"); "0" alone is allowed.
 */
import { TsociError } from './errors';

const BINARY: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Bytes for a memory size like runc's `--memory 512m`. Throws TsociError. */
export function ramInBytes(text: string): number {
  let num: string;
  let sfx: string;
  const sp = text.indexOf(' ');
  if (sp >= 0) {
    num = text.slice(0, sp);
    sfx = text.slice(sp + 1);
  } else {
    const m = /^(.*[0-9.])([^0-9.]*)$/.exec(text);
    if (!m) throw new TsociError(`invalid size: '${text}'`);
    num = m[1];
    sfx = m[2];
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) throw new TsociError(`invalid size: '${text}'`);
  let size = Number(num);
  if (!Number.isFinite(size) || size < 0) throw new TsociError(`invalid size: '${text}'`);
  if (sfx.length > 0) {
    const s = sfx.toLowerCase();
    const bad = () => new TsociError(`invalid suffix: '${s}'`);
    if (s.length > 3) throw bad();
    if (s[0] === 'b') {
      if (s.length > 1) throw bad();
    } else {
      const mul = BINARY[s[0]];
      if (!mul) throw bad();
      if ((s.length === 2 && s[1] !== 'b') || (s.length === 3 && s.slice(1) !== 'ib')) throw bad();
      size *= mul;
    }
  }
  return Math.trunc(size);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Milliseconds for a Go duration string ("5s", "100ms", "1m30s"). Throws TsociError. */
export function parseDuration(text: string): number {
  const orig = text;
  const bad = () => new TsociError(`invalid duration "${orig}"`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m) throw bad();
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * total;
}
