import http from 'node:http';

/**
 * One GET with its whole body, on a fresh connection (`agent: false`), so a probe or a /metrics
 * read never shares a socket with the load generators.
 */
export function httpGet(base: string, p: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(p, base), { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}
