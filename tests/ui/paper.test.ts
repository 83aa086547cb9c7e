// The "did the paper come out?" question's steps (renderer/src/paper.tsx), from the backend's answers.
import { describe, expect, it } from 'vitest';
import { afterReprint, nextPaperState, unverifiedJob } from '../../renderer/src/paper.tsx';
import { fail, ok } from '../../protocol/result.ts';

describe('paper check', () => {
  it('asks only about an unverified job', () => {
    expect(unverifiedJob(ok({ printed: true, jobId: 'j1', verified: false }))).toBe('j1');
    expect(unverifiedJob(ok({ printed: true, jobId: 'j1', verified: true }))).toBeUndefined();
    expect(unverifiedJob({ jobId: 'j1' })).toBeUndefined();
    expect(unverifiedJob(fail('PRINTER_OFFLINE'))).toBeUndefined();
    expect(unverifiedJob(undefined)).toBeUndefined();
  });

  it('"yes" settles; "no" asks again about the reprint; a refused reprint keeps the reprint one tap away', () => {
    expect(nextPaperState('j1', true, ok({ jobId: 'j1', verified: true }))).toEqual({ step: 'done' });
    expect(nextPaperState('j1', false, ok({ jobId: 'j2', verified: false }))).toEqual({
      step: 'ask',
      jobId: 'j2',
      reprinted: true,
    });
    expect(nextPaperState('j1', false, ok({ jobId: 'j2', verified: true }))).toEqual({ step: 'done' });
    const failed = nextPaperState('j1', false, fail('PRINTER_UNREACHABLE'));
    expect(failed).toMatchObject({ step: 'failed', jobId: 'j1', error: { code: 'PRINTER_UNREACHABLE' } });
    expect(afterReprint('j1', ok({ jobId: 'j3', verified: false }))).toEqual({
      step: 'ask',
      jobId: 'j3',
      reprinted: true,
    });
    expect(afterReprint('j1', ok({ jobId: 'j3' }))).toEqual({ step: 'done' });
  });
});
