import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../config.js';
import { createAlert } from '../domain/alert.js';
import { ConfigurationError } from '../domain/errors.js';
import { createAlertSinks } from './alert-sinks.js';

const alert = createAlert(
  { severity: 'critical', rule: 'canary.touch', principal: 'p1', summary: 'canary touched', containment: 'suspend-principal' },
  { id: 'a-1', time: new Date('2026-03-01T08:00:00.000Z') },
);

describe('alert configuration', () => {
  it('defaults to no sinks', () => {
    expect(loadConfig({}, {}).alerts).toEqual({ webhookUrl: null, syslog: null });
  });

  it('parses the webhook and syslog settings', () => {
    const c = loadConfig(
      {},
      {
        LABVAULT_ALERT_WEBHOOK_URL: 'https://siem.example/hook?token=abc',
        LABVAULT_ALERT_SYSLOG: 'TCP://collector.example:6514',
        LABVAULT_ALERT_SYSLOG_FORMAT: 'cef',
      },
    );
    expect(c.alerts).toEqual({
      webhookUrl: 'https://siem.example/hook?token=abc',
      syslog: { transport: 'tcp', host: 'collector.example', port: 6514, format: 'cef' },
    });
    expect(loadConfig({}, { LABVAULT_ALERT_SYSLOG: 'udp://[::1]:514' }).alerts.syslog).toEqual({
      transport: 'udp',
      host: '::1',
      port: 514,
      format: 'rfc5424',
    });
    // The token in the webhook URL never shows in the debug view.
    expect(JSON.stringify(describeConfig(c))).not.toContain('abc');
    expect(describeConfig(c).alerts).toMatchObject({ webhookUrl: 'https://siem.example/***' });
  });

  it('refuses bad settings naming the key, without echoing the value', () => {
    const bad: Record<string, string>[] = [
      { LABVAULT_ALERT_WEBHOOK_URL: 'ftp://x.example/hook' },
      { LABVAULT_ALERT_WEBHOOK_URL: 'not a url' },
      { LABVAULT_ALERT_SYSLOG: 'collector:514' },
      { LABVAULT_ALERT_SYSLOG: 'http://collector:514' },
      { LABVAULT_ALERT_SYSLOG: 'udp://collector' },
      { LABVAULT_ALERT_SYSLOG: 'udp://collector:70000' },
      { LABVAULT_ALERT_SYSLOG: 'udp://collector:0' },
      { LABVAULT_ALERT_SYSLOG: 'udp://c:514', LABVAULT_ALERT_SYSLOG_FORMAT: 'json' },
      { LABVAULT_ALERT_SYSLOG_FORMAT: 'cef' },
    ];
    for (const env of bad) {
      const key = Object.keys(env).at(-1)!;
      const err = (() => {
        try {
          loadConfig({}, env);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigurationError);
      expect((err as Error).message).toContain(key);
      expect((err as Error).message).not.toContain(env[key]);
    }
  });
});

describe('createAlertSinks', () => {
  it('builds nothing without settings', async () => {
    const f = createAlertSinks({ webhookUrl: null, syslog: null });
    expect(f.size).toBe(0);
    await f.send(alert);
  });

  it('fans out to a real webhook and a real UDP collector, counting per kind', async () => {
    const bodies: string[] = [];
    const server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c: Buffer) => (b += c.toString()));
      req.on('end', () => {
        bodies.push(b);
        res.writeHead(bodies.length === 1 ? 503 : 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const udp = dgram.createSocket('udp4');
    const datagrams: string[] = [];
    const got = new Promise<void>((r) =>
      udp.on('message', (m) => {
        datagrams.push(m.toString());
        r();
      }),
    );
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    try {
      const f = createAlertSinks(
        {
          webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
          syslog: { transport: 'udp', host: '127.0.0.1', port: udp.address().port, format: 'cef' },
        },
        { webhook: { sleep: async () => undefined } },
      );
      await f.send(alert);
      await got;
      await f.close();
      expect(bodies).toHaveLength(2);
      expect(datagrams[0]).toMatch(/^<82>1 2026-03-01T08:00:00\.000Z \S+ labvault \d+ alert - CEF:0\|labvault\|labvault\|/);
      expect(f.counters.snapshot()).toEqual([
        { sink: 'syslog', outcome: 'failed', count: 0 },
        { sink: 'syslog', outcome: 'sent', count: 1 },
        { sink: 'webhook', outcome: 'failed', count: 0 },
        { sink: 'webhook', outcome: 'sent', count: 1 },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await new Promise<void>((r) => udp.close(() => r()));
    }
  });
});
