import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { EXIT, kafkaClientId, loadRunnerConfig, runService, startFailureMessage, type BaseConfig, type RunnableService } from '../src/index';
import type { Bus } from '@pulsegate/bus';

const baseEnv = { LOG_LEVEL: 'silent' };
const loadConfig = (env: Record<string, string | undefined>): BaseConfig => {
  if (env.PORT !== undefined && !/^\d+$/.test(env.PORT)) throw new Error(`PORT must be an integer, got ${JSON.stringify(env.PORT)}`);
  return { host: '127.0.0.1', port: Number(env.PORT ?? 0), kafkaBrokers: [] };
};

/** Drives runService with an injected signal source and exit, recording what happens in order. */
function harness(env: Record<string, string>, service: Partial<RunnableService> = {}) {
  const signals = new EventEmitter();
  const steps: string[] = [];
  const errors: string[] = [];
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));
  const exits: number[] = [];
  const buses: Bus[] = [];
  const run = runService({
    name: 'probe',
    loadConfig,
    env: { ...baseEnv, ...env },
    signals,
    exit: (code) => {
      exits.push(code);
      resolveExit(code);
    },
    writeError: (line) => errors.push(line),
    async create({ bus }) {
      steps.push(`create with ${bus.kind} bus`);
      buses.push(bus);
      return {
        app: express(),
        start: async () => void steps.push('start'),
        // The bus must still be open while the service stops (its consumers commit through it).
        stop: async () => void steps.push(`stop (bus open: ${bus.isReady()})`),
        ...service,
      };
    },
  });
  return { signals, steps, errors, exited, exits, run, buses };
}

describe('runService', () => {
  it('rejects bad configuration before anything else, naming every bad variable, with exit code 2', async () => {
    const h = harness({ LOG_LEVEL: 'bogus', PORT: 'abc', SHUTDOWN_GRACE_MS: '5' });
    expect(await h.run).toBeUndefined();
    expect(h.exits).toEqual([EXIT.config]);
    expect(h.steps).toEqual([]);
    expect(h.errors).toHaveLength(1);
    for (const name of ['LOG_LEVEL', 'SHUTDOWN_GRACE_MS', 'PORT']) expect(h.errors[0]).toContain(name);
  });

  it('needs SHUTDOWN_DRAIN_MS below SHUTDOWN_GRACE_MS', () => {
    expect(() => loadRunnerConfig({ SHUTDOWN_GRACE_MS: '1000', SHUTDOWN_DRAIN_MS: '1000' })).toThrow(/SHUTDOWN_DRAIN_MS .* less than SHUTDOWN_GRACE_MS/);
    expect(loadRunnerConfig({})).toEqual({ logLevel: 'info', shutdownGraceMs: 25_000, shutdownDrainMs: 1_000, autoCreateTopics: true });
  });

  it('KAFKA_AUTO_CREATE_TOPICS: true by default, false turns it off, anything else names the variable', () => {
    expect(loadRunnerConfig({ KAFKA_AUTO_CREATE_TOPICS: 'false' }).autoCreateTopics).toBe(false);
    expect(loadRunnerConfig({ KAFKA_AUTO_CREATE_TOPICS: 'true' }).autoCreateTopics).toBe(true);
    expect(() => loadRunnerConfig({ KAFKA_AUTO_CREATE_TOPICS: 'no' })).toThrow('KAFKA_AUTO_CREATE_TOPICS must be true or false');
  });

  it('creates, listens, then starts consumers; on SIGTERM stops in order and exits 0', async () => {
    const h = harness({ SHUTDOWN_DRAIN_MS: '0' });
    const running = await h.run;
    expect(running).toBeDefined();
    expect(h.steps).toEqual(['create with memory bus', 'start']);
    expect((await fetch(`${running!.url}/nothing`)).status).toBe(404);
    h.signals.emit('SIGTERM');
    expect(await h.exited).toBe(EXIT.ok);
    expect(h.steps).toEqual(['create with memory bus', 'start', 'stop (bus open: true)']);
    expect(h.buses[0]!.isReady()).toBe(false);
    await expect(fetch(`${running!.url}/nothing`)).rejects.toThrow();
  });

  it('exits at once with 128 + signal on a second signal while shutting down', async () => {
    let release: () => void = () => {};
    const h = harness({ SHUTDOWN_DRAIN_MS: '0' }, { stop: () => new Promise<void>((r) => (release = r)) });
    await h.run;
    h.signals.emit('SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
    h.signals.emit('SIGINT');
    expect(await h.exited).toBe(130);
    release();
  });

  it('exits 1 when the ordered shutdown overruns SHUTDOWN_GRACE_MS', async () => {
    const h = harness({ SHUTDOWN_GRACE_MS: '200', SHUTDOWN_DRAIN_MS: '0' }, { stop: () => new Promise<void>(() => {}) });
    await h.run;
    h.signals.emit('SIGTERM');
    expect(await h.exited).toBe(EXIT.failed);
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const h = harness({ PORT: String(port) });
    expect(await h.run).toBeUndefined();
    expect(h.exits).toEqual([EXIT.failed]);
    // Dependencies built before the failed listen are stopped and closed again.
    expect(h.steps).toEqual(['create with memory bus', 'stop (bus open: true)']);
    expect(h.buses[0]!.isReady()).toBe(false);
    await new Promise<void>((r) => blocker.close(() => r()));
    const taken = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(startFailureMessage(taken, { host: '127.0.0.1', port }, 'PULSEGATE_INGEST_PORT')).toBe(
      `port ${port} on 127.0.0.1 is already in use: set PULSEGATE_INGEST_PORT to a free port`,
    );
  });

  it('names clients pulsegate-<service>', () => {
    expect(kafkaClientId('risk-scorer')).toBe('pulsegate-risk-scorer');
  });
});
