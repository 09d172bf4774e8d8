import { useState } from 'preact/hooks';

/**
 * The token form. `method="post"` and the page's `form-action 'none'` keep a native submission (script
 * not running) from ever putting the token into a URL.
 */
export function SignIn({ error, busy, onSubmit }: { error: string | undefined; busy: boolean; onSubmit: (token: string) => void }) {
  const [token, setToken] = useState('');
  return (
    <main class="signin">
      <h1>confmgr console</h1>
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          if (token.trim() !== '') onSubmit(token.trim());
        }}
      >
        <label for="token">API token</label>
        <p class="hint" id="token-hint">
          An <code>X-Auth-Token</code> from <code>http.tokens</code> in confmgr's configuration. It is kept in this tab only.
        </p>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          required
          aria-describedby="token-hint signin-error"
          aria-invalid={error ? 'true' : undefined}
          value={token}
          onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="act primary" aria-disabled={busy ? 'true' : undefined}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p id="signin-error" class="error" role="alert">
          {error ?? ''}
        </p>
      </form>
    </main>
  );
}
