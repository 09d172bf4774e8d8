/**
 * Which mod_conference profiles a FreeSWITCH knows. mod_conference does not refuse a profile it
 * cannot find: conference_function looks the name up in conference.conf's `<profiles>` and, when
 * it is absent, builds the conference from its compiled-in defaults (no sounds, no caller
 * controls) without a word on the wire. So confmgr asks first: `xml_locate configuration
 * configuration name conference.conf` (mod_commands) prints that section, whose
 * `<profile name="…">` elements are the profiles; a document's profile that is not among them is
 * replaced by `default`, and logged. When the section cannot be read (`-ERR`, an XML handler that
 * serves conference.conf per request), the profile is used as given.
 */
import type { Logger } from '../util/index.js';

export const PROFILES_QUERY = 'xml_locate configuration configuration name conference.conf';
const DEFAULT_TTL_MS = 60_000;

/** The profile names in an `xml_locate` answer; undefined when it is not conference.conf with profiles. */
export function profileNames(xml: string): Set<string> | undefined {
  const start = xml.indexOf('<profiles');
  if (start < 0) return undefined;
  const end = xml.indexOf('</profiles>', start);
  const section = end < 0 ? xml.slice(start) : xml.slice(start, end);
  const names = new Set<string>();
  for (const m of section.matchAll(/<profile\s[^>]*?\bname\s*=\s*"([^"]*)"/g)) names.add(m[1]!);
  return names;
}

export interface ProfileChoice {
  profile: string;
  /** True when the requested profile was unknown and `default` replaced it. */
  fellBack: boolean;
}

/** Per FreeSWITCH (a key: node name, Core-UUID): its profiles, read at most once a minute. */
export class ConferenceProfiles {
  private readonly known = new Map<string, { at: number; names: Set<string> | undefined }>();

  constructor(
    private readonly logger: Logger,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** `requested`, or `default` when that FreeSWITCH has no such profile (logged). */
  async choose(key: string, requested: string, query: (command: string) => Promise<string>, context: Record<string, unknown> = {}): Promise<ProfileChoice> {
    if (requested === 'default') return { profile: requested, fellBack: false };
    const names = await this.namesOf(key, query);
    if (names === undefined || names.has(requested)) return { profile: requested, fellBack: false };
    this.logger.warn({ ...context, profile: requested, fallback: 'default' }, 'conference profile unknown to FreeSWITCH; using default');
    return { profile: 'default', fellBack: true };
  }

  private async namesOf(key: string, query: (command: string) => Promise<string>): Promise<Set<string> | undefined> {
    const cached = this.known.get(key);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.names;
    let names: Set<string> | undefined;
    try {
      names = profileNames(await query(PROFILES_QUERY));
    } catch (err) {
      this.logger.debug({ err, key }, 'could not read conference.conf profiles');
      return cached?.names;
    }
    this.known.set(key, { at: this.now(), names });
    return names;
  }
}
