// docker-compose.yml is validated without a Docker engine (Debian's docker-compose v1 `config`).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

describe('docker-compose.yml', () => {
  it('is a valid compose file with the services the design names', () => {
    const r = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '--services'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(
      ['postgresql', 'simulator', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker'].sort(),
    );
  });
});
