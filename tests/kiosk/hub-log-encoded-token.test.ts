// the hub's request log (hub/logging.ts loggablePath -> protocol/redact.ts) recognises a bill
// token only in its literal form `b1.BILL.…`. The pay route decodes the path, so the same token sent
// percent-encoded (`/p/%62%31%2E…`, or just `/p/b1%2E…`) is served as the bill's pay page (checked
// against the demo hub: "No such fine: 3101012026003040", i.e. it was parsed), and logged whole.
import { describe, expect, it } from 'vitest';
import { loggablePath, makeHubLogger } from '../../hub/logging.ts';

const TOKEN =
  'b1.AMREUUQMUNTG-2.3101012026003040.20000.1796050215.1796064615.amreuuqmuntg.ixUl2Xu2BpoICYs9VXNOHXgzTnhI7RpMHHf3JhiDNGj9CLzrcnUZf3cL2mD6x90BOQX3Yjlwr2hzhaormHp5BA';
const SIG = TOKEN.slice(TOKEN.lastIndexOf('.') + 1);

describe('hub log redaction of encoded tokens ', () => {
  it('a percent-encoded dot does not keep the token signature out of the log', () => {
    const p = loggablePath(`/p/${TOKEN.replace('b1.', 'b1%2E')}`)!;
    expect(p.includes(SIG), p).toBe(false);
  });
  it('a fully percent-encoded token does not keep the decision number out of the log', () => {
    const enc = [...TOKEN].map((c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')).join('');
    const lines: string[] = [];
    const log = makeHubLogger('info', { write: (l) => void lines.push(l) });
    log.info({ req: { method: 'GET', url: `/p/${enc}` } }, 'incoming request');
    const decoded = decodeURIComponent(lines.join(''));
    expect(decoded.includes('3101012026003040'), decoded).toBe(false);
  });
});
