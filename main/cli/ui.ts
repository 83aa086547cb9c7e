// Staff commands: `finekiosk staff add NAME [--pin PIN]` (a random PIN is made and shown once when none
// is given) and `finekiosk staff list`.
import { openKiosk } from '../kiosk.ts';
import { ok } from '../../protocol/result.ts';
import { createStaffService } from '../staff/staff.ts';
import { createPinGuard } from '../staff/pinguard.ts';
import { optString, type Command } from './framework.ts';

export const commands: Command[] = [
  {
    path: ['staff', 'add'],
    usage: 'staff add NAME [--pin PIN]',
    summary: 'add a staff member for the console (PIN stored only as a scrypt hash)',
    options: { pin: { type: 'string' } },
    minPositionals: 1,
    run: async (ctx) => {
      const kiosk = openKiosk({ dataDir: ctx.dataDir });
      try {
        const staff = createStaffService(kiosk.db, kiosk.clock);
        return await staff.add(ctx.positionals[0]!, optString(ctx, 'pin'));
      } finally {
        kiosk.close();
      }
    },
    text: (v) => {
      const s = v as { staffId: string; name: string; pin: string };
      return `staff ${s.name} (${s.staffId}) added; PIN ${s.pin} (shown only now)`;
    },
  },
  {
    path: ['staff', 'unlock'],
    usage: 'staff unlock',
    summary: 'clear PIN lockouts and wrong-PIN counts (staff and officer, every entry point) on this kiosk',
    run: async (ctx) => {
      const kiosk = openKiosk({ dataDir: ctx.dataDir });
      try {
        return ok({ cleared: createPinGuard(kiosk.db, kiosk.clock).unlock() });
      } finally {
        kiosk.close();
      }
    },
    text: (v) => `PIN entry unlocked (${(v as { cleared: number }).cleared} entry points cleared)`,
  },
  {
    path: ['staff', 'list'],
    usage: 'staff list',
    summary: 'list the staff who can log in to the console',
    run: async (ctx) => {
      const kiosk = openKiosk({ dataDir: ctx.dataDir });
      try {
        return ok(createStaffService(kiosk.db, kiosk.clock).list());
      } finally {
        kiosk.close();
      }
    },
    text: (v) => (v as { staffId: string; name: string }[]).map((s) => `${s.staffId}  ${s.name}`).join('\n'),
  },
];
