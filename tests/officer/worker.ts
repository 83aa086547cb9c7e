// A separate officer-device process for the crash and concurrency tests: issues tickets on the kiosk in
// argv[2] and prints each decision number as it commits. The parent may SIGKILL it at any moment.
import { openKiosk } from '../../main/kiosk.ts';
import { loadSampleCodeTable } from '../../main/officer/codes.ts';
import { createTicketService } from '../../main/officer/ticket.ts';

const [dir, countText, officerId = '0312'] = process.argv.slice(2);
const kiosk = openKiosk({ dataDir: dir! });
const table = loadSampleCodeTable();
const tickets = createTicketService(kiosk, () => table);
const plates = ['沪A12345', '沪B8K3L2', '沪AD12345', '苏E12345F', '浙A1234学'];
for (let i = 0; i < Number(countText); i++) {
  const r = tickets.issue({
    plate: plates[i % plates.length],
    code: i % 2 ? '1039' : '1625',
    place: `路口${i % 7}`,
    officerId,
  });
  if (!r.ok) {
    process.stdout.write(`ERR ${r.error.code}\n`);
    break;
  }
  process.stdout.write(`${r.value.decisionNo}\n`);
}
kiosk.close();
