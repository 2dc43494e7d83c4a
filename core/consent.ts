/** Whether rounds are kept as research transcripts: never, after the person agrees, or always. */
export type TranscriptPolicy = 'off' | 'opt-in' | 'on';

export const CONSENT_TEXT: Record<TranscriptPolicy, string | null> = {
  off: null,
  'opt-in':
    'Research: the rounds of this search are kept as a transcript only if you choose "Keep this search for research" or type /keep. /forget deletes your data.',
  on: 'Research: the rounds of searches here are kept as pseudonymized transcripts. /forget deletes your data.',
};
