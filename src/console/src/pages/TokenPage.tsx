// One token: its details; edit name, description and role; regenerate (the new secret shown
// once); revoke and delete, each after a confirmation.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useClient, useMutation } from 'urql';
import { errorText } from '../client';
import { ROLES, ROLE_SUMMARY, expiryText, fullDate, kindText, lastUsedText, roleText, scopeText, statusText } from '../format';
import { DELETE_TOKEN, REGENERATE_TOKEN, REVOKE_TOKEN, UPDATE_TOKEN, type ApiToken, type Role } from '../queries';
import { Link, navigate } from '../router';
import { findToken, forgetToken, rememberTokens, seenToken } from '../tokenLookup';
import { Busy, ConfirmDialog, ErrorMessage, Notice, SecretView } from '../ui';

const GRACE_PERIODS = [
  { seconds: 0, label: 'None: the old secret stops at once' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '24 hours' },
];

export function TokenPage({ id, onDeleted }: { id: string; onDeleted: (message: string) => void }) {
  const client = useClient();
  const [token, setToken] = useState<ApiToken | null | undefined>(() => seenToken(id));
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'revoke' | 'delete' | 'regenerate' | null>(null);
  const [grace, setGrace] = useState(0);
  const [edit, setEdit] = useState<{ name: string; description: string; role: Role | '' } | null>(null);

  const [updateResult, update] = useMutation<{ updateApiToken: ApiToken }>(UPDATE_TOKEN);
  const [regenerateResult, regenerate] = useMutation<{ regenerateApiToken: { secret: string; apiToken: ApiToken } }>(REGENERATE_TOKEN);
  const [revokeResult, revoke] = useMutation<{ revokeApiToken: ApiToken }>(REVOKE_TOKEN);
  const [deleteResult, remove] = useMutation<{ deleteApiToken: string }>(DELETE_TOKEN);

  const load = useCallback(async () => {
    setLoading(true);
    try {
      const found = await findToken(client, id);
      setToken(found);
      if (found) rememberTokens([found]);
      setLoadError(null);
    } catch (error) {
      setLoadError(errorText(error as Error));
    } finally {
      setLoading(false);
    }
  }, [client, id]);
  useEffect(() => {
    void load();
  }, [load]);

  // A new action starts without the last one's notice, so a notice always says what just happened.
  const openDialog = (which: 'revoke' | 'delete' | 'regenerate') => {
    setNotice(null);
    setDialog(which);
  };

  const saved = (changed: ApiToken, message: string) => {
    setToken(changed);
    rememberTokens([changed]);
    setNotice(message);
  };

  const saveEdit = async (event: FormEvent) => {
    event.preventDefault();
    if (!edit || !token) return;
    if (!edit.name.trim()) return;
    const input: Record<string, unknown> = { id: token.id, name: edit.name.trim(), description: edit.description.trim() || null };
    if (edit.role && edit.role !== token.role) input.role = edit.role;
    const result = await update({ input });
    if (result.data) {
      setEdit(null);
      saved(result.data.updateApiToken, 'Changes saved.');
    }
  };

  const confirmRegenerate = async () => {
    if (!token) return;
    const result = await regenerate({ id: token.id, gracePeriodSeconds: grace });
    if (result.data) {
      setDialog(null);
      setSecret(result.data.regenerateApiToken.secret);
      saved(result.data.regenerateApiToken.apiToken, grace > 0 ? 'Regenerated: the old secret keeps working for the grace period you chose.' : 'Regenerated: the old secret no longer works.');
    }
  };

  const confirmRevoke = async () => {
    if (!token) return;
    const result = await revoke({ id: token.id });
    if (result.data) {
      setDialog(null);
      saved(result.data.revokeApiToken, 'Revoked: the token no longer works. It stays listed as revoked.');
    }
  };

  const confirmDelete = async () => {
    if (!token) return;
    const result = await remove({ id: token.id });
    if (result.data) {
      setDialog(null);
      forgetToken(token.id);
      onDeleted(`The token “${token.name}” was deleted.`);
      navigate('/tokens');
    }
  };

  if (!token) {
    return (
      <main id="main">
        <h1>Token</h1>
        {loading && <Busy>Loading the token…</Busy>}
        <ErrorMessage text={loadError} />
        {!loading && !loadError && <p>This token does not exist, or you cannot see it.</p>}
        <p>
          <Link to="/tokens">Back to your tokens</Link>
        </p>
      </main>
    );
  }

  const revoked = token.status === 'REVOKED';
  return (
    <main id="main">
      <p>
        <Link to="/tokens">← Your tokens</Link>
      </p>
      <div className="page-head">
        <h1>{token.name}</h1>
        <span className={`status status-${token.status.toLowerCase()}`}>{statusText(token)}</span>
      </div>
      {loading && <Busy>Refreshing…</Busy>}
      <ErrorMessage text={loadError} />
      <Notice text={notice} />
      {secret && <SecretView secret={secret} tokenName={token.name} />}

      <dl className="details">
        <dt>Token</dt>
        <dd className="mono">{token.maskedToken}</dd>
        <dt>Description</dt>
        <dd>{token.description || 'None'}</dd>
        <dt>Kind</dt>
        <dd>{kindText(token)}</dd>
        <dt>Role</dt>
        <dd>{roleText(token)}</dd>
        <dt>Scope</dt>
        <dd>{scopeText(token)}</dd>
        <dt>Created</dt>
        <dd>
          {fullDate(token.createdAt)}
          {token.createdBy ? ` by ${token.createdBy.name}` : ''}
        </dd>
        <dt>Last used</dt>
        <dd>{lastUsedText(token)}</dd>
        <dt>Expires</dt>
        <dd>
          {expiryText(token)}
          {token.expiresAt ? ` (${fullDate(token.expiresAt)})` : ''}
        </dd>
        {token.revokedAt && (
          <>
            <dt>Revoked</dt>
            <dd>{fullDate(token.revokedAt)}</dd>
          </>
        )}
      </dl>

      {edit ? (
        <form className="edit" onSubmit={saveEdit} aria-labelledby="edit-title">
          <h2 id="edit-title">Edit the token</h2>
          <div className="field">
            <label htmlFor="edit-name">Name (required)</label>
            <input id="edit-name" required value={edit.name} onChange={(e) => setEdit({ ...edit, name: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="edit-description">Description</label>
            <textarea id="edit-description" rows={2} value={edit.description} onChange={(e) => setEdit({ ...edit, description: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="edit-role">Role</label>
            <select id="edit-role" value={edit.role} onChange={(e) => setEdit({ ...edit, role: e.target.value as Role | '' })} aria-describedby="edit-role-hint">
              {!token.role && <option value="">Your own role (no cap)</option>}
              {ROLES.map((role) => (
                <option key={role} value={role}>
                  {role}: {ROLE_SUMMARY[role]}
                </option>
              ))}
            </select>
            <p className="hint" id="edit-role-hint">
              Never above what you may grant in the token’s scope: the gateway refuses more.
            </p>
          </div>
          <ErrorMessage text={errorText(updateResult.error)} />
          <div className="actions">
            <button type="submit" className="primary" disabled={updateResult.fetching} aria-busy={updateResult.fetching}>
              {updateResult.fetching ? 'Saving…' : 'Save changes'}
            </button>
            <button type="button" onClick={() => setEdit(null)} disabled={updateResult.fetching}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="actions">
          <button
            type="button"
            onClick={() => {
              setNotice(null);
              setEdit({ name: token.name, description: token.description ?? '', role: token.role ?? '' });
            }}
            disabled={revoked}
          >
            Edit
          </button>
          <button type="button" onClick={() => openDialog('regenerate')} disabled={revoked}>
            Regenerate
          </button>
          <button type="button" className="danger" onClick={() => openDialog('revoke')} disabled={revoked}>
            Revoke
          </button>
          <button type="button" className="danger" onClick={() => openDialog('delete')}>
            Delete
          </button>
        </div>
      )}

      <ConfirmDialog
        open={dialog === 'regenerate'}
        title={`Regenerate “${token.name}”?`}
        confirmLabel="Regenerate"
        busyLabel="Regenerating…"
        busy={regenerateResult.fetching}
        error={errorText(regenerateResult.error)}
        onConfirm={confirmRegenerate}
        onCancel={() => setDialog(null)}
      >
        <p>The token gets a new secret, shown once. Whatever uses the old secret must be given the new one.</p>
        <div className="field">
          <label htmlFor="grace-period">Grace period for the old secret</label>
          <select id="grace-period" value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
            {GRACE_PERIODS.map((option) => (
              <option key={option.seconds} value={option.seconds}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'revoke'}
        title={`Revoke “${token.name}”?`}
        confirmLabel="Revoke the token"
        busyLabel="Revoking…"
        danger
        busy={revokeResult.fetching}
        error={errorText(revokeResult.error)}
        onConfirm={confirmRevoke}
        onCancel={() => setDialog(null)}
      >
        <p>It stops working at once, everywhere, and cannot be restored. It stays in the list as revoked.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'delete'}
        title={`Delete “${token.name}”?`}
        confirmLabel="Delete the token"
        busyLabel="Deleting…"
        danger
        busy={deleteResult.fetching}
        error={errorText(deleteResult.error)}
        onConfirm={confirmDelete}
        onCancel={() => setDialog(null)}
      >
        <p>It stops working at once and disappears from every list. This cannot be undone.</p>
      </ConfirmDialog>
    </main>
  );
}
