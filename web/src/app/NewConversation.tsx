import { useEffect, useId, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import type { User } from '../lib';
import { useSocket } from '../lib/react';

interface Props {
  me: User;
  onUsers: (users: User[]) => void;
  onStart: (memberIds: number[], title: string | null) => Promise<void>;
}

/** "New conversation": search people (GET /api/users?q=), pick one or more, start. */
export function NewConversation({ me, onUsers, onStart }: Props): ReactNode {
  const { client } = useSocket();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<User[]>([]);
  const [selected, setSelected] = useState<User[]>([]);
  const [title, setTitle] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = useId();

  useEffect(() => {
    if (!open) return undefined;
    let cancelled = false;
    const timer = setTimeout(() => {
      client
        .searchUsers(query.trim())
        .then((users) => {
          if (cancelled) return;
          onUsers(users);
          setResults(users.filter((u) => u.id !== me.id));
          setError(null);
        })
        .catch((err: unknown) => {
          if (!cancelled) setError(err instanceof Error ? err.message : 'Search failed');
        });
    }, 200);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [client, query, open, me.id, onUsers]);

  function toggle(u: User): void {
    setSelected((cur) => (cur.some((s) => s.id === u.id) ? cur.filter((s) => s.id !== u.id) : [...cur, u]));
  }

  async function onSubmit(e: FormEvent<HTMLFormElement>): Promise<void> {
    e.preventDefault();
    if (selected.length === 0) return;
    setBusy(true);
    setError(null);
    try {
      await onStart(
        selected.map((u) => u.id),
        title.trim() || null,
      );
      setOpen(false);
      setSelected([]);
      setQuery('');
      setTitle('');
    } catch (err) {
      setError(err instanceof Error ? err.message : 'Could not start the conversation');
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return (
      <button type="button" className="primary wide" data-testid="new-conversation" onClick={() => setOpen(true)}>
        New conversation
      </button>
    );
  }

  return (
    <form className="new-conversation" onSubmit={(e) => void onSubmit(e)} aria-label="New conversation">
      <div className="field">
        <label htmlFor={`${ids}-q`}>Find people</label>
        <input
          id={`${ids}-q`}
          type="search"
          data-testid="user-search"
          placeholder="Name or e-mail"
          autoComplete="off"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          autoFocus
        />
      </div>
      <ul className="user-results" aria-label="People">
        {results.length === 0 && <li className="muted">No one found.</li>}
        {results.map((u) => {
          const picked = selected.some((s) => s.id === u.id);
          return (
            <li key={u.id}>
              <button
                type="button"
                className="user-result"
                aria-pressed={picked}
                data-testid="user-result"
                data-user-id={u.id}
                onClick={() => toggle(u)}
              >
                <span className="user-result__name">{u.name}</span>
                <span className="user-result__email">{u.email}</span>
                <span className="user-result__mark" aria-hidden="true">
                  {picked ? '✓' : '+'}
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {selected.length > 1 && (
        <div className="field">
          <label htmlFor={`${ids}-title`}>Title (optional)</label>
          <input id={`${ids}-title`} data-testid="conversation-title-input" value={title} onChange={(e) => setTitle(e.target.value)} />
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" data-testid="start-conversation" disabled={busy || selected.length === 0}>
          {selected.length ? `Start with ${selected.map((u) => u.name).join(', ')}` : 'Start'}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
