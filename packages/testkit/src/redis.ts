import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { killProcess, onPath, spawnOwned, stopProcess } from './processes';
import type { Spawned } from './processes';
import { redisCommand } from './resp';
import { containerRuntimeHost } from './runtime';

/** Image used when a container runtime answers. */
export const REDIS_IMAGE = 'redis:7.2-alpine';
/** How long a server may take to answer PING after start, ms. */
export const REDIS_START_TIMEOUT_MS = 15_000;

/** A Redis server for a test suite. */
export interface RedisHandle {
  /** `redis://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** PID of the redis-server process (undefined for containers and external servers). */
  readonly pid: number | undefined;
  /** Where the server comes from: started here, a container, or `REDIS_URL`. */
  readonly source: 'process' | 'container' | 'external';
  /**
   * The server's data directory (`dump.rdb`, AOF), kept across restart(); only for a process
   * started here (undefined for containers and external servers).
   */
  readonly dataDir: string | undefined;
  /** SIGTERM, then SIGKILL after 5 s; removes the data directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (a crash): nothing is flushed beyond what appendfsync already wrote. */
  kill(): Promise<void>;
  /** Starts the server again on the same port with the same data directory. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** AOF with fsync on every write, so a SIGKILL loses no acknowledged write. Default false. */
  appendonly?: boolean;
}

/** A Redis Cluster of masters only, every slot covered. */
export interface RedisClusterHandle {
  readonly nodes: Array<{ host: string; port: number }>;
  /** PIDs of the node processes (empty for external clusters). */
  readonly pids: number[];
  /** Stops every node and removes their directories. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Number of masters. Default 3 (the fewest redis-cli --cluster create accepts). */
  masters?: number;
}

const notOwned = (what: string): Error => new Error(`${what} is not owned by the harness (it came from an environment override); cannot kill or restart it`);

/**
 * Starts a real Redis for tests: `REDIS_URL` if set, else a container when a runtime answers,
 * else Debian `redis-server` on a free 127.0.0.1 port (no RDB snapshots; AOF only if asked).
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisHandle> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '') return externalRedis(external);
  const runtimeHost = await containerRuntimeHost();
  if (runtimeHost !== null) return containerRedis(runtimeHost, options);
  if (!onPath('redis-server')) throw new Error('redis-server is not on PATH: apt-get install -y redis-server (or set REDIS_URL)');
  return processRedis(options);
}

function externalRedis(url: string): RedisHandle {
  const parsed = new URL(url);
  return {
    url,
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    pid: undefined,
    source: 'external',
    dataDir: undefined,
    stop: async () => undefined,
    kill: async () => {
      throw notOwned(`REDIS_URL ${url}`);
    },
    restart: async () => {
      throw notOwned(`REDIS_URL ${url}`);
    },
  };
}

function redisArgs(port: number, dir: string, options: StartRedisOptions & { cluster?: boolean }): string[] {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'no'];
  if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  if (options.cluster === true) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000');
  return args;
}

async function waitForPing(proc: Spawned, port: number): Promise<void> {
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  for (;;) {
    if (!proc.isAlive()) throw new Error(`redis-server on port ${port} exited during start-up:\n${proc.tail()}`);
    try {
      if ((await redisCommand('127.0.0.1', port, ['PING'], 500)) === 'PONG') return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${REDIS_START_TIMEOUT_MS} ms:\n${proc.tail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Spawns redis-server on a fresh free port, retrying when another process took the port first. */
async function spawnOnFreePort(dir: string, options: StartRedisOptions & { cluster?: boolean }): Promise<{ proc: Spawned; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawnOwned('redis-server', redisArgs(port, dir, options));
    try {
      await waitForPing(proc, port);
      return { proc, port };
    } catch (err) {
      lastError = err;
      await stopProcess(proc);
    }
  }
  throw lastError;
}

async function processRedis(options: StartRedisOptions): Promise<RedisHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pulsegate-redis-'));
  let current: Spawned;
  let port: number;
  try {
    ({ proc: current, port } = await spawnOnFreePort(dir, options));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    get pid() {
      return current.isAlive() ? current.pid : undefined;
    },
    source: 'process',
    dataDir: dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopProcess(current);
      rmSync(dir, { recursive: true, force: true });
    },
    kill: async () => {
      await killProcess(current);
    },
    restart: async () => {
      if (stopped) throw new Error('redis handle was stopped; start a new one');
      await stopProcess(current);
      current = spawnOwned('redis-server', redisArgs(port, dir, options));
      await waitForPing(current, port);
    },
  };
}

async function containerRedis(host: string, options: StartRedisOptions): Promise<RedisHandle> {
  const { GenericContainer, Wait } = await import('testcontainers');
  // A fixed host port keeps the URL valid across restart().
  const port = await freePort();
  const args = ['redis-server', '--save', '', '--protected-mode', 'no', '--appendonly', options.appendonly === true ? 'yes' : 'no'];
  if (options.appendonly === true) args.push('--appendfsync', 'always');
  const container = await new GenericContainer(REDIS_IMAGE)
    .withExposedPorts({ container: 6379, host: port })
    .withCommand(args)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  let stopped = false;
  return {
    url: `redis://${host}:${port}`,
    host,
    port,
    pid: undefined,
    source: 'container',
    dataDir: undefined,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await container.stop({ timeout: 5_000 });
    },
    kill: async () => {
      await container.stop({ timeout: 0, remove: false });
    },
    restart: async () => {
      await container.restart();
    },
  };
}

/**
 * Starts a Redis Cluster of `masters` local redis-server processes (`REDIS_CLUSTER_NODES`
 * overrides), joins them with `redis-cli --cluster create --cluster-replicas 0`, and waits until
 * every node reports `cluster_state:ok`. Always local processes: cluster node addresses announced
 * from inside containers are not reachable from the host without extra network set-up.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const external = process.env.REDIS_CLUSTER_NODES;
  if (external !== undefined && external !== '') {
    return { nodes: parseNodes(external), pids: [], stop: async () => undefined };
  }
  if (!onPath('redis-server') || !onPath('redis-cli')) throw new Error('redis-server / redis-cli are not on PATH: apt-get install -y redis-server (or set REDIS_CLUSTER_NODES)');
  const masters = options.masters ?? 3;
  if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters (asked for ${masters})`);
  const started: Array<{ proc: Spawned; port: number; dir: string }> = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(started.map((n) => stopProcess(n.proc)));
    for (const n of started) rmSync(n.dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'pulsegate-redis-cluster-'));
      try {
        const { proc, port } = await spawnOnFreePort(dir, { cluster: true });
        started.push({ proc, port, dir });
      } catch (err) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...started.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], 60_000);
    await waitForClusterOk(started.map((n) => n.port));
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes: started.map((n) => ({ host: '127.0.0.1', port: n.port })), pids: started.map((n) => n.proc.pid), stop };
}

function parseNodes(list: string): Array<{ host: string; port: number }> {
  return list.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const i = s.lastIndexOf(':');
    const port = Number(s.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port)) throw new Error(`REDIS_CLUSTER_NODES: "${s}" is not host:port`);
    return { host: s.slice(0, i), port };
  });
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const infos = await Promise.all(ports.map((p) => redisCommand('127.0.0.1', p, ['CLUSTER', 'INFO']).catch(() => '')));
    if (infos.every((info) => info.includes('cluster_state:ok'))) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster did not reach cluster_state:ok within 30 s (ports ${ports.join(', ')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
