/**
 * Kazoo's `media_id` for the `play` actions. Kazoo resolves a media document id to a URL through its
 * media store; confmgr has none, so it plays what FreeSWITCH can open itself (an absolute path or a
 * URL / stream spec) as given, resolves a bare media id through the configured `media.location`
 * template, and without one refuses it with a 400 that says why, instead of handing FreeSWITCH a name
 * it cannot open.
 */
import { ValidationError } from './errors.js';

/** Sources FreeSWITCH opens by itself: a path, or one of these schemes. */
const PLAYABLE_RE = /^(?:\/|(?:https?|http_cache|shout|tone_stream|silence_stream|file_string|local_stream):\/\/)/;

/** A media id that may go into a template: Kazoo's ids (32 hex) and plain names, nothing path-like. */
const MEDIA_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** Where to find bare media ids: the `media.location` template and the requesting account. */
export interface MediaResolution {
  location: string | undefined;
  accountId: string;
}

/** `data.media_id` as a file FreeSWITCH can play (validated further by the conference layer). */
export function playableMedia(data: Record<string, unknown>, resolution?: MediaResolution): string {
  const mediaId = data.media_id;
  if (mediaId === undefined || mediaId === null || mediaId === '') {
    throw ValidationError.field('media_id', 'required', "action 'play' requires a media ID or URL");
  }
  if (typeof mediaId !== 'string') throw ValidationError.field('media_id', 'type', 'Value is not of type string', 'string');
  if (!PLAYABLE_RE.test(mediaId)) {
    if (resolution?.location !== undefined) {
      if (!MEDIA_ID_RE.test(mediaId)) {
        throw ValidationError.field('media_id', 'pattern', 'A media id is 1-128 letters, digits, _ and -; or give an absolute path or a URL');
      }
      return resolution.location.replaceAll('{media_id}', mediaId).replaceAll('{account_id}', encodeURIComponent(resolution.accountId));
    }
    throw ValidationError.field(
      'media_id',
      'unresolvable',
      'No media.location is configured to resolve a Kazoo media id: give an absolute path or a URL (http://, https://, shout://, tone_stream://…)',
    );
  }
  return mediaId;
}
