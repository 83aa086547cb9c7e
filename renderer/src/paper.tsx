// "Did the paper come out?": a printer without status (one-way USB boards, portable Bluetooth printers)
// cannot prove a job printed, so a print answers `verified: false` and a person says what they see.
// Yes: the job counts as printed. No: it is printed again at once, on the printer named now; if that
// printer cannot prove it either, the question is asked again for the new job.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Failure, Result } from '../../protocol/result.ts';
import { api } from './api.ts';
import { FailureText } from './components.tsx';

/** What a print call answers (main/api.ts printDoc, printConfirm). */
export interface PrintedAnswer {
  printed?: boolean;
  jobId?: string;
  verified?: boolean;
}

/** Where the question stands: asking for a job, settled (printed for sure), or a reprint that failed. */
export type PaperState =
  | { step: 'ask'; jobId: string; reprinted: boolean }
  | { step: 'done' }
  | { step: 'failed'; jobId: string; error: Failure };

/**
 * The next state after the backend answered a person's answer for job `jobId`. A verified answer, or
 * "came out", settles it; an unverified reprint asks again for the new job; a refusal keeps the job so the
 * reprint stays one tap away. Pure, for tests.
 */
export function nextPaperState(jobId: string, cameOut: boolean, r: Result<PrintedAnswer>): PaperState {
  if (!r.ok) return { step: 'failed', jobId, error: r.error };
  if (r.value.verified === false && r.value.jobId && !cameOut)
    return { step: 'ask', jobId: r.value.jobId, reprinted: true };
  return { step: 'done' };
}

/** The job to ask about after a print call, or none when the printer proved it (or nothing printed). */
export function unverifiedJob(r: Result<PrintedAnswer> | PrintedAnswer | undefined): string | undefined {
  const v = r && 'ok' in r ? (r.ok ? r.value : undefined) : r;
  return v && v.verified === false && v.jobId ? v.jobId : undefined;
}

/** The state after a fresh print (a reprint after a failure): ask again, settled, or failed again. */
export function afterReprint(jobId: string, r: Result<PrintedAnswer>): PaperState {
  if (!r.ok) return { step: 'failed', jobId, error: r.error };
  const job = unverifiedJob(r);
  return job ? { step: 'ask', jobId: job, reprinted: true } : { step: 'done' };
}

/**
 * The question with its two answers, in the screen's language. `onSettled` runs once the paper is known
 * to be out, or after any answer when `onAnswered` is wanted (the screen may reload what it shows).
 * When a reprint itself failed (the old job is then closed as not printed), `reprint` prints the document
 * anew; without it the failure is shown and the screen's own way applies (staff reprint a receipt).
 */
export function PaperCheck(props: {
  jobId: string;
  onSettled?(): void;
  onAnswered?(): void;
  reprint?(): Promise<Result<PrintedAnswer>>;
}) {
  const { t } = useTranslation();
  const [state, setState] = useState<PaperState>({ step: 'ask', jobId: props.jobId, reprinted: false });
  const [busy, setBusy] = useState(false);
  // A new print on the same screen asks about its own job.
  const [forJob, setForJob] = useState(props.jobId);
  if (forJob !== props.jobId) {
    setForJob(props.jobId);
    // The screen reloaded to the job this question already asks about (after "no"): keep the note.
    if (!(state.step === 'ask' && state.jobId === props.jobId))
      setState({ step: 'ask', jobId: props.jobId, reprinted: false });
  }

  const answer = async (cameOut: boolean) => {
    if (state.step === 'done' || busy) return;
    if (state.step === 'failed' && !props.reprint) return;
    setBusy(true);
    const next =
      state.step === 'failed'
        ? afterReprint(state.jobId, await props.reprint!())
        : nextPaperState(state.jobId, cameOut, await api.printConfirm({ jobId: state.jobId, cameOut }));
    setBusy(false);
    setState(next);
    props.onAnswered?.();
    if (next.step === 'done') props.onSettled?.();
  };

  if (state.step === 'done')
    return (
      <p className="notice ok" role="status" data-testid="paper-check" data-step="done">
        {t('paper.thanks')}
      </p>
    );
  return (
    <section
      className="notice warn paper-check"
      aria-live="polite"
      data-testid="paper-check"
      data-step={state.step}
      data-job={state.jobId}
    >
      {state.step === 'failed' ? (
        <p role="alert">
          <FailureText error={state.error} />
        </p>
      ) : (
        state.reprinted && <p>{t('paper.again')}</p>
      )}
      {state.step === 'ask' && <p>{t('paper.question')}</p>}
      <div className="actions">
        {state.step === 'ask' && (
          <button
            type="button"
            className="btn primary"
            data-testid="paper-yes"
            disabled={busy}
            onClick={() => void answer(true)}
          >
            {t('paper.yes')}
          </button>
        )}
        {(state.step === 'ask' || props.reprint) && (
          <button
            type="button"
            className="btn"
            data-testid="paper-no"
            disabled={busy}
            onClick={() => void answer(false)}
          >
            {state.step === 'ask' ? t('paper.no') : t('paper.reprint')}
          </button>
        )}
      </div>
    </section>
  );
}
