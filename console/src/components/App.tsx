import { useEffect, useReducer, useState } from 'preact/hooks';
import { ConsoleController, type ControllerDeps } from '../controller.js';
import { forgetToken, savedToken, saveToken } from '../session.js';
import { ConferenceList } from './ConferenceList.js';
import { ConferenceView } from './ConferenceView.js';
import { SignIn } from './SignIn.js';

/** `#/c/<conference id>` opens a conference; anything else is the list alone. */
function routeOf(hash: string): string | undefined {
  const m = /^#\/c\/(.+)$/.exec(hash);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

export function App({ deps }: { deps: ControllerDeps }) {
  const [token, setToken] = useState<string | undefined>(() => savedToken());
  const [accepted, setAccepted] = useState(false);
  const [signInError, setSignInError] = useState<string | undefined>(undefined);
  const [controller, setController] = useState<ConsoleController | undefined>(undefined);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [route, setRoute] = useState(() => routeOf(location.hash));
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    const tick = setInterval(() => setNow(Date.now()), 1000); // durations only: state comes from events
    return () => {
      removeEventListener('hashchange', onHash);
      clearInterval(tick);
    };
  }, []);

  useEffect(() => {
    if (token === undefined) return;
    setAccepted(false);
    const c = new ConsoleController(
      token,
      deps,
      () => {
        if (c.state.kind === 'refused') {
          forgetToken();
          setSignInError(`The token was refused: ${c.state.message}`);
          setToken(undefined);
          return;
        }
        rerender(0);
      },
      () => {
        saveToken(token);
        setSignInError(undefined);
        setAccepted(true);
      },
    );
    const unsubscribe = c.store.subscribe(() => rerender(0));
    setController(c);
    c.start();
    return () => {
      unsubscribe();
      c.stop();
      setController(undefined);
    };
  }, [token, deps]);

  const signOut = () => {
    forgetToken();
    setSignInError(undefined);
    setToken(undefined);
  };

  if (token === undefined) return <SignIn error={signInError} busy={false} onSubmit={setToken} />;
  if (!controller || !accepted) {
    const s = controller?.state;
    return (
      <main class="signin">
        <h1>confmgr console</h1>
        <p role="status">{s?.kind === 'reconnecting' ? `Cannot reach confmgr: ${s.reason}. Retrying…` : 'Signing in…'}</p>
        <button type="button" class="act" onClick={signOut}>
          Cancel
        </button>
      </main>
    );
  }

  const { store, state, api, sync } = controller;
  const conferences = store.conferences();
  return (
    <div class="shell">
      <header class="top">
        <h1>
          <a href="#/">confmgr console</a>
        </h1>
        <span class="account">account {state.kind === 'live' ? state.account : api?.account}</span>
        <span class={`link ${state.kind}`} role="status" data-link={state.kind}>
          {state.kind === 'live' ? '● live' : state.kind === 'reconnecting' ? `○ reconnecting (${state.reason})` : '○ connecting…'}
        </span>
        <button type="button" class="act" onClick={signOut}>
          Sign out
        </button>
      </header>
      {controller.error ? (
        <p class="banner error" role="alert">
          {controller.error}{' '}
          <button type="button" class="act" onClick={() => void sync?.reloadAll()}>
            Reload
          </button>
        </p>
      ) : null}
      <main>
        <ConferenceList conferences={conferences} selected={route} now={now} />
        {route !== undefined && api && sync ? (
          <ConferenceView key={route} id={route} conference={store.conference(route)} log={store.log(route)} now={now} api={api} store={store} sync={sync} />
        ) : null}
      </main>
    </div>
  );
}
