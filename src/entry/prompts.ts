/**
 * What the caller hears at each step of the entry flow. Defaults are FreeSWITCH tone strings
 * (`tone_stream://`), so the flow works on a FreeSWITCH without sound packages; configured sound
 * files replace them one by one (`entry.prompts`). Each is one token: it travels as one argument of
 * `playback` / `play_and_get_digits`.
 */
export interface EntryPrompts {
  /** Asks for the PIN (before each try). Default: two rising beeps. */
  pin: string;
  /** A wrong or missing PIN, another try follows. Default: one busy-tone burst. */
  invalidPin: string;
  /** The last try failed; the call is hung up. Default: three falling tones. */
  pinFailed: string;
  /** No conference has the dialled number. Default: the special information tone (as for an unallocated number). */
  notFound: string;
  /** The conference is locked. Default: busy tone. */
  locked: string;
  /** The conference has `max_members` members. Default: fast busy (congestion). */
  full: string;
  /** Before recording the caller's name (`play_name`). Default: one long beep. */
  name: string;
}

export const DEFAULT_PROMPTS: EntryPrompts = {
  pin: 'tone_stream://%(250,100,660);%(250,0,880)',
  invalidPin: 'tone_stream://%(250,100,480,620)',
  pinFailed: 'tone_stream://%(300,100,620);%(300,100,480);%(500,0,350)',
  notFound: 'tone_stream://%(274,0,913.8);%(274,0,1370.6);%(380,0,1776.7)',
  locked: 'tone_stream://%(500,500,480,620);%(500,500,480,620)',
  full: 'tone_stream://%(250,250,480,620);%(250,250,480,620)',
  name: 'tone_stream://%(500,0,1000)',
};
