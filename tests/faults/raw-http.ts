// Raw HTTP over a socket, so a test can send what no HTTP client would: malformed request lines, paths
// URL parsing refuses, overlong targets and headers, half requests. Shared by the HTTP fuzz tests.
import net from 'node:net';

/**
 * Writes raw bytes to 127.0.0.1:port and resolves with the status code of the first answer, or 0 when the
 * server closed the connection without one. Resolves on the server's answer or close, never on a timer.
 */
export function raw(port: number, bytes: string | Buffer): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const finish = (status: number) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(status);
    };
    const status = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      return m ? Number(m[1]) : 0;
    };
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if (status() && got.includes('\r\n\r\n')) finish(status());
    });
    s.on('error', () => finish(status()));
    s.on('close', () => finish(status()));
    s.write(bytes);
  });
}

/** Requests that have crashed or could crash a hand-written or framework HTTP server. */
export function hostileRequests(host: string, paths: string[] = []): (string | Buffer)[] {
  const targets = [
    '//%2f',
    '/%',
    '//',
    '/%zz',
    '//evil.example/x',
    '/%00',
    '/..%2f..%2fetc%2fpasswd',
    ...paths,
  ];
  return [
    ...targets.map((t) => `GET ${t} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    ...targets.map(
      (t) =>
        `POST ${t} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"a":`,
    ),
    'GARBAGE\r\n\r\n',
    'GET / HTTP/9.9\r\n\r\n',
    `GET http://${host}/ HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `OPTIONS * HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nBad Header\r\n\r\n`,
    `GET / HTTP/1.1\r\nHost: ${host}\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
    `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    `POST / HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n\r\n`,
    `POST / HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n\u00ff\u00fe`,
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
  ];
}
