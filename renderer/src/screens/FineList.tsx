// Several fines found by plate: pick one.
import { useTranslation } from 'react-i18next';
import type { FineDto } from '../../../main/api.ts';
import type { Result } from '../../../protocol/result.ts';
import { isZh, money, when } from '../components.tsx';
import type { Screen, ScreenOf } from '../screen.ts';

/** Several fines found by plate: pick one. */
export function FineListScreen({
  screen,
  setScreen,
  onFine,
}: {
  screen: ScreenOf<'fines'>;
  setScreen(s: Screen): void;
  onFine(r: Result<FineDto>, back?: Screen): void;
}) {
  const { t, i18n } = useTranslation();
  return (
    <main className="screen">
      <h1>{t('fine.listTitle', { count: screen.fines.length })}</h1>
      <ul className="fine-list">
        {screen.fines.map((f) => (
          <li key={f.decisionNo}>
            <button
              type="button"
              className="btn fine-item"
              onClick={() => onFine({ ok: true, value: f }, screen)}
            >
              <span>{when(f.occurredAt)}</span>
              {!isZh(i18n.language) && f.violationEn ? (
                <span>{f.violationEn}</span>
              ) : (
                <span lang="zh-CN">{f.violation}</span>
              )}
              <strong>{money(f.totalFen)}</strong>
            </button>
          </li>
        ))}
      </ul>
      <div className="actions">
        <button type="button" className="btn" onClick={() => setScreen(screen.back)}>
          {t('error.back')}
        </button>
      </div>
    </main>
  );
}
