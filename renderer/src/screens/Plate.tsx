// Search by plate: the province key, then letters and digits, then the last six of the vehicle id.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/** First key of a plate: the 31 provinces, and 使 for embassy plates. */
const PROVINCES = [...'京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼', '使'];
const ALNUM = [...'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'];
/** Last key(s) of special plates: Hong Kong, Macau, coach, trailer, consulate, police, emergency. */
const SUFFIXES = ['港', '澳', '学', '挂', '领', '警', '应急'];
/** The longest plate: new-energy (8), or province + letter + 4 + 应急 (9). */
const PLATE_MAX = 9;

/** What is typed so far on the plate screen (kept while the citizen goes back and forth). */
export interface PlateInput {
  plate: string;
  vin6: string;
}

/** The plate and vehicle-id keyboard; onFind with a full plate and six characters. */
export function PlateScreen(props: {
  value: PlateInput;
  onChange(v: PlateInput): void;
  onFind(plate: string, vin6: string): void;
  onBack(): void;
}) {
  const { t } = useTranslation();
  const { plate, vin6 } = props.value;
  const [field, setField] = useState<'plate' | 'vin6'>(plate.length >= 7 ? 'vin6' : 'plate');
  const value = field === 'plate' ? plate : vin6;
  const set = (v: string) => props.onChange(field === 'plate' ? { plate: v, vin6 } : { plate, vin6: v });
  const max = field === 'plate' ? PLATE_MAX : 6;
  const first = field === 'plate' && plate === '';
  const keys = first ? PROVINCES : ALNUM;
  const press = (k: string) => value.length + k.length <= max && set(value + k);
  // 应急 is two characters but one key: deleting takes it away whole.
  const back = () => set(value.endsWith('应急') ? value.slice(0, -2) : value.slice(0, -1));
  return (
    <main className="screen">
      <h1>{t('plate.title')}</h1>
      <div className="fields">
        <button
          type="button"
          className={field === 'plate' ? 'field active' : 'field'}
          aria-pressed={field === 'plate'}
          onClick={() => setField('plate')}
          data-testid="plate-field"
        >
          <span className="field-label">{t('plate.plate')}</span>
          <span className="field-value">{plate || '\u00a0'}</span>
        </button>
        <button
          type="button"
          className={field === 'vin6' ? 'field active' : 'field'}
          aria-pressed={field === 'vin6'}
          onClick={() => setField('vin6')}
          data-testid="vin6-field"
        >
          <span className="field-label">{t('plate.vin6')}</span>
          <span className="field-value">{vin6 || '\u00a0'}</span>
        </button>
      </div>
      {first && <p className="hint">{t('plate.province')}</p>}
      <div
        className={first ? 'keyboard provinces' : 'keyboard'}
        role="group"
        aria-label={t(`plate.${field}`)}
      >
        {keys.map((k) => (
          <button
            key={k}
            type="button"
            className="key small"
            onClick={() => press(k)}
            lang={first ? 'zh-CN' : undefined}
          >
            {k}
          </button>
        ))}
        <button type="button" className="key small key-aux" onClick={back}>
          {t('keypad.backspace')}
        </button>
      </div>
      {field === 'plate' && !first && (
        <div className="keyboard suffixes" role="group" aria-label={t('plate.suffix')}>
          {SUFFIXES.map((k) => (
            <button key={k} type="button" className="key small" lang="zh-CN" onClick={() => press(k)}>
              {k}
            </button>
          ))}
        </div>
      )}
      <div className="actions">
        <button type="button" className="btn" onClick={props.onBack}>
          {t('error.back')}
        </button>
        {field === 'plate' ? (
          <button
            type="button"
            className="btn primary"
            disabled={plate.length < 7}
            onClick={() => setField('vin6')}
          >
            {t('plate.next')}
          </button>
        ) : (
          <button
            type="button"
            className="btn primary"
            disabled={plate.length < 7 || vin6.length !== 6}
            onClick={() => props.onFind(plate, vin6)}
          >
            {t('plate.search')}
          </button>
        )}
      </div>
    </main>
  );
}
