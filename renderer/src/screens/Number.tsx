// Search by decision number: a keypad (letters for stand-alone numbers), searchable once plausible.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { normalizeDecisionNo, plausibleDecisionNo } from '../../../protocol/decision.ts';
import { Keypad } from '../components.tsx';

/** Letters for a stand-alone number typed by hand (`{device id}S{8 digits}`). */
const LETTERS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];

/** The decision-number keypad; `pattern` is the region's decision-number pattern. */
export function NumberScreen(props: {
  value: string;
  onChange(v: string): void;
  pattern: RegExp;
  onFind(no: string): void;
  onBack(): void;
}) {
  const { t } = useTranslation();
  const [letters, setLetters] = useState(false);
  const no = normalizeDecisionNo(props.value);
  const plausible = plausibleDecisionNo(no, props.pattern);
  return (
    <main className="screen">
      <h1>{t('keypad.title')}</h1>
      <p className="hint">{t('keypad.hint')}</p>
      <Keypad
        value={props.value}
        onChange={props.onChange}
        maxLength={32}
        label={t('keypad.title')}
        {...(letters ? { keys: LETTERS } : {})}
      />
      <div className="actions">
        <button type="button" className="btn" onClick={() => setLetters(!letters)} aria-pressed={letters}>
          {letters ? t('keypad.digits') : t('keypad.letters')}
        </button>
      </div>
      {props.value.length >= 15 && !plausible && (
        <p className="hint" role="status" data-testid="keypad-not-yet">
          {t('keypad.notYet')}
        </p>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={props.onBack}>
          {t('error.back')}
        </button>
        <button
          type="button"
          className="btn primary"
          disabled={!plausible}
          data-testid="keypad-search"
          onClick={() => props.onFind(no)}
        >
          {t('keypad.search')}
        </button>
      </div>
    </main>
  );
}
