import { poolPaths, warmDir } from '../../src/warm/paths';

describe('where the warm pool lives (src/warm/README.md)', () => {
  test('TSOCI_WARM_DIR first, then /run/tsoci/.warm for root, then $XDG_RUNTIME_DIR/tsoci/.warm', () => {
    expect(warmDir({ TSOCI_WARM_DIR: '/run/x/', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/run/x');
    expect(warmDir({ XDG_RUNTIME_DIR: '/run/user/0' }, 0)).toBe('/run/tsoci/.warm');
    expect(warmDir({ XDG_RUNTIME_DIR: '/run/user/1000/' }, 1000)).toBe('/run/user/1000/tsoci/.warm');
  });
  test('an unprivileged user without XDG_RUNTIME_DIR has no pool', () => {
    expect(warmDir({}, 1000)).toBeUndefined();
    expect(warmDir({ XDG_RUNTIME_DIR: '' }, 1000)).toBeUndefined();
  });
  test('the files beside the socket', () => {
    expect(poolPaths('/d')).toEqual({ dir: '/d', socket: '/d/pool.sock', pid: '/d/supervisor.pid', status: '/d/status.json', log: '/d/supervisor.log' });
  });
});
