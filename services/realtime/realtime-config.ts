/** Settings and names of the real-time session state, in a settings' namespace. */
import type { CairnSettings } from '../config/environment';

export const realtimeConfig = {
  /** A session ends this long after the user's last interaction (the bucket's max age). */
  sessionTtlMs: 30 * 60_000,
  /** Recent items kept per session: as many as a request may send in `recentItems`. */
  recentKept: 50,
};

/** JetStream bucket names allow no dots. */
export const sessionBucket = (settings: Pick<CairnSettings, 'prefix'>) =>
  `${settings.prefix.replaceAll('.', '-')}cairn-sessions`;

export const sessionGroup = (settings: Pick<CairnSettings, 'prefix'>) =>
  `${settings.prefix}cairn-realtime-sessions`;
