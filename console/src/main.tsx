/**
 * The operator console's entry point (bundled into app.js; served by confmgr at /console/).
 */
import { render } from 'preact';
import { App } from './components/App.js';
import type { ControllerDeps } from './controller.js';
import type { SocketLike } from './live.js';

const deps: ControllerDeps = {
  pageUrl: location.href,
  openSocket: (url) => new WebSocket(url) as unknown as SocketLike,
  schedule: (flush) => void requestAnimationFrame(() => flush()),
};

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App deps={deps} />, root);
}
