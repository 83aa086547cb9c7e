// Small shared pieces: the on-screen keypad, fine details, failure text and money/time formatting.
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { FineDto } from '../../main/api.ts';
import { formatFen } from '../../protocol/money.ts';
import { messages } from '../../protocol/errors.ts';
import type { Failure } from '../../protocol/result.ts';
import { shanghaiDateTime } from '../../protocol/time.ts';

export const money = formatFen;
export const when = shanghaiDateTime;

export function isZh(lang: string): boolean {
  return lang.startsWith('zh');
}

/**
 * A failure in the screen's language, from the error catalogue (protocol/errors.ts) by its code: never the
 * backend's appended detail, which is for logs and the command line (patterns, ids, English).
 */
export function failureText(error: Failure, lang: string, t: TFunction): string {
  const retry = error.details?.['retryAfter'];
  if (error.code === 'LOCKED' && typeof retry === 'number' && retry > 0) {
    return t('error.lockedFor', { n: Math.ceil(retry) });
  }
  const m =
    (messages as Record<string, { en: string; zh: string } | undefined>)[error.code] ?? messages.UNEXPECTED;
  return isZh(lang) ? m.zh : m.en;
}

export function FailureText({ error }: { error: Failure }) {
  const { t, i18n } = useTranslation();
  return <>{failureText(error, i18n.language, t)}</>;
}

export function Keypad(props: {
  value: string;
  onChange(v: string): void;
  keys?: string[];
  maxLength: number;
  label: string;
  mask?: boolean;
}) {
  const { t } = useTranslation();
  const keys = props.keys ?? ['1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const press = (k: string) => {
    if (props.value.length < props.maxLength) props.onChange(props.value + k);
  };
  return (
    <div className="keypad-wrap">
      <output className="keypad-display" aria-label={props.label} data-testid="keypad-display">
        {props.value ? (props.mask ? '•'.repeat(props.value.length) : props.value) : '\u00a0'}
      </output>
      <div className="keypad" role="group" aria-label={props.label}>
        {keys.map((k) => (
          <button key={k} type="button" className="key" onClick={() => press(k)}>
            {k}
          </button>
        ))}
        <button type="button" className="key key-aux" onClick={() => props.onChange('')}>
          {t('keypad.clear')}
        </button>
        <button type="button" className="key" onClick={() => press('0')}>
          0
        </button>
        <button
          type="button"
          className="key key-aux"
          onClick={() => props.onChange(props.value.slice(0, -1))}
        >
          {t('keypad.backspace')}
        </button>
      </div>
    </div>
  );
}

export function FineDetails({
  fine,
  lateFeeFen,
  totalFen,
}: {
  fine: FineDto;
  lateFeeFen?: number;
  totalFen?: number;
}) {
  const { t, i18n } = useTranslation();
  const english = !isZh(i18n.language) && fine.violationEn !== undefined;
  const violation = english ? fine.violationEn : fine.violation;
  return (
    <dl className="details">
      <dt>{t('fine.decisionNo')}</dt>
      <dd data-testid="fine-decision">{fine.decisionNo}</dd>
      <dt>{t('fine.plate')}</dt>
      <dd data-testid="fine-plate" lang="zh-CN">
        {fine.plateMasked}
      </dd>
      <dt>{t('fine.violation')}</dt>
      <dd {...(english ? {} : { lang: 'zh-CN' })}>{violation}</dd>
      <dt>{t('fine.place')}</dt>
      <dd lang="zh-CN">{fine.place}</dd>
      <dt>{t('fine.time')}</dt>
      <dd>{when(fine.occurredAt)}</dd>
      <dt>{t('fine.fine')}</dt>
      <dd>{money(fine.fineFen)}</dd>
      <dt>{t('fine.points')}</dt>
      <dd>{t('fine.pointsValue', { count: fine.points })}</dd>
      <dt>{t('fine.lateFee')}</dt>
      <dd>{money(lateFeeFen ?? fine.lateFeeFen)}</dd>
      <dt className="total">{t('fine.total')}</dt>
      <dd className="total" data-testid="fine-total">
        {money(totalFen ?? fine.totalFen)}
      </dd>
    </dl>
  );
}
