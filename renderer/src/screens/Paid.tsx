// Paid: how the receipt went, the payment, the same vehicle's other unpaid fines.
import { useTranslation } from 'react-i18next';
import type { FineDto } from '../../../main/api.ts';
import type { ErrorCode } from '../../../protocol/errors.ts';
import { printerNotReady } from '../../../protocol/receipts.ts';
import { failure, type Result } from '../../../protocol/result.ts';
import { FailureText, money, when } from '../components.tsx';
import { PaperCheck } from '../paper.tsx';
import type { Screen, ScreenOf } from '../screen.ts';

/** Paid: how the receipt went, the payment, the same vehicle's other unpaid fines. */
export function PaidScreen({
  screen,
  setScreen,
  onFine,
  refreshReceipt,
  reset,
}: {
  screen: ScreenOf<'paid'>;
  setScreen(s: Screen): void;
  onFine(r: Result<FineDto>, back?: Screen): void;
  refreshReceipt(): Promise<void>;
  reset(): void;
}) {
  const { t } = useTranslation();
  const rs = screen.bill.receipt?.state;
  const copyError = screen.bill.copyError;
  // Failed for want of a ready printer: the backend prints it by itself once the printer is back.
  const waitingForPrinter = rs === 'failed' && printerNotReady(screen.bill.receipt?.errorCode);
  const receiptText =
    rs === 'printed'
      ? screen.bill.reprinted
        ? t('paid.receiptCopy')
        : t('paid.receipt')
      : rs === 'due' || rs === 'printing'
        ? t('paid.receiptPrinting')
        : screen.bill.reprinted
          ? t('paid.receiptCopy')
          : waitingForPrinter
            ? t('paid.receiptWaiting')
            : t('paid.receiptFailed');
  const others = screen.others ?? [];
  return (
    <main className="screen paid" data-testid="paid-screen" data-receipt={rs ?? 'none'}>
      <h1>{t('paid.title')}</h1>
      {copyError && (
        <p className="notice warn" role="alert" data-testid="copy-error" data-code={copyError}>
          <FailureText error={failure(copyError as ErrorCode)} />
        </p>
      )}
      {rs === 'unverified' && screen.bill.receipt?.jobId ? (
        <PaperCheck jobId={screen.bill.receipt.jobId} onAnswered={() => void refreshReceipt()} />
      ) : (
        (!copyError || rs !== 'printed') && (
          <p
            className={rs === 'failed' ? 'notice warn' : 'notice ok'}
            role="status"
            data-testid="receipt-state"
          >
            {waitingForPrinter && screen.bill.receipt?.errorCode && (
              <>
                <FailureText error={failure(screen.bill.receipt.errorCode as ErrorCode)} />
                {'. '}
              </>
            )}
            {receiptText}
          </p>
        )
      )}
      <dl className="details">
        <dt>{t('bill.billNo')}</dt>
        <dd>{screen.bill.billNo}</dd>
        <dt>{t('bill.amount')}</dt>
        <dd className="total">{money(screen.bill.amountFen)}</dd>
        {screen.bill.payment && (
          <>
            <dt>{t('fine.decisionNo')}</dt>
            <dd>{screen.bill.decisionNo}</dd>
            <dt>{t('paid.txn')}</dt>
            <dd>
              {t(`paid.channel.${screen.bill.payment.channel}`)} {screen.bill.payment.txnId}
            </dd>
            <dt>{t('paid.paidAt')}</dt>
            <dd>{when(screen.bill.payment.paidAt)}</dd>
          </>
        )}
      </dl>
      {others.length > 0 && (
        <p className="notice" data-testid="other-fines">
          {t('paid.others', { count: others.length })}
        </p>
      )}
      <div className="actions">
        {others.length > 0 && (
          <button
            type="button"
            className="btn"
            onClick={() =>
              others.length === 1
                ? onFine({ ok: true, value: others[0]! }, { name: 'start' })
                : setScreen({ name: 'fines', fines: others, back: { name: 'start' } })
            }
          >
            {t('paid.showOthers')}
          </button>
        )}
        <button type="button" className="btn primary" onClick={reset}>
          {t('paid.done')}
        </button>
      </div>
    </main>
  );
}
