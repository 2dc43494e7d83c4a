/**
 * `npm run chaos:instances`: three bot processes (STATE_STORE=postgres, Slack HTTP mode) on one
 * throwaway PostgreSQL behind a local round-robin proxy, driven through the fake Slack:
 *   1. 100 mentions, each delivered 5 times (Slack's retries) spread across the instances;
 *   2. 50 of those threads × 10 rapid replies (each sent once its predecessor was acked);
 *   3. 20 threads × 5 more replies while one instance is killed with SIGKILL mid-way.
 * It counts rounds per message from the database and the fake's posts, prints a table and writes
 * out/bench/chaos-instances.json. Not a test: it takes about a minute.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { FakeSlack } from '../tests/fakes/slack/fake-slack.ts';
import { SlackRequestSender, slackEscape } from '../tests/fakes/slack/signer.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SECRET = 'chaos-signing-secret-0123456789';
const LEASE_MS = 4000;
const PERSON = 'UCHAOS';

const freePort = () =>
  new Promise<number>((done) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Instance {
  port: number;
  proc: ChildProcess;
  alive: boolean;
}

async function main(): Promise<void> {
  const [pgDir, url] = execFileSync(join(ROOT, 'scripts/pg-throwaway.sh'), ['start'])
    .toString()
    .trim()
    .split(' ') as [string, string];
  const dataDir = mkdtempSync(join(tmpdir(), 'genir-chaos-'));
  const fake = await FakeSlack.start();
  const instances: Instance[] = [];
  const db = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const env = {
      ...process.env,
      STATE_STORE: 'postgres',
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      DEMO_GALLERY_SIZE: '200',
      LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: fake.identity.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: fake.apiUrl,
      ROUNDS_PER_USER_PER_MINUTE: '0',
      ROUNDS_PER_WORKSPACE_PER_MINUTE: '0',
      THREAD_LOCK_LEASE_MS: String(LEASE_MS),
    };
    // The demo gallery is built once, before the instances share it.
    execFileSync('npx', ['tsx', 'scripts/cli.ts', 'demo-gallery'], { cwd: ROOT, env, stdio: 'ignore' });
    // A workspace searches the gallery bound to it (one without is told how to bind one).
    execFileSync(
      'npx',
      ['tsx', 'scripts/cli.ts', 'gallery', 'bind', 'demo', '--slack-team', fake.identity.teamId],
      { cwd: ROOT, env, stdio: 'ignore' },
    );
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // node itself (not npx), so SIGKILL reaches the bot's process.
      const proc = spawn(process.execPath, ['--import', 'tsx', 'bots/main.ts'], {
        cwd: ROOT,
        env: { ...env, SLACK_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const inst = { port, proc, alive: true };
      instances.push(inst);
      proc.on('exit', () => {
        inst.alive = false;
      });
    }
    await Promise.all(
      instances.map(
        (inst) =>
          new Promise<void>((ready, failed) => {
            inst.proc.stdout?.on('data', (d: Buffer) => d.toString().includes('running on Slack') && ready());
            inst.proc.on('exit', (code) =>
              failed(new Error(`an instance exited (${code}) before it was ready`)),
            );
          }),
      ),
    );

    // The load balancer: round-robin over the instances that still accept connections.
    let next = 0;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const attempt = (tries: number) => {
          const inst = instances[next++ % instances.length] as Instance;
          if (!inst.alive && tries < instances.length) return attempt(tries + 1);
          const out = request(
            { host: '127.0.0.1', port: inst.port, path: req.url, method: req.method, headers: req.headers },
            (r) => {
              res.writeHead(r.statusCode ?? 502, r.headers);
              r.pipe(res);
            },
          );
          out.on('error', () => (tries < instances.length ? attempt(tries + 1) : res.writeHead(502).end()));
          out.end(body);
        };
        attempt(0);
      });
    });
    const proxyPort = await freePort();
    await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
    const sender = new SlackRequestSender(
      `http://127.0.0.1:${proxyPort}/slack/events`,
      SECRET,
      fake.identity,
    );

    const sent = new Map<string, string[]>(); // thread ts → texts, in the order sent
    // One channel per search: Slack limits posting per channel (about one message a second).
    const channelOf = new Map<string, string>();
    let acked = 0;
    let refused = 0;
    const deliver = async (event: Record<string, unknown>, eventId: string, retry: number) => {
      const res = await sender.event(event, {
        eventId,
        ...(retry > 0 ? { retryNum: retry, retryReason: 'http_timeout' } : {}),
      });
      if (res.status === 200) acked++;
      else refused++;
    };
    const key = (ts: string) => `slack:${fake.identity.teamId}:${channelOf.get(ts)}:${ts}`;
    const accepted = async (ts: string, text: string) => {
      const { rows } = await db.query(
        `SELECT 1 FROM thread_inbox WHERE thread_key = $1 AND message->>'text' = $2
         UNION ALL SELECT 1 FROM threads WHERE key = $1 AND state::text LIKE '%' || $2 || '%'`,
        [key(ts), text],
      );
      return rows.length > 0;
    };

    // 1. 100 mentions, each delivered five times at once (to different instances).
    console.error('instances ready; sending mentions');
    const t0 = performance.now();
    const roots: string[] = [];
    await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const text = `a red circle ${i}`;
        const raw = `<@${fake.identity.botUserId}> ${slackEscape(text)}`;
        const channel = `CCHAOS${i}`;
        const ts = fake.addPersonMessage(channel, PERSON, raw).ts;
        channelOf.set(ts, channel);
        roots.push(ts);
        sent.set(ts, [text]);
        const event = { type: 'app_mention', user: PERSON, text: raw, ts, channel };
        const eventId = `EvM${i}`;
        await Promise.all([0, 1, 2, 3, 4].map((retry) => deliver(event, eventId, retry)));
      }),
    );
    console.error(`mentions delivered (${acked} acked, ${refused} refused)`);
    // 2. 50 threads × 10 rapid replies: each one sent once the previous one was accepted somewhere.
    const reply = async (root: string, text: string, n: number) => {
      const channel = channelOf.get(root) as string;
      const ts = fake.addPersonMessage(channel, PERSON, slackEscape(text), root).ts;
      sent.get(root)?.push(text);
      const event = {
        type: 'message',
        user: PERSON,
        text: slackEscape(text),
        ts,
        channel,
        thread_ts: root,
        channel_type: 'channel',
      };
      await deliver(event, `EvR${root}-${n}`, 0);
      await until(`"${text}" to be accepted`, () => accepted(root, text), 30_000).catch(() => {});
    };
    await Promise.all(
      roots.slice(0, 50).map(async (root) => {
        await until('the search to exist', () => accepted(root, sent.get(root)?.[0] as string), 60_000);
        for (let m = 0; m < 10; m++) await reply(root, `make it ${m} steps larger`, m);
      }),
    );
    console.error('replies delivered; killing one instance during the next ones');
    // 3. More replies while one instance is killed (SIGKILL) in the middle of them. Wording the
    // offline refiner always understands: an "I did not understand" answer draws no round.
    const victim = instances[2] as Instance;
    const killed = sleep(300).then(() => {
      victim.proc.kill('SIGKILL');
    });
    await Promise.all(
      roots.slice(50, 70).map(async (root) => {
        await until('the search to exist', () => accepted(root, sent.get(root)?.[0] as string), 60_000);
        for (let m = 0; m < 5; m++) await reply(root, `make it ${m} steps larger`, 100 + m);
      }),
    );
    await killed;
    const killedAt = performance.now();
    // Every message left in an inbox is taken up by a survivor within about a lease.
    await until(
      'every inbox to empty and every lock to be free',
      async () => {
        const { rows } = await db.query(
          'SELECT (SELECT count(*) FROM thread_inbox)::int AS waiting, (SELECT count(*) FROM thread_locks WHERE expires_at > clock_timestamp())::int AS locked',
        );
        return rows[0].waiting === 0 && rows[0].locked === 0;
      },
      LEASE_MS * 10,
    );
    const settledAfterKillMs = Math.round(performance.now() - killedAt);
    await sleep(500);

    // Count.
    let rounds = 0;
    let duplicates = 0;
    let lost = 0;
    let outOfOrder = 0;
    let posted = 0;
    for (const [root, texts] of sent) {
      const { rows } = await db.query<{ state: { rounds: { userText: string }[] } }>(
        'SELECT state FROM threads WHERE key = $1',
        [key(root)],
      );
      const answered = (rows[0]?.state.rounds ?? []).flatMap((r) => r.userText.split('\n'));
      rounds += rows[0]?.state.rounds.length ?? 0;
      posted += fake
        .thread(channelOf.get(root) as string, root)
        .filter((m) => m.metadata?.event_type === 'genir_round').length;
      for (const t of texts) {
        const n = answered.filter((a) => a === t).length;
        if (n === 0) {
          lost++;
          console.error(`lost: ${key(root)} "${t}" (answered: ${answered.length}, sent: ${texts.length})`);
        }
        if (n > 1) duplicates += n - 1;
      }
      const order = answered.filter((a) => texts.includes(a));
      const expected = texts.filter((t) => order.includes(t));
      if (order.join('\n') !== expected.join('\n')) outOfOrder++;
    }
    const messages = [...sent.values()].reduce((n, t) => n + t.length, 0);
    const result = {
      instances: 3,
      deliveries: acked + refused,
      acked,
      refused,
      messages,
      rounds,
      roundPostsInSlack: posted,
      duplicateRounds: Math.max(0, posted - rounds) + duplicates,
      lostMessages: lost,
      threadsOutOfOrder: outOfOrder,
      threadsLockedAtEnd: 0,
      killedInstanceMs: Math.round(killedAt - t0),
      settledAfterKillMs,
      leaseMs: LEASE_MS,
      seconds: Math.round((performance.now() - t0) / 100) / 10,
    };
    console.log('| measure | value |\n|---|---|');
    for (const [k, v] of Object.entries(result)) console.log(`| ${k} | ${v} |`);
    mkdirSync(join(ROOT, 'out/bench'), { recursive: true });
    writeFileSync(join(ROOT, 'out/bench/chaos-instances.json'), `${JSON.stringify(result, null, 2)}\n`);
    proxy.close();
    if (result.duplicateRounds > 0 || result.lostMessages > 0) process.exitCode = 1;
  } finally {
    for (const inst of instances) if (inst.alive) inst.proc.kill('SIGTERM');
    await until('the instances to stop', async () => instances.every((i) => !i.alive), 10_000).catch(() => {
      for (const inst of instances) if (inst.alive) inst.proc.kill('SIGKILL');
    });
    await db.end();
    await fake.close();
    execFileSync(join(ROOT, 'scripts/pg-throwaway.sh'), ['stop', pgDir]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// A run that hangs is a failure too.
setTimeout(() => {
  console.error('chaos:instances did not finish in 5 minutes');
  process.exit(1);
}, 300_000).unref();

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
