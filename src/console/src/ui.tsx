// Pieces every page uses: busy and error messages, a confirmation dialog, the secret shown
// once, paging, and the token table.
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { Link } from './router';
import type { ApiToken } from './queries';
import { expiryText, fullDate, kindText, lastUsedText, roleText, scopeText, shortDate, statusText } from './format';

/** A request under way: said to screen readers as well. */
export function Busy({ children }: { children: ReactNode }) {
  return (
    <p className="busy" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

export function ErrorMessage({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

export function Notice({ text }: { text: string | null | undefined }) {
  if (!text) return null;
  return (
    <p className="notice" role="status">
      {text}
    </p>
  );
}

/** A modal confirmation (the native <dialog>: focus stays inside, Escape cancels). */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  busyLabel: string;
  busy: boolean;
  danger?: boolean;
  error?: string | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) {
      dialog.showModal();
      // A destructive action is never one keypress away: focus starts on Cancel.
      if (props.danger) cancel.current?.focus();
    }
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        if (!props.busy) props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
      <ErrorMessage text={props.error} />
      <div className="actions">
        <button type="button" className={props.danger ? 'danger' : 'primary'} disabled={props.busy} aria-busy={props.busy} onClick={props.onConfirm}>
          {props.busy ? props.busyLabel : props.confirmLabel}
        </button>
        <button type="button" ref={cancel} disabled={props.busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** A new secret: shown here once, kept only in this component's state. */
export function SecretView({ secret, tokenName, children }: { secret: string; tokenName: string; children?: ReactNode }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <section className="secret" aria-labelledby="secret-title">
      <h2 id="secret-title">The secret of “{tokenName}”</h2>
      <p className="warning">
        <strong>Copy it now: it is shown only this once.</strong> Portcullis keeps only a hash of it, so nobody can show it again.
        Leaving this page drops it for good. Keep it like a password.
      </p>
      <label htmlFor="secret-value">Secret</label>
      <div className="secret-row">
        <input id="secret-value" className="mono" readOnly value={secret} onFocus={(event) => event.currentTarget.select()} />
        <button type="button" className="primary" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" aria-live="polite" className="hint">
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'failed' ? 'The browser did not allow copying: select the secret and copy it by hand.' : ''}
      </p>
      {children}
    </section>
  );
}

/** Previous / next over a cursor connection: the cursors of the pages before are kept here. */
export function usePaging(resetKey: string) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [key, setKey] = useState(resetKey);
  if (key !== resetKey) {
    setKey(resetKey);
    setCursors([null]);
  }
  const after = cursors[cursors.length - 1];
  return {
    after,
    page: cursors.length,
    next: (endCursor: string | null) => setCursors((list) => [...list, endCursor]),
    previous: () => setCursors((list) => (list.length > 1 ? list.slice(0, -1) : list)),
  };
}

export function Pager(props: { page: number; hasNext: boolean; onPrevious: () => void; onNext: () => void; label: string }) {
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" disabled={props.page <= 1} onClick={props.onPrevious}>
        Previous page
      </button>
      <span>Page {props.page}</span>
      <button type="button" disabled={!props.hasNext} onClick={props.onNext}>
        Next page
      </button>
    </nav>
  );
}

export function TokenTable({ tokens, caption, showCreator = false }: { tokens: ApiToken[]; caption: string; showCreator?: boolean }) {
  if (tokens.length === 0) return <p className="empty">No tokens match.</p>;
  return (
    <div className="table-wrap">
      <table className="tokens">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            <th scope="col">Kind</th>
            <th scope="col">Role</th>
            <th scope="col">Scope</th>
            {showCreator && <th scope="col">Created by</th>}
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((token) => (
            <tr key={token.id} data-token-id={token.id}>
              <th scope="row" data-label="Name">
                <Link to={`/tokens/${token.id}`}>{token.name}</Link>
              </th>
              <td data-label="Token" className="mono nowrap">
                {token.maskedToken}
              </td>
              <td data-label="Kind">{kindText(token)}</td>
              <td data-label="Role">{roleText(token)}</td>
              <td data-label="Scope">{scopeText(token)}</td>
              {showCreator && <td data-label="Created by">{token.createdBy?.name ?? (token.kind === 'SERVICE' ? 'a service token' : 'unknown')}</td>}
              <td data-label="Created" className="nowrap">
                <time dateTime={token.createdAt} title={fullDate(token.createdAt)}>
                  {shortDate(token.createdAt)}
                </time>
              </td>
              <td data-label="Last used" className="nowrap">
                {lastUsedText(token)}
              </td>
              <td data-label="Expires" className="nowrap" title={token.expiresAt ? fullDate(token.expiresAt) : undefined}>
                {expiryText(token)}
              </td>
              <td data-label="Status">
                <span className={`status status-${token.status.toLowerCase()}`}>{statusText(token)}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
