import http from 'node:http';

/** One answer: status (0 on a network error), the server's request id, the body parsed if JSON. */
export interface JsonReply {
  status: number;
  requestId: string | null;
  body: unknown;
}

/**
 * The drill's FHIR client: JSON in and out over keep-alive loopback connections, with the
 * server's x-request-id kept (a restore lists lost writes by it).
 */
export class JsonClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly purpose: string,
  ) {}

  get(p: string, tenant?: string): Promise<JsonReply> {
    return this.send('GET', p, null, tenant);
  }

  post(p: string, body: unknown): Promise<JsonReply> {
    return this.send('POST', p, JSON.stringify(body));
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, p: string, body: string | null, tenant?: string): Promise<JsonReply> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      'x-purpose-of-use': this.purpose,
      accept: 'application/fhir+json',
    };
    if (tenant !== undefined) headers['x-tenant'] = tenant;
    if (body !== null) {
      headers['content-type'] = 'application/fhir+json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve) => {
      const req = http.request(new URL(p, this.base), { method, headers, agent: this.agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('error', () => resolve({ status: 0, requestId: null, body: null }));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = null;
          }
          const rid = res.headers['x-request-id'];
          resolve({ status: res.statusCode ?? 0, requestId: typeof rid === 'string' ? rid : null, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: 0, requestId: null, body: null }));
      req.end(body ?? undefined);
    });
  }
}
