import { connect, type Socket } from 'node:net';

/** One HTTP answer parsed off a raw socket. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses every complete HTTP/1.1 answer (Content-Length framed) in `text`. */
export function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  for (;;) {
    const head = rest.indexOf('\r\n\r\n');
    if (head < 0) return answers;
    const lines = rest.slice(0, head).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(head + 4, head + 4 + length);
    if (body.length < length) return answers;
    answers.push({ status, headers, body });
    rest = rest.slice(head + 4 + length);
  }
}

/** A raw TCP client: writes exactly what it is given and collects everything it is sent. */
export class RawClient {
  readonly socket: Socket;
  private text = '';
  readonly closed: Promise<void>;
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.text += d));
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }
  static async open(port: number): Promise<RawClient> {
    const c = new RawClient(port);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.socket.once('error', reject);
    });
    return c;
  }
  write(data: string | Buffer): void {
    this.socket.write(data);
  }
  answers(): RawAnswer[] {
    return parseAnswers(this.text);
  }
  /** Waits until `n` answers are in (or the server closed the socket), up to `timeoutMs`. */
  async waitAnswers(n: number, timeoutMs = 20_000): Promise<RawAnswer[]> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.closed.then(() => (done = true));
    while (this.answers().length < n && !done && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.answers();
  }
  close(): void {
    this.socket.destroy();
  }
}

/** Sends `data` on a fresh connection and returns the answers received until the server closes it. */
export async function exchange(port: number, data: string | Buffer, n = 1, timeoutMs = 20_000): Promise<RawAnswer[]> {
  const c = await RawClient.open(port);
  c.write(data);
  const answers = await c.waitAnswers(n, timeoutMs);
  c.close();
  return answers;
}
