/** The web playground as the benchmarks start it: `bin/start.js` (what `npm start` runs) in a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

export interface StartedWeb {
  child: ChildProcess;
  /** fetch() on the server, retried until it listens (throws if the process exits first). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** Resident memory of the process now, MB (Linux /proc). */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

export async function startWeb(env: NodeJS.ProcessEnv): Promise<StartedWeb> {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/start.js'], {
    cwd: ROOT,
    env: { ...env, WEB_PORT: String(port) },
    stdio: 'ignore',
  });
  // The playground knows a browser by its session cookie: one browser, one cookie.
  let session = '';
  return {
    child,
    async call(path, init = {}) {
      const headers = new Headers(init.headers);
      for (;;) {
        if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
        if (session) headers.set('Cookie', session);
        const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers }).catch(() => null);
        if (res) {
          const set = res.headers.getSetCookie()[0];
          if (set) session = set.split(';')[0] as string;
          return res;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async rssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}
