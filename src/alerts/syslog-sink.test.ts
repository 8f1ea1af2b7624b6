import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlert, type Alert } from '../domain/alert.js';
import { formatCef } from './cef.js';
import { escapeParamValue, octetCountingFrame, priority, structuredData } from './rfc5424.js';
import { SyslogSink, type SyslogSinkOptions } from './syslog-sink.js';

const at = { id: '5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9', time: new Date('2026-03-01T08:00:00.000Z') };
const alert = createAlert(
  {
    severity: 'high',
    rule: 'cap.patients-per-minute',
    principal: 'lims-west',
    tenant: 'lab-west',
    originIp: '10.1.2.3',
    summary: 'patients per minute above cap',
    counts: { patients: 120, records: 480 },
    containment: 'suspend-principal',
    incidentId: 'inc-7',
  },
  at,
);
const EXPECTED =
  '<83>1 2026-03-01T08:00:00.000Z vault-1 labvault 4242 alert [labvault@32473 id="5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9" ' +
  'severity="high" rule="cap.patients-per-minute" principal="lims-west" tenant="lab-west" ip="10.1.2.3" patients="120" ' +
  'records="480" bytes="0" requests="0" containment="suspend-principal" incident="inc-7"] patients per minute above cap';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function makeSink(o: Pick<SyslogSinkOptions, 'transport' | 'port'> & Partial<SyslogSinkOptions>): SyslogSink {
  const s = new SyslogSink({ host: '127.0.0.1', format: 'rfc5424', hostname: 'vault-1', procId: '4242', ...o });
  cleanup.push(() => s.close());
  return s;
}

async function udpListener(): Promise<{ port: number; next: () => Promise<Buffer> }> {
  const sock = dgram.createSocket('udp4');
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => sock.close(() => resolve())));
  return {
    port: sock.address().port,
    next: () => {
      const b = queue.shift();
      return b ? Promise.resolve(b) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

interface TcpCollector {
  port: number;
  /** Bytes received per connection, in connection order. */
  conns: Buffer[][];
  sockets: net.Socket[];
  waitBytes: (n: number) => Promise<Buffer>;
}

async function tcpListener(): Promise<TcpCollector> {
  const c: TcpCollector = { port: 0, conns: [], sockets: [], waitBytes: async () => Buffer.alloc(0) };
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    c.conns.push(chunks);
    c.sockets.push(s);
    s.on('data', (d: Buffer) => chunks.push(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  c.port = (server.address() as AddressInfo).port;
  c.waitBytes = async (n) => {
    for (let i = 0; i < 200; i++) {
      const all = Buffer.concat(c.conns.flat());
      if (all.length >= n) return all;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${n} bytes`);
  };
  cleanup.push(async () => {
    for (const s of c.sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return c;
}

/** Parses RFC 6587 octet-counted frames; fails on anything else. */
function parseFrames(buf: Buffer): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    const lenText = buf.subarray(i, sp).toString('ascii');
    expect(lenText).toMatch(/^[1-9]\d*$/);
    const len = Number(lenText);
    out.push(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
    i = sp + 1 + len;
  }
  expect(i).toBe(buf.length);
  return out;
}

describe('RFC 5424 formatting', () => {
  it('PRI is facility × 8 + mapped severity', () => {
    expect(['critical', 'high', 'medium', 'low'].map((s) => priority(10, s as Alert['severity']))).toEqual([82, 83, 84, 85]);
    expect(priority(0, 'low')).toBe(5);
    expect(priority(23, 'critical')).toBe(186);
    expect(() => priority(24, 'low')).toThrow(RangeError);
  });

  it('escapes ", \\ and ] in SD param values, and omits absent params', () => {
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
    const raw: Alert = { ...alert, principal: 'x"]\\y', tenant: null, originIp: null, containment: null, incidentId: null };
    const sd = structuredData(raw, 'labvault@32473');
    expect(sd).toContain(' principal="x\\"\\]\\\\y" ');
    expect(sd).not.toMatch(/tenant=|ip=|containment=|incident=/);
    expect(sd.endsWith(' requests="0"]')).toBe(true);
  });

  it('octet-counting frames count bytes, not characters', () => {
    expect(octetCountingFrame('héllo').toString('utf8')).toBe('6 héllo');
  });
});

describe('SyslogSink over UDP', () => {
  it('sends one exact RFC 5424 message per datagram', async () => {
    const l = await udpListener();
    const s = makeSink({ transport: 'udp', port: l.port });
    await s.send(alert);
    expect((await l.next()).toString('utf8')).toBe(EXPECTED);
    expect(s.format(alert)).toBe(EXPECTED);
  });

  it('prefixes a BOM only to a non-ASCII MSG, and sanitises header fields', async () => {
    const l = await udpListener();
    const s = makeSink({ transport: 'udp', port: l.port, hostname: 'host with space', facility: 4 });
    const a = createAlert({ severity: 'critical', rule: 'canary.touch', principal: 'p1', summary: 'canary geraakt — één' }, at);
    await s.send(a);
    const got = await l.next();
    const text = got.toString('utf8');
    expect(text).toBe(
      '<34>1 2026-03-01T08:00:00.000Z host_with_space labvault 4242 alert [labvault@32473 id="5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9" ' +
        'severity="critical" rule="canary.touch" principal="p1" patients="0" records="0" bytes="0" requests="0"] \ufeffcanary geraakt — één',
    );
    // The BOM is the UTF-8 bytes EF BB BF right after "] ".
    const msgStart = got.indexOf(Buffer.from('] ')) + 2;
    expect(got.subarray(msgStart, msgStart + 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('CEF format: RFC 5424 header, no SD, the CEF line as MSG', async () => {
    const l = await udpListener();
    const s = makeSink({ transport: 'udp', port: l.port, format: 'cef', version: '0.1.0' });
    const a = createAlert({ ...alert, summary: 'ratio a=b | c\\d' }, at);
    await s.send(a);
    const text = (await l.next()).toString('utf8');
    expect(text).toBe(`<83>1 2026-03-01T08:00:00.000Z vault-1 labvault 4242 alert - ${formatCef(a, { version: '0.1.0' })}`);
    expect(text).toContain('|cap.patients-per-minute|ratio a=b \\| c\\\\d|8|rt=1772352000000 ');
    expect(text).toContain(' msg=ratio a\\=b | c\\\\d ');
  });
});

describe('SyslogSink over TCP', () => {
  it('frames messages with octet counting on one kept connection', async () => {
    const c = await tcpListener();
    const s = makeSink({ transport: 'tcp', port: c.port });
    const b = createAlert({ severity: 'low', rule: 'origin.new', principal: 'p1', summary: 'nieuwe herkomst: één' }, at);
    await s.send(alert);
    await s.send(b);
    const expected = Buffer.concat([octetCountingFrame(EXPECTED), octetCountingFrame(s.format(b))]);
    const got = await c.waitBytes(expected.length);
    expect(got).toEqual(expected);
    expect(got.subarray(0, 4).toString('ascii')).toBe(`${Buffer.byteLength(EXPECTED)} `);
    expect(parseFrames(got)).toEqual([EXPECTED, s.format(b)]);
    expect(c.conns).toHaveLength(1);
  });

  it('reconnects after the collector drops the connection', async () => {
    const c = await tcpListener();
    const s = makeSink({ transport: 'tcp', port: c.port, format: 'cef' });
    await s.send(alert);
    await c.waitBytes(1);
    c.sockets[0]?.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await s.send(alert);
    for (let i = 0; i < 100 && (c.conns[1]?.length ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.conns).toHaveLength(2);
    expect(parseFrames(Buffer.concat(c.conns[1] ?? []))).toEqual([s.format(alert)]);
  });

  it('rejects when nothing listens, and after close', async () => {
    const c = await tcpListener();
    const port = c.port;
    await cleanup.pop()?.();
    const s = makeSink({ transport: 'tcp', port, timeoutMs: 500 });
    await expect(s.send(alert)).rejects.toThrow('syslog: TCP connect failed');
    await s.close();
    await expect(s.send(alert)).rejects.toThrow('syslog: sink is closed');
    expect(() => new SyslogSink({ transport: 'udp', host: '127.0.0.1', port: 0, format: 'cef' })).toThrow(RangeError);
  });
});
