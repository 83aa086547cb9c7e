// A failure in both languages, what to do next, and the ways on (back, new bill, print again).
import { useTranslation } from 'react-i18next';
import type { BillDto, FineDto } from '../../../main/api.ts';
import { FailureText } from '../components.tsx';
import { PRINTER_CODES, type Screen, type ScreenOf } from '../screen.ts';

/** A failure in both languages, what to do next, and the ways on (back, new bill, print again). */
export function ErrorScreen({
  screen,
  setScreen,
  issue,
  printBill,
  reset,
}: {
  screen: ScreenOf<'error'>;
  setScreen(s: Screen): void;
  issue(fine: FineDto): Promise<void>;
  printBill(bill: BillDto): Promise<void>;
  reset(): void;
}) {
  const { t } = useTranslation();
  const code = screen.error.code;
  const next = t(`error.next.${code}`, { defaultValue: t('error.next.default') });
  const bill = screen.bill;
  return (
    <main className="screen error" data-testid="error-screen" data-code={code}>
      <h1>{t('error.title')}</h1>
      <p className="notice warn" role="alert">
        <FailureText error={screen.error} />
      </p>
      <p className="next">{next}</p>
      <div className="actions">
        <button type="button" className="btn" onClick={reset}>
          {t('error.toStart')}
        </button>
        {screen.back && (
          <button type="button" className="btn" onClick={() => setScreen(screen.back!)}>
            {t('error.back')}
          </button>
        )}
        {bill && code === 'BILL_EXPIRED' && (
          <button
            type="button"
            className="btn primary"
            data-testid="new-bill"
            onClick={() => void issue(bill.fine)}
          >
            {t('bill.newBill')}
          </button>
        )}
        {bill && PRINTER_CODES.has(code) && (
          <>
            <button
              type="button"
              className="btn"
              onClick={() => setScreen({ name: 'bill', bill, printed: false })}
            >
              {t('error.showQr')}
            </button>
            <button type="button" className="btn primary" onClick={() => void printBill(bill)}>
              {t('error.retry')}
            </button>
          </>
        )}
      </div>
    </main>
  );
}
