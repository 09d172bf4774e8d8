// In-page probes for the console's browser tests and render bench, installed as a Playwright init
// script (before the page's own script; not subject to the page's CSP). Plain JavaScript: the Node
// project has no DOM types. Results in window.__probe:
//   arrivals   [time, event, participant_id] when each WebSocket event reached the page
//   talking    [time, member, "true"|"false"] when a row's data-talking attribute changed
//   violations CSP violations ("<directive> <blocked URI>")
//   frames     animation-frame timestamps, while window.__probe.recordFrames is true
(() => {
  const arrivals = [];
  const talking = [];
  const violations = [];
  const frames = [];
  const probe = { arrivals, talking, violations, frames, recordFrames: false };
  window.__probe = probe;
  document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  const Native = window.WebSocket;
  class ProbedWebSocket extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      // Registered before the page sets onmessage, so it runs first: the time the event reached the page.
      this.addEventListener('message', (e) => {
        try {
          const m = JSON.parse(String(e.data));
          if (m.event) arrivals.push([performance.now(), m.event, m.participant_id]);
        } catch {
          // not JSON: not an event
        }
      });
    }
  }
  window.WebSocket = ProbedWebSocket;
  new MutationObserver((records) => {
    const t = performance.now();
    for (const r of records) {
      if (r.attributeName === 'data-talking') talking.push([t, Number(r.target.getAttribute('data-member')), r.target.getAttribute('data-talking')]);
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-talking'] });
  const onFrame = (t) => {
    if (probe.recordFrames) frames.push(t);
    requestAnimationFrame(onFrame);
  };
  requestAnimationFrame(onFrame);
})();
