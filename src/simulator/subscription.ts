/**
 * What one ESL connection listens to: `event <format> <names…> [CUSTOM <subclasses…>]`, `nixevent`,
 * `noevents`, and `filter` / `filter delete` (an event passes when there are no filters or any matches).
 */
import type { EventFormat, SimEvent } from './event.js';

const FORMATS: ReadonlySet<string> = new Set(['plain', 'json', 'xml']);
const EVENT_NAME = /^[A-Z][A-Z0-9_]*$/;

export class Subscription {
  format: EventFormat | undefined;
  private all = false;
  private customAll = false;
  private readonly names = new Set<string>();
  private readonly subclasses = new Set<string>();
  private filters: Array<[string, string]> = [];

  get active(): boolean {
    return this.format !== undefined && (this.all || this.customAll || this.names.size > 0 || this.subclasses.size > 0);
  }

  /** `event …` arguments; the reply text. */
  subscribe(args: string): string {
    const words = args.split(/\s+/).filter((w) => w.length > 0);
    let format: EventFormat = 'plain';
    if (words.length > 0 && FORMATS.has(words[0]!.toLowerCase())) format = words.shift()!.toLowerCase() as EventFormat;
    let keys = 0;
    let custom = false;
    let subclassCount = 0;
    for (const w of words) {
      if (custom) {
        this.subclasses.add(w);
        subclassCount++;
        keys++;
        continue;
      }
      const name = w.toUpperCase();
      if (name === 'ALL') {
        this.all = true;
        keys++;
      } else if (name === 'CUSTOM') {
        custom = true;
        keys++;
      } else if (EVENT_NAME.test(name)) {
        this.names.add(name);
        keys++;
      }
    }
    // A bare CUSTOM means every subclass.
    if (custom && subclassCount === 0) this.customAll = true;
    if (keys === 0) return '-ERR no keywords supplied';
    this.format = format;
    return `+OK event listener enabled ${format}`;
  }

  nix(args: string): string {
    const words = args.split(/\s+/).filter((w) => w.length > 0);
    let custom = false;
    let keys = 0;
    for (const w of words) {
      if (custom) {
        this.subclasses.delete(w);
        keys++;
        continue;
      }
      const name = w.toUpperCase();
      if (name === 'ALL') {
        this.all = false;
        this.customAll = false;
        this.names.clear();
        this.subclasses.clear();
        keys++;
      } else if (name === 'CUSTOM') {
        custom = true;
        this.customAll = false;
        keys++;
      } else if (EVENT_NAME.test(name)) {
        this.names.delete(name);
        keys++;
      }
    }
    return keys === 0 ? '-ERR no keywords supplied' : '+OK events nixed';
  }

  clear(): string {
    this.format = undefined;
    this.all = false;
    this.customAll = false;
    this.names.clear();
    this.subclasses.clear();
    return '+OK no longer listening for events';
  }

  /** `filter <header> <value>` or `filter delete <header> [<value>|all]`. */
  filter(args: string): string {
    const sp = args.indexOf(' ');
    const header = sp < 0 ? args : args.slice(0, sp);
    const value = sp < 0 ? undefined : args.slice(sp + 1);
    if (header.toLowerCase() === 'delete' && value !== undefined) {
      const sp2 = value.indexOf(' ');
      const name = sp2 < 0 ? value : value.slice(0, sp2);
      const v = sp2 < 0 ? undefined : value.slice(sp2 + 1);
      if (name.toLowerCase() === 'all') this.filters = [];
      else this.filters = this.filters.filter(([h, fv]) => !(h === name && (v === undefined || fv === v)));
      return `+OK filter deleted. [${name}]=[${v ?? ''}]`;
    }
    if (header === '' || value === undefined || value === '') return '-ERR invalid syntax';
    this.filters.push([header, value]);
    return `+OK filter added. [${header}]=[${value}]`;
  }

  wants(event: SimEvent): boolean {
    if (this.format === undefined) return false;
    let subscribed = this.all;
    if (!subscribed) {
      if (event.name === 'CUSTOM') subscribed = this.customAll || (event.subclass !== undefined && this.subclasses.has(event.subclass));
      else subscribed = this.names.has(event.name);
    }
    if (!subscribed) return false;
    if (this.filters.length === 0) return true;
    for (const [h, v] of this.filters) {
      const actual = event.header(h);
      if (actual === undefined) continue;
      if (v.length > 2 && v.startsWith('/') && v.endsWith('/')) {
        try {
          if (new RegExp(v.slice(1, -1)).test(actual)) return true;
        } catch {
          // an invalid regex never matches
        }
      } else if (actual === v) return true;
    }
    return false;
  }
}
