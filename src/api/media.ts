/**
 * Kazoo's `media_id` for the `play` actions. Kazoo resolves a media document id to a URL through its
 * media store; confmgr has no media store, so it plays what FreeSWITCH can open itself (an absolute
 * path or a URL / stream spec) and refuses a bare media id with a 400 that says why, instead of
 * handing FreeSWITCH a name it cannot open.
 */
import { ValidationError } from './errors.js';

/** Sources FreeSWITCH opens by itself: a path, or one of these schemes. */
const PLAYABLE_RE = /^(?:\/|(?:https?|http_cache|shout|tone_stream|silence_stream|file_string|local_stream):\/\/)/;

/** `data.media_id` as a file FreeSWITCH can play (validated further by the conference layer). */
export function playableMedia(data: Record<string, unknown>): string {
  const mediaId = data.media_id;
  if (mediaId === undefined || mediaId === null || mediaId === '') {
    throw ValidationError.field('media_id', 'required', "action 'play' requires a media ID or URL");
  }
  if (typeof mediaId !== 'string') throw ValidationError.field('media_id', 'type', 'Value is not of type string', 'string');
  if (!PLAYABLE_RE.test(mediaId)) {
    throw ValidationError.field(
      'media_id',
      'unresolvable',
      'confmgr has no media store to resolve a Kazoo media id: give an absolute path or a URL (http://, https://, shout://, tone_stream://…)',
    );
  }
  return mediaId;
}
