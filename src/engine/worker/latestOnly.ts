// "Only the last one counts" for requests a user fires again before the previous answer came
// (Inspect Selection clicked ten times): each new job supersedes the one before, whose result is
// dropped and whose promise rejects as cancelled. The engine is not restarted for it (see
// CallOptions.supersede): a queued request is skipped, a running one finishes unseen.
import { InnerWorldError } from '../errors';

export class LatestOnly {
  private current: AbortController | undefined;

  /** Run `job`, superseding the job before; `superseded` fires when a newer job starts. */
  async run<T>(job: (superseded: AbortSignal) => Promise<T>): Promise<T> {
    this.current?.abort();
    const mine = new AbortController();
    this.current = mine;
    try {
      const result = await job(mine.signal);
      if (mine.signal.aborted) throw new InnerWorldError('cancelled', 'Replaced by a newer request.');
      return result;
    } finally {
      if (this.current === mine) this.current = undefined;
    }
  }
}
