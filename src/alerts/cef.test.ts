import { describe, expect, it } from 'vitest';
import { createAlert, type Alert } from '../domain/alert.js';
import { escapeExtension, escapeHeader, formatCef } from './cef.js';

const at = { id: '5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9', time: new Date('2026-03-01T08:00:00.000Z') };

describe('formatCef', () => {
  it('formats a full alert as one CEF:0 line', () => {
    const a = createAlert(
      {
        severity: 'high',
        rule: 'cap.patients-per-minute',
        principal: 'lims-west',
        tenant: 'lab-west',
        originIp: '10.1.2.3',
        summary: 'patients/min above cap',
        counts: { patients: 120, records: 480, bytes: 9000, requests: 60 },
        containment: 'suspend-principal',
        incidentId: 'inc-7',
      },
      at,
    );
    expect(formatCef(a, { version: '0.1.0' })).toBe(
      'CEF:0|labvault|labvault|0.1.0|cap.patients-per-minute|patients/min above cap|8|' +
        'rt=1772352000000 externalId=5d1f0c2a-9e8b-4c7d-b6a5-f4e3d2c1b0a9 suser=lims-west src=10.1.2.3 act=suspend-principal ' +
        'msg=patients/min above cap cs1Label=tenant cs1=lab-west cs2Label=incident cs2=inc-7 ' +
        'cn1Label=patients cn1=120 cn2Label=records cn2=480 cn3Label=bytes cn3=9000 cnt=60',
    );
  });

  it('omits absent fields, maps severities, puts IPv6 in c6a2', () => {
    const base = { rule: 'origin.new', principal: 'p1', summary: 'new origin' } as const;
    const sev = (severity: Alert['severity']) => formatCef(createAlert({ ...base, severity }, at)).split('|')[6];
    expect(['low', 'medium', 'high', 'critical'].map((s) => sev(s as Alert['severity']))).toEqual(['3', '5', '8', '10']);
    const line = formatCef(createAlert({ ...base, severity: 'low', originIp: 'fe80::1' }, at));
    expect(line).toContain(' c6a2=fe80::1 c6a2Label=Origin IPv6 Address ');
    expect(line).not.toMatch(/ src=| act=| cs1=| cs2=/);
  });

  it('escapes pipes and backslashes in the header; =, \\ and line breaks in extension values', () => {
    const a = createAlert({ severity: 'medium', rule: 'enum.sequential', principal: 'p1', summary: 'ratio a=b | c\\d high' }, at);
    const line = formatCef(a);
    // Header Name: pipe and backslash escaped, `=` literal.
    expect(line).toContain('|enum.sequential|ratio a=b \\| c\\\\d high|5|');
    // Extension msg: `=` and backslash escaped, pipe literal.
    expect(line).toContain(' msg=ratio a\\=b | c\\\\d high ');
    // A parser taking the first seven unescaped pipes as the header gets the right fields.
    const parts = line.split(/(?<!\\)\|/);
    expect(parts.slice(0, 7)).toEqual(['CEF:0', 'labvault', 'labvault', '0', 'enum.sequential', 'ratio a=b \\| c\\\\d high', '5']);
    expect(parts.slice(7).join('|')).toMatch(/^rt=\d+ /);

    // Formatting does not validate; line breaks from a hand-built alert never split the line.
    const raw: Alert = { ...a, summary: 'one\ntwo\r\nthree' };
    const l2 = formatCef(raw);
    expect(l2).not.toMatch(/[\r\n]/);
    expect(l2).toContain('|one two three|');
    expect(l2).toContain(' msg=one\\ntwo\\r\\nthree ');
  });

  it('escape helpers', () => {
    expect(escapeHeader('a|b\\c=d\ne')).toBe('a\\|b\\\\c=d e');
    expect(escapeExtension('a|b\\c=d\ne\rf')).toBe('a|b\\\\c\\=d\\ne\\rf');
  });
});
