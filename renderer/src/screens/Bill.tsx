// The bill: QR code to pay with a phone, amount, time left; waits for the payment.
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { Countdown } from '../chrome.tsx';
import { money } from '../components.tsx';
import { PaperCheck } from '../paper.tsx';
import type { ScreenOf } from '../screen.ts';

/** The bill: QR code to pay with a phone, amount, time left; waits for the payment. */
export function BillScreen({
  screen,
  offsetMs,
  reset,
}: {
  screen: ScreenOf<'bill'>;
  /** Kiosk clock minus page clock, ms. */
  offsetMs: number;
  reset(): void;
}) {
  const { t } = useTranslation();
  return (
    <main className="screen bill" data-testid="bill-screen" data-bill={screen.bill.billNo}>
      <h1>{t('bill.title')}</h1>
      {screen.paperJob ? (
        <PaperCheck jobId={screen.paperJob} reprint={() => api.printBill({ billNo: screen.bill.billNo })} />
      ) : (
        screen.printed && (
          <p className="notice ok" role="status">
            {t('bill.printed')}
          </p>
        )
      )}
      <div className="bill-grid">
        <figure className="qr">
          <img src={screen.bill.qrDataUrl} alt={t('bill.scanWith')} data-testid="bill-qr" />
          <figcaption>{t('bill.scanWith')}</figcaption>
        </figure>
        <dl className="details">
          <dt>{t('bill.amount')}</dt>
          <dd className="total" data-testid="bill-amount">
            {money(screen.bill.amountFen)}
          </dd>
          <dt>{t('bill.billNo')}</dt>
          <dd>{screen.bill.billNo}</dd>
          <dt>{t('bill.timeLeft')}</dt>
          <dd>
            <Countdown expiresAt={screen.bill.expiresAt} offsetMs={offsetMs} />
          </dd>
        </dl>
      </div>
      <p className="hint" role="status">
        {t('bill.waiting')}
      </p>
      <p className="hint strong">{t('bill.offlineHint')}</p>
      <div className="actions">
        <button type="button" className="btn" onClick={reset}>
          {t('bill.leave')}
        </button>
      </div>
    </main>
  );
}
