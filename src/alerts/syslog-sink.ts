import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import type { Alert } from '../domain/alert.js';
import type { AlertSink } from '../ports/alert-sink.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { formatCef } from './cef.js';
import { DEFAULT_FACILITY, formatRfc5424, octetCountingFrame, type SyslogHeader } from './rfc5424.js';

export type SyslogTransport = 'udp' | 'tcp';
export type SyslogFormat = 'rfc5424' | 'cef';

export interface SyslogSinkOptions {
  transport: SyslogTransport;
  host: string;
  port: number;
  /** `rfc5424`: the summary as MSG with a structured-data element; `cef`: a CEF:0 line as MSG. */
  format: SyslogFormat;
  facility?: number;
  hostname?: string;
  appName?: string;
  procId?: string;
  /** SD-ID of the structured-data element (`name@enterprise-number`). */
  sdId?: string;
  /** Device Version in CEF headers. */
  version?: string;
  /** TCP connect and write timeout. */
  timeoutMs?: number;
}

/**
 * Sends alerts to a syslog collector as RFC 5424 messages: one datagram per message over UDP
 * (RFC 5426), octet-counting framing over TCP (RFC 6587 §3.4.1: `LEN SP MSG`, safe whatever the
 * message holds, unlike LF framing). The TCP connection is opened on first use, kept, and reopened
 * once on the next send after it breaks. UDP is fire-and-forget by nature: `send` resolving means
 * the datagram left, not that it arrived.
 */
export class SyslogSink implements AlertSink {
  private readonly header: SyslogHeader;
  private readonly timeoutMs: number;
  private udp: dgram.Socket | null = null;
  private tcp: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private closed = false;

  constructor(private readonly o: SyslogSinkOptions) {
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) throw new RangeError('syslog port must be 1–65535');
    this.header = {
      facility: o.facility ?? DEFAULT_FACILITY,
      hostname: o.hostname ?? os.hostname(),
      appName: o.appName ?? 'labvault',
      procId: o.procId ?? String(process.pid),
      msgId: 'alert',
    };
    this.timeoutMs = o.timeoutMs ?? 5000;
  }

  /** The message as it goes on the wire, before framing. */
  format(alert: Alert): string {
    if (this.o.format === 'cef') {
      return formatRfc5424(alert, this.header, { sd: false, msg: formatCef(alert, { version: this.o.version ?? '0' }) });
    }
    return formatRfc5424(alert, this.header, { sdId: this.o.sdId });
  }

  async send(alert: Alert): Promise<void> {
    if (this.closed) throw new AlertDeliveryError('syslog', 'sink is closed');
    const message = this.format(alert);
    if (this.o.transport === 'udp') return this.sendUdp(Buffer.from(message, 'utf8'));
    const frame = octetCountingFrame(message);
    try {
      await this.write(await this.connection(), frame);
    } catch {
      // A connection the collector closed since the last alert only shows on write: reconnect once.
      this.dropTcp();
      await this.write(await this.connection(), frame);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const udp = this.udp;
    this.udp = null;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    const tcp = this.tcp;
    this.tcp = null;
    if (tcp && !tcp.destroyed) await new Promise<void>((resolve) => tcp.end(() => resolve()));
  }

  private sendUdp(buf: Buffer): Promise<void> {
    if (!this.udp) {
      this.udp = dgram.createSocket(net.isIPv6(this.o.host) ? 'udp6' : 'udp4');
      // Errors surface through the send callback; without a listener they would crash the process.
      this.udp.on('error', () => undefined);
    }
    const socket = this.udp;
    return new Promise((resolve, reject) => {
      socket.send(buf, this.o.port, this.o.host, (err) => {
        if (err) reject(new AlertDeliveryError('syslog', 'UDP send failed', { cause: err }));
        else resolve();
      });
    });
  }

  private connection(): Promise<net.Socket> {
    if (this.tcp && !this.tcp.destroyed && this.tcp.writable) return Promise.resolve(this.tcp);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ host: this.o.host, port: this.o.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new AlertDeliveryError('syslog', 'TCP connect timed out'));
      }, this.timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new AlertDeliveryError('syslog', 'TCP connect failed', { cause: err }));
      };
      s.once('error', onError);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', () => s.destroy());
        // The collector never talks back; its FIN means the connection is gone.
        s.on('end', () => s.destroy());
        s.on('close', () => {
          if (this.tcp === s) this.tcp = null;
        });
        s.setNoDelay(true);
        this.tcp = s;
        resolve(s);
      });
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private write(s: net.Socket, frame: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(new AlertDeliveryError('syslog', 'TCP write timed out'));
      }, this.timeoutMs);
      s.write(frame, (err) => {
        clearTimeout(timer);
        if (err) reject(new AlertDeliveryError('syslog', 'TCP write failed', { cause: err }));
        else resolve();
      });
    });
  }

  private dropTcp(): void {
    this.tcp?.destroy();
    this.tcp = null;
  }
}
