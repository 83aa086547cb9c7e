// Tokens reduced to bill numbers in anything logged.
import { generateKeyPair } from '../../protocol/signing.ts';
import { describe, expect, it } from 'vitest';
import { loggablePath } from '../../hub/logging.ts';
import { redactTokens } from '../../protocol/redact.ts';
import { makeBillToken, makeConfirmationToken } from '../../protocol/tokens.ts';

const key = generateKeyPair().privateKey;
const bill = makeBillToken(
  {
    billNo: 'ABCDEFGHJK23-7',
    decisionNo: '3101012026003040',
    amountFen: 20000,
    issuedAt: 1_796_000_000,
    expiresAt: 1_796_014_400,
    deviceId: 'abcdefghijkl',
  },
  key,
);
const conf = makeConfirmationToken(
  {
    billNo: 'ABCDEFGHJK23-7',
    amountFen: 20000,
    channel: 'alipay',
    txnId: 'T2026112122001',
    paidAt: 1_796_000_100,
    keyId: 'hub1',
  },
  key,
);

describe('token redaction', () => {
  it('names a bill by its number in paths and free text', () => {
    expect(loggablePath(`/p/${bill}`)).toBe('/p/b1:ABCDEFGHJK23-7');
    expect(loggablePath(`/p/${bill}/status?channel=alipay&plate=%E6%B2%AA`)).toBe(
      '/p/b1:ABCDEFGHJK23-7/status',
    );
    const line = JSON.stringify({
      msg: `refused ${conf} for ${bill}`,
      err: { message: `bad token ${bill}` },
    });
    const red = redactTokens(line);
    expect(red).not.toContain(bill);
    expect(red).not.toContain(conf);
    expect(red).not.toContain('3101012026003040');
    expect(red).toContain('c1:ABCDEFGHJK23-7');
    expect(red).toContain('b1:ABCDEFGHJK23-7');
  });
  it('leaves text without tokens alone', () => {
    for (const t of ['/healthz', '/v1/sync/pull', 'version b1.2', 'node v20.1.0', ''])
      expect(redactTokens(t)).toBe(t);
  });
});
