import { duration } from '../format.js';
import type { Conference } from '../types.js';

/** The account's running conferences; each name opens the conference. */
export function ConferenceList({ conferences, selected, now }: { conferences: Conference[]; selected: string | undefined; now: number }) {
  return (
    <section class="conferences" aria-labelledby="list-title">
      <h2 id="list-title">Conferences</h2>
      {conferences.length === 0 ? (
        <p class="notice">No conference is running on this account.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Node</th>
                <th scope="col" title="participants without the moderator flag">Members</th>
                <th scope="col">Moderators</th>
                <th scope="col">Duration</th>
                <th scope="col">Locked</th>
              </tr>
            </thead>
            <tbody>
              {conferences.map((c) => {
                let moderators = 0;
                for (const p of c.participants.values()) if (p.moderator) moderators++;
                return (
                  <tr key={c.id} data-conference={c.id} class={c.id === selected ? 'selected' : undefined}>
                    <th scope="row">
                      <a href={`#/c/${encodeURIComponent(c.id)}`} aria-current={c.id === selected ? 'page' : undefined}>
                        {c.name && c.name !== c.id ? `${c.name} (${c.id})` : c.id}
                      </a>
                    </th>
                    <td>{c.focus}</td>
                    <td class="num" data-col="members">{c.participants.size - moderators}</td>
                    <td class="num" data-col="moderators">{moderators}</td>
                    <td class="num">{duration((now - c.startedAt) / 1000)}</td>
                    <td data-col="locked">{c.locked ? 'locked' : 'no'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
