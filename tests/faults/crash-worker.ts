// Child process of the crash test: issues and pays bills as fast as it can, printing each one only after
// its transaction committed. The parent SIGKILLs it at random moments.
import { privateKeyFromPem } from '../../protocol/signing.ts';
import { makeConfirmationToken } from '../../protocol/tokens.ts';
import { openKiosk } from '../../main/kiosk.ts';

const dataDir = process.argv[2]!;
const hubKey = privateKeyFromPem(process.env.CRASH_HUB_KEY!);
const kiosk = openKiosk({ dataDir });
const unpaid = (
  kiosk.db.prepare("SELECT decision_no FROM fines WHERE status = 'unpaid'").all() as { decision_no: string }[]
).map((r) => r.decision_no);
const out = (line: string): void => void process.stdout.write(line + '\n');
out('READY');
let n = 0;
for (;;) {
  const no = unpaid[Math.floor(Math.random() * unpaid.length)]!;
  const r = kiosk.bills.issue(no);
  if (!r.ok) continue; // paid meanwhile
  out(`B ${r.value.billNo}`);
  if (Math.random() < 0.5) {
    const txnId = `T${process.pid}x${++n}`;
    const token = makeConfirmationToken(
      {
        billNo: r.value.billNo,
        amountFen: r.value.amountFen,
        channel: 'alipay',
        txnId,
        paidAt: r.value.issuedAt,
        keyId: 'hub1',
      },
      hubKey,
    );
    const p = kiosk.payments.confirm(token);
    if (!p.ok) throw new Error(`confirm refused: ${p.error.code}`);
    out(`P ${r.value.billNo} ${txnId}`);
  }
}
