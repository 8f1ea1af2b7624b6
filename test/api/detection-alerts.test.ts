import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFixture, type ApiFixture } from '../support/api-fixture.js';

/**
 * Alerts leave through the configured collectors — a webhook (JSON) and a syslog receiver (RFC
 * 5424 over UDP), both real sockets on loopback — and the counts show on /metrics. An alert names
 * the principal, rule, incident and counts, never a patient.
 */
describe('detection alerts and metrics', () => {
  let f: ApiFixture;
  let dir: string;
  let web: Server;
  let udp: Socket;
  const posted: Record<string, unknown>[] = []; // the `alert` member of each webhook envelope
  const datagrams: string[] = [];

  beforeAll(async () => {
    web = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        posted.push((JSON.parse(body) as { alert: Record<string, unknown> }).alert);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    udp = createSocket('udp4');
    udp.on('message', (m) => datagrams.push(m.toString('utf8')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    dir = await mkdtemp(path.join(os.tmpdir(), 'lv-alerts-'));
    const file = path.join(dir, 'detection.json');
    await writeFile(file, JSON.stringify({ roles: { pathologist: { patientsPerMinute: 3, unexplainedPerHour: 1000 } } }));
    f = await apiFixture({
      env: {
        LABVAULT_DETECTION_MODE: 'enforce',
        LABVAULT_DETECTION_FILE: file,
        LABVAULT_ALERT_WEBHOOK_URL: `http://127.0.0.1:${(web.address() as AddressInfo).port}/hook`,
        LABVAULT_ALERT_SYSLOG: `udp://127.0.0.1:${udp.address().port}`,
      },
    });
  });
  afterAll(async () => {
    await f.close();
    web.close();
    udp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a containment reaches the webhook and syslog with its incident, and no patient id', async () => {
    const ids = f.lab.patients.get('screening') as string[];
    const thief = await f.principal('pathologist', ['screening']);
    const h = { authorization: `Bearer ${thief.token}`, 'x-purpose-of-use': 'TREAT' };
    for (let i = 0; i < 4; i++) await f.app.inject({ url: `/fhir/Patient/${ids[i]}`, headers: h, remoteAddress: '10.20.0.1' });
    const c = (await f.vault.store.listContainments()).find((x) => x.principalId === thief.id);
    expect(c?.rule).toBe('cap.patients-per-minute');
    const deadline = Date.now() + 10_000;
    while ((posted.every((p) => p.incidentId !== c?.incidentId) || datagrams.length === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const alert = posted.find((p) => p.incidentId === c?.incidentId);
    expect(alert).toMatchObject({
      rule: 'cap.patients-per-minute',
      principal: thief.id,
      tenant: 'screening',
      originIp: '10.20.0.1',
      containment: 'suspend-principal',
      severity: 'high',
    });
    const line = datagrams.find((d) => d.includes(c?.incidentId as string));
    expect(line).toMatch(/^<\d+>1 /);
    for (const text of [JSON.stringify(posted), ...datagrams]) for (const id of ids) expect(text).not.toContain(id);
  });

  it('/metrics counts findings, withheld reads, active containments and deliveries per sink', async () => {
    const m = await f.app.inject({ url: '/metrics' });
    expect(m.body).toMatch(/labvault_detection_findings_total\{rule="cap.patients-per-minute",severity="contain"\} [1-9]/);
    expect(m.body).toMatch(/labvault_detection_reads_total\{verdict="withheld"\} [1-9]/);
    expect(m.body).toMatch(/labvault_containments_active [1-9]/);
    expect(m.body).toMatch(/labvault_alerts_total\{sink="webhook",outcome="sent"\} [1-9]/);
    expect(m.body).toMatch(/labvault_alerts_total\{sink="syslog",outcome="sent"\} [1-9]/);
  });
});
