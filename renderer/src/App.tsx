// The kiosk screen: a small state machine of citizen screens, the staff console, the status bar that is
// always visible, the barcode-scanner listener and the idle timer. Each screen is a file in screens/; the
// surrounding bar and switch are in chrome.tsx; the flow's states are screen.ts.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BillDto, FineDto, ScanDto, StatusDto } from '../../main/api.ts';
import { failure } from '../../protocol/result.ts';
import type { Failure, Result } from '../../protocol/result.ts';
import { printerNotReady } from '../../protocol/receipts.ts';
import { api, onLink } from './api.ts';
import { StatusBar } from './chrome.tsx';
import { createIdleTimer, type IdleState } from './idle.ts';
import { unverifiedJob } from './paper.tsx';
import type { Screen } from './screen.ts';
import { BillScreen } from './screens/Bill.tsx';
import { BusyScreen } from './screens/Busy.tsx';
import { ErrorScreen } from './screens/Error.tsx';
import { FineScreen } from './screens/Fine.tsx';
import { FineListScreen } from './screens/FineList.tsx';
import { NumberScreen } from './screens/Number.tsx';
import { PaidScreen } from './screens/Paid.tsx';
import { PlateScreen, type PlateInput } from './screens/Plate.tsx';
import { StartScreen } from './screens/Start.tsx';
import { NoSession, Unavailable } from './screens/Unavailable.tsx';
import { StaffConsole, StaffLogin } from './staff.tsx';
import { createWedgeDetector, scanKeyListener } from './wedge.ts';

export type { Screen } from './screen.ts';
export type { PlateInput } from './screens/Plate.tsx';

const perfClock = { now: () => performance.now() };

const DEFAULT_PATTERN = /^[0-9]{15,20}$/;

function compile(source: string | undefined): RegExp {
  if (!source) return DEFAULT_PATTERN;
  try {
    return new RegExp(source);
  } catch {
    return DEFAULT_PATTERN;
  }
}

export function App() {
  const { t, i18n } = useTranslation();
  const [screen, setScreenState] = useState<Screen>({ name: 'start' });
  const [status, setStatus] = useState<StatusDto>();
  const [offsetMs, setOffsetMs] = useState(0);
  const [idle, setIdle] = useState<IdleState>({ state: 'active' });
  const [decision, setDecision] = useState('');
  const [plateInput, setPlateInput] = useState<PlateInput>({ plate: '', vin6: '' });
  const [link, setLink] = useState<'ok' | 'lost' | 'no-session'>(() =>
    window.location.hash === '#no-session' ? 'no-session' : 'ok',
  );
  const screenRef = useRef(screen);
  const setScreen = useCallback((s: Screen) => {
    screenRef.current = s;
    setScreenState(s);
  }, []);

  useEffect(() => {
    const off = onLink(setLink);
    return () => void off();
  }, []);

  // Status: polled for the bar, and it carries the idle and poll settings. While the service is away it
  // is asked every second, so the page carries on as soon as it is back.
  const statusEvery = link === 'ok' ? 2000 : 1000;
  useEffect(() => {
    let stop = false;
    const load = async () => {
      const r = await api.status({});
      if (!stop && r.ok) {
        setStatus(r.value);
        setOffsetMs(r.value.now * 1000 - Date.now());
      }
    };
    void load();
    const id = setInterval(() => void load(), statusEvery);
    return () => {
      stop = true;
      clearInterval(id);
    };
  }, [statusEvery]);

  useEffect(() => {
    document.documentElement.lang = i18n.language;
    document.title = t('appTitle');
  }, [i18n.language, t]);

  const reset = useCallback(() => {
    const s = screenRef.current;
    if (s.name === 'staff') void api.staffLogout({ session: s.session.session });
    setDecision('');
    setPlateInput({ plate: '', vin6: '' });
    setScreen({ name: 'start' });
    void i18n.changeLanguage('zh-CN');
  }, [i18n, setScreen]);

  const showError = useCallback(
    (error: Failure, extra: { bill?: BillDto; back?: Screen } = {}) =>
      setScreen({ name: 'error', error, ...extra }),
    [setScreen],
  );

  const onFine = useCallback(
    (r: Result<FineDto>, back: Screen = screenRef.current) => {
      if (!r.ok) return showError(r.error, { back });
      if (r.value.status !== 'unpaid') return showError(failure('FINE_NOT_PAYABLE'), { back });
      setScreen({ name: 'fine', fine: r.value, back });
    },
    [setScreen, showError],
  );

  // The backend prints the receipt when it learns of the payment; the screen only says how that went,
  // and offers the same vehicle's other unpaid fines.
  const paid = useCallback(
    async (bill: BillDto) => {
      setScreen({ name: 'paid', bill });
      const o = await api.otherUnpaid({ billNo: bill.billNo });
      const s = screenRef.current;
      if (o.ok && o.value.length > 0 && s.name === 'paid' && s.bill.billNo === bill.billNo) {
        setScreen({ ...s, others: o.value });
      }
    },
    [setScreen],
  );

  const printBill = useCallback(
    async (bill: BillDto) => {
      const p = await api.printBill({ billNo: bill.billNo });
      if (!p.ok) return showError(p.error, { bill });
      // A printer without status: the citizen says whether the paper came out.
      const job = unverifiedJob(p.value);
      setScreen({ name: 'bill', bill, printed: true, ...(job ? { paperJob: job } : {}) });
    },
    [setScreen, showError],
  );

  const issue = useCallback(
    async (fine: FineDto) => {
      setScreen({ name: 'busy' });
      const b = await api.issueBill({ decisionNo: fine.decisionNo });
      if (!b.ok) return showError(b.error);
      await printBill(b.value);
    },
    [printBill, setScreen, showError],
  );

  // A scan on any citizen screen: a notice or bill (its fine), or a payment confirmation (recorded, its
  // receipt printed; one scanned again prints a copy).
  const onScan = useCallback(
    async (code: string) => {
      const s = screenRef.current;
      if (s.name === 'staff' || s.name === 'staffLogin' || s.name === 'busy') return;
      const back: Screen = s.name === 'error' ? (s.back ?? { name: 'start' }) : s;
      const r: Result<ScanDto> = await api.scan(
        s.name === 'bill' ? { code, billNo: s.bill.billNo } : { code },
      );
      if (!r.ok) return showError(r.error, { back, ...(s.name === 'bill' ? { bill: s.bill } : {}) });
      if (r.value.kind === 'paid') return paid(r.value.bill);
      onFine({ ok: true, value: r.value.fine }, back);
    },
    [onFine, paid, showError],
  );

  // Scanner: a fast burst of keys ending in Enter anywhere outside a text field.
  useEffect(() => {
    const wedge = createWedgeDetector({
      clock: perfClock,
      maxGapMs: status?.config.scanGapMs ?? 30,
      onScan: (code) => void onScan(code),
    });
    const onKey = scanKeyListener(wedge);
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [onScan, status?.config.scanGapMs]);

  // Idle: any touch or key is activity; past the limit the session is forgotten.
  const idleSeconds = status?.config.idleSeconds ?? 60;
  const warnSeconds = status?.config.idleWarnSeconds ?? 15;
  useEffect(() => {
    const timer = createIdleTimer({
      clock: perfClock,
      timeoutMs: idleSeconds * 1000,
      warnMs: warnSeconds * 1000,
    });
    const act = () => timer.activity();
    window.addEventListener('pointerdown', act, true);
    window.addEventListener('keydown', act, true);
    const id = setInterval(() => {
      const s = screenRef.current;
      // Never while a bill waits for its payment (the citizen is paying on the phone), nor while its
      // receipt is printing; nothing to forget on the start screen in the default language.
      const hold =
        s.name === 'bill' ||
        (s.name === 'paid' && (s.bill.receipt?.state === 'due' || s.bill.receipt?.state === 'printing')) ||
        (s.name === 'start' && i18n.language === 'zh-CN');
      if (hold) {
        timer.activity();
        setIdle({ state: 'active' });
        return;
      }
      const st = timer.tick();
      if (st.state === 'idle') {
        timer.activity();
        setIdle({ state: 'active' });
        reset();
      } else setIdle(st);
    }, 250);
    return () => {
      clearInterval(id);
      window.removeEventListener('pointerdown', act, true);
      window.removeEventListener('keydown', act, true);
    };
  }, [idleSeconds, warnSeconds, reset, i18n]);

  // Waiting for payment: when online the hub tells the kiosk by itself; the screen asks now and then.
  useEffect(() => {
    if (screen.name !== 'bill') return;
    const bill = screen.bill;
    const tick = async (): Promise<void> => {
      const r = await api.billStatus({ billNo: bill.billNo });
      const s = screenRef.current;
      if (!r.ok || s.name !== 'bill' || s.bill.billNo !== bill.billNo) return;
      if (r.value.status === 'paid') {
        clearInterval(id);
        await paid(r.value);
      } else if (r.value.status === 'expired' || r.value.status === 'voided') {
        clearInterval(id);
        showError(failure(r.value.status === 'expired' ? 'BILL_EXPIRED' : 'BILL_VOIDED'), { bill: r.value });
      }
    };
    const id = setInterval(() => void tick(), status?.config.pollMs ?? 1000);
    return () => clearInterval(id);
  }, [screen, paid, showError, status?.config.pollMs]);

  // After a person answered for an unverified receipt: show what the backend now holds.
  const refreshReceipt = useCallback(async () => {
    const s = screenRef.current;
    if (s.name !== 'paid') return;
    const r = await api.billStatus({ billNo: s.bill.billNo });
    const now = screenRef.current;
    if (r.ok && now.name === 'paid' && now.bill.billNo === s.bill.billNo)
      setScreen({ ...now, bill: { ...r.value, reprinted: now.bill.reprinted } });
  }, [setScreen]);

  // The receipt is printed by the backend: while it is due or printing, or waits for the printer to be
  // ready again (paper loaded), ask how it went.
  useEffect(() => {
    if (screen.name !== 'paid') return;
    const st = screen.bill.receipt?.state;
    const waiting = st === 'failed' && printerNotReady(screen.bill.receipt?.errorCode);
    if (st !== 'due' && st !== 'printing' && !waiting) return;
    const billNo = screen.bill.billNo;
    const tick = async (): Promise<void> => {
      const r = await api.billStatus({ billNo });
      const s = screenRef.current;
      if (!r.ok || s.name !== 'paid' || s.bill.billNo !== billNo) return;
      if (r.value.receipt?.state !== st)
        setScreen({ ...s, bill: { ...r.value, reprinted: s.bill.reprinted } });
    };
    const id = setInterval(() => void tick(), status?.config.pollMs ?? 1000);
    return () => clearInterval(id);
  }, [screen, setScreen, status?.config.pollMs]);

  const pattern = compile(status?.decisionPattern);

  if (link === 'no-session') return <NoSession />;
  if (link === 'lost') return <Unavailable />;

  let body: React.ReactNode;
  switch (screen.name) {
    case 'start':
      body = <StartScreen setScreen={setScreen} />;
      break;
    case 'keypad':
      body = (
        <NumberScreen
          value={decision}
          onChange={setDecision}
          pattern={pattern}
          onBack={() => setScreen({ name: 'start' })}
          onFind={async (no) => onFine(await api.findByDecisionNo({ decisionNo: no }), { name: 'keypad' })}
        />
      );
      break;
    case 'plate':
      body = (
        <PlateScreen
          value={plateInput}
          onChange={setPlateInput}
          onBack={() => setScreen({ name: 'start' })}
          onFind={async (plate, vin6) => {
            const r = await api.findByPlate({ plate, vin6 });
            const back: Screen = { name: 'plate' };
            if (!r.ok) return showError(r.error, { back });
            const unpaid = r.value.filter((f) => f.status === 'unpaid');
            if (r.value.length === 1) onFine({ ok: true, value: r.value[0]! }, back);
            else setScreen({ name: 'fines', fines: unpaid.length ? unpaid : r.value, back });
          }}
        />
      );
      break;
    case 'fines':
      body = <FineListScreen screen={screen} setScreen={setScreen} onFine={onFine} />;
      break;
    case 'fine':
      body = <FineScreen screen={screen} setScreen={setScreen} issue={issue} />;
      break;
    case 'busy':
      body = <BusyScreen />;
      break;
    case 'bill':
      body = <BillScreen screen={screen} offsetMs={offsetMs} reset={reset} />;
      break;
    case 'paid':
      body = (
        <PaidScreen
          screen={screen}
          setScreen={setScreen}
          onFine={onFine}
          refreshReceipt={refreshReceipt}
          reset={reset}
        />
      );
      break;
    case 'error':
      body = (
        <ErrorScreen
          screen={screen}
          setScreen={setScreen}
          issue={issue}
          printBill={printBill}
          reset={reset}
        />
      );
      break;
    case 'staffLogin':
      body = (
        <StaffLogin
          onBack={() => setScreen({ name: 'start' })}
          onLogin={(session) => setScreen({ name: 'staff', session })}
        />
      );
      break;
    case 'staff':
      body = (
        <StaffConsole session={screen.session} scanGapMs={status?.config.scanGapMs ?? 30} onLogout={reset} />
      );
      break;
  }

  return (
    <div className="app" data-screen={screen.name}>
      <StatusBar status={status} />
      {body}
      {idle.state === 'warning' && (
        <div
          className="overlay"
          role="alertdialog"
          aria-modal="true"
          aria-labelledby="idle-title"
          data-testid="idle-warning"
        >
          <div className="dialog">
            <h2 id="idle-title">{t('idle.title')}</h2>
            <p>{t('idle.body', { n: Math.ceil(idle.remainingMs / 1000) })}</p>
            <button type="button" className="btn primary" onClick={() => setIdle({ state: 'active' })}>
              {t('idle.stay')}
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
