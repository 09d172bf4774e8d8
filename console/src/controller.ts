/**
 * One signed-in session: the WebSocket link, the REST client for the token's account (known once the
 * WebSocket has authenticated the token), the store and its sync. The view reads `state` / `error`
 * and subscribes to the store.
 */
import { ApiClient } from './api.js';
import { LiveLink, type LinkState, type SocketLike } from './live.js';
import { ConsoleStore } from './store.js';
import { ConferenceSync } from './sync.js';

export interface ControllerDeps {
  pageUrl: string;
  openSocket: (url: string) => SocketLike;
  /** Runs a store flush later, once (requestAnimationFrame). */
  schedule: (flush: () => void) => void;
  fetchFn?: typeof fetch;
}

export class ConsoleController {
  readonly store: ConsoleStore;
  state: LinkState = { kind: 'connecting' };
  /** The last reload failure, shown until a reload succeeds. */
  error: string | undefined;
  api: ApiClient | undefined;
  sync: ConferenceSync | undefined;
  private readonly link: LiveLink;

  constructor(
    readonly token: string,
    private readonly deps: ControllerDeps,
    /** Link state or error changed. */
    private readonly onChange: () => void,
    /** The token was accepted (first subscription). */
    onAccepted: () => void,
  ) {
    this.store = new ConsoleStore(deps.schedule);
    const ws = new URL('../v2/websocket', deps.pageUrl);
    ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
    let accepted = false;
    this.link = new LiveLink({
      url: ws.href,
      token,
      openSocket: deps.openSocket,
      onState: (s) => {
        this.state = s;
        this.onChange();
      },
      onEvent: (e, at) => this.sync?.onEvent(e, at),
      onReady: (account) => {
        if (!this.api || this.api.account !== account) {
          this.api = new ApiClient(token, account, deps.pageUrl, deps.fetchFn);
          this.sync = new ConferenceSync({
            store: this.store,
            api: this.api,
            onError: (message) => {
              this.error = message;
              this.onChange();
            },
          });
        }
        if (!accepted) {
          accepted = true;
          onAccepted();
        }
        void this.sync!.reloadAll();
      },
    });
  }

  start(): void {
    this.link.start();
  }

  stop(): void {
    this.link.stop();
  }
}
