import { connect } from 'node:net';

/**
 * Sends one command to a Redis server and returns its reply as text (simple, bulk or integer
 * reply). The harness uses this instead of a client library so that start-up probes do not
 * depend on a client's reconnect behaviour. Rejects on an error reply or after `timeoutMs`.
 */
export function redisCommand(host: string, port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buffer = Buffer.alloc(0);
    const finish = (err: Error | null, value?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(value ?? '');
    };
    const timer = setTimeout(() => finish(new Error(`redis ${host}:${port} did not answer ${args[0]} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (err) => finish(err));
    socket.on('connect', () => {
      const parts = [`*${args.length}\r\n`, ...args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`)];
      socket.write(parts.join(''));
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd < 0) return;
      const type = String.fromCharCode(buffer[0]!);
      const line = buffer.subarray(1, lineEnd).toString('utf8');
      if (type === '+' || type === ':') return finish(null, line);
      if (type === '-') return finish(new Error(`redis ${host}:${port} ${args[0]}: ${line}`));
      if (type === '$') {
        const length = Number(line);
        if (length < 0) return finish(null, '');
        if (buffer.length >= lineEnd + 2 + length + 2) return finish(null, buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString('utf8'));
        return;
      }
      finish(new Error(`redis ${host}:${port} ${args[0]}: unsupported reply type ${type}`));
    });
  });
}
