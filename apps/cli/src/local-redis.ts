// What `redgrad cluster` needs to run a private redis-server; the tests and benchmarks start theirs
// the same way.
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read what the kernel chose). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Arguments for a private `redis-server` (loopback only, BullMQ's noeviction, no RDB snapshots). */
export function redisServerArgs(port: number, dir: string, opts: { appendonly?: boolean } = {}): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--dir',
    dir,
    '--maxmemory-policy',
    'noeviction',
  ];
}
