import { useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { isSwitchboardError } from '../lib';
import { useSocket } from '../lib/react';

type Mode = 'login' | 'register';

function describe(err: unknown, mode: Mode): string {
  if (isSwitchboardError(err)) {
    if (err.code === 'unauthorized') return 'Wrong e-mail or password.';
    if (err.code === 'conflict') return 'An account with this e-mail already exists.';
    if (err.code === 'network_error') return 'Cannot reach the server. Check your connection and try again.';
    return err.message;
  }
  return mode === 'login' ? 'Could not log in.' : 'Could not create the account.';
}

export function AuthScreen({ notice }: { notice: string | null }): ReactNode {
  const { login, register } = useSocket();
  const [mode, setMode] = useState<Mode>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = useId();

  async function onSubmit(e: FormEvent<HTMLFormElement>): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'login') await login({ email: email.trim(), password });
      else await register({ email: email.trim(), password, name: name.trim() });
    } catch (err) {
      setError(describe(err, mode));
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <h1 className="auth__title">Switchboard</h1>
      {notice && (
        <p className="notice" role="status" data-testid="auth-notice">
          {notice}
        </p>
      )}
      <div className="tabs" role="group" aria-label="Choose">
        <button
          type="button"
          className="tab"
          aria-pressed={mode === 'login'}
          data-testid="auth-mode-login"
          onClick={() => setMode('login')}
        >
          Log in
        </button>
        <button
          type="button"
          className="tab"
          aria-pressed={mode === 'register'}
          data-testid="auth-mode-register"
          onClick={() => setMode('register')}
        >
          Create account
        </button>
      </div>
      <form className="auth__form" onSubmit={(e) => void onSubmit(e)} data-testid="auth-form" data-mode={mode}>
        {mode === 'register' && (
          <div className="field">
            <label htmlFor={`${ids}-name`}>Name</label>
            <input
              id={`${ids}-name`}
              data-testid="name-input"
              autoComplete="name"
              required
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </div>
        )}
        <div className="field">
          <label htmlFor={`${ids}-email`}>E-mail</label>
          <input
            id={`${ids}-email`}
            data-testid="email-input"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${ids}-password`}>Password</label>
          <input
            id={`${ids}-password`}
            data-testid="password-input"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {error && (
          <p className="error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" data-testid="auth-submit" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'login' ? 'Log in' : 'Create account'}
        </button>
      </form>
    </main>
  );
}
