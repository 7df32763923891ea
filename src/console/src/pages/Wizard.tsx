// The create wizard: about the token, permissions (scope and role), expiry, review; then the
// secret, shown once. Roles offered are those the minting rule lets the user grant at the
// chosen scope (the API's viewerRole there; SERVICE tokens need EDITOR or OWNER).
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorText } from '../client';
import { ROLE_SUMMARY, fullDate, grantableRoles, roleAtLeast, scopeText } from '../format';
import { CREATE_TOKEN, MY_ORGANIZATIONS, ORGANIZATION_SPACES, SPACE_BOARDS, type ApiToken, type Board, type Connection, type Organization, type Role, type Space, type TokenKind } from '../queries';
import { Link } from '../router';
import { Busy, ErrorMessage, SecretView } from '../ui';

type ScopeChoice = 'EVERYTHING' | 'ORGANIZATION' | 'SPACE' | 'BOARDS';
type ExpiryChoice = '7' | '30' | '60' | '90' | 'CUSTOM' | 'NONE';
const STEPS = ['About the token', 'Permissions', 'Expiry', 'Review'] as const;
const NO_CAP = 'NO_CAP';

interface Draft {
  name: string;
  description: string;
  kind: TokenKind;
  organizationId: string;
  scope: ScopeChoice;
  spaceId: string;
  boardIds: string[];
  role: Role | typeof NO_CAP | '';
  expiry: ExpiryChoice;
  customDate: string;
}

const EMPTY: Draft = { name: '', description: '', kind: 'PERSONAL', organizationId: '', scope: 'SPACE', spaceId: '', boardIds: [], role: '', expiry: '30', customDate: '' };

function Choice(props: { name: string; value: string; checked: boolean; onChange: () => void; label: ReactNode; hint?: ReactNode; disabled?: boolean }) {
  const id = `${props.name}-${props.value}`;
  return (
    <div className="choice">
      <input type="radio" id={id} name={props.name} value={props.value} checked={props.checked} disabled={props.disabled} onChange={props.onChange} aria-describedby={props.hint ? `${id}-hint` : undefined} />
      <label htmlFor={id}>{props.label}</label>
      {props.hint && (
        <p className="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
    </div>
  );
}

function expiryWords(draft: Draft): string {
  if (draft.expiry === 'NONE') return 'Never expires';
  if (draft.expiry === 'CUSTOM') return draft.customDate ? `At the end of ${draft.customDate}` : 'A custom date';
  return `In ${draft.expiry} days`;
}

export function WizardPage() {
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [step, setStep] = useState(0);
  const [stepError, setStepError] = useState<string | null>(null);
  const [created, setCreated] = useState<{ secret: string; apiToken: ApiToken } | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const update = (change: Partial<Draft>) => setDraft((d) => ({ ...d, ...change }));

  const [orgsResult] = useQuery<{ organizations: Connection<Organization> }>({ query: MY_ORGANIZATIONS });
  const organizations = orgsResult.data?.organizations.edges.map((e) => e.node) ?? [];
  const organization = organizations.find((o) => o.id === draft.organizationId);
  const [placesResult] = useQuery<{ organization: (Organization & { spaces: Connection<Space> }) | null }>({
    query: ORGANIZATION_SPACES,
    variables: { id: draft.organizationId },
    pause: !draft.organizationId,
  });
  const spaces = placesResult.data?.organization?.spaces.edges.map((e) => e.node) ?? [];
  const space = spaces.find((s) => s.id === draft.spaceId);
  const [boardsResult] = useQuery<{ space: { boards: Connection<Board> } | null }>({
    query: SPACE_BOARDS,
    variables: { id: draft.spaceId },
    pause: !draft.spaceId || draft.scope !== 'BOARDS',
  });
  const boards = boardsResult.data?.space?.boards.edges.map((e) => e.node) ?? [];
  const [createResult, create] = useMutation<{ createApiToken: { secret: string; apiToken: ApiToken } }>(CREATE_TOKEN);

  // The first organization is chosen for the user.
  useEffect(() => {
    if (!draft.organizationId && organizations.length > 0) update({ organizationId: organizations[0].id });
  }, [draft.organizationId, organizations.length]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (step > 0) heading.current?.focus();
  }, [step]);

  const ownRole: Role | null | undefined =
    draft.scope === 'EVERYTHING'
      ? organizations.reduce<Role | null>((best, o) => (o.viewerRole && (!best || roleAtLeast(o.viewerRole, best)) ? o.viewerRole : best), null)
      : draft.scope === 'ORGANIZATION'
        ? organization?.viewerRole
        : space?.viewerRole;
  const roles = grantableRoles(draft.kind, ownRole);
  const roleIsValid = (draft.role === NO_CAP && draft.kind === 'PERSONAL') || (draft.role !== '' && draft.role !== NO_CAP && roles.includes(draft.role));

  const scopeWords = (): string => {
    if (draft.scope === 'EVERYTHING') return 'Everything you can reach';
    const chosen = boards.filter((b) => draft.boardIds.includes(b.id));
    return scopeText({
      scopeType: draft.scope,
      organization: organization ? { id: organization.id, name: organization.name } : null,
      space: space ? { id: space.id, name: space.name } : null,
      boards: chosen,
    });
  };

  function check(current: number): string | null {
    if (current === 0 && !draft.name.trim()) return 'Give the token a name (for example, the job or service that will use it).';
    if (current === 1) {
      if (draft.scope !== 'EVERYTHING' && !draft.organizationId) return 'Choose an organization.';
      if ((draft.scope === 'SPACE' || draft.scope === 'BOARDS') && !draft.spaceId) return 'Choose a space.';
      if (draft.scope === 'BOARDS' && draft.boardIds.length === 0) return 'Choose at least one board.';
      if (!roleIsValid) return roles.length === 0 ? 'You cannot grant any role here: choose another scope or token type.' : 'Choose a role.';
    }
    if (current === 2 && draft.expiry === 'CUSTOM') {
      if (!draft.customDate) return 'Choose the expiry date.';
      if (new Date(`${draft.customDate}T23:59:59`).getTime() <= Date.now()) return 'Choose a date in the future.';
    }
    return null;
  }

  const next = (event: FormEvent) => {
    event.preventDefault();
    const problem = check(step);
    setStepError(problem);
    if (!problem) setStep((s) => s + 1);
  };

  const submit = async () => {
    const input: Record<string, unknown> = { name: draft.name.trim(), kind: draft.kind };
    if (draft.description.trim()) input.description = draft.description.trim();
    if (draft.role && draft.role !== NO_CAP) input.role = draft.role;
    if (draft.scope === 'ORGANIZATION') input.organizationId = draft.organizationId;
    if (draft.scope === 'SPACE') input.spaceId = draft.spaceId;
    if (draft.scope === 'BOARDS') input.boardIds = draft.boardIds;
    if (draft.expiry === 'CUSTOM') input.expiresAt = new Date(`${draft.customDate}T23:59:59`).toISOString();
    else if (draft.expiry !== 'NONE') input.expiresInSeconds = Number(draft.expiry) * 86400;
    const result = await create({ input });
    if (result.data) setCreated(result.data.createApiToken);
  };

  if (created) {
    return (
      <main id="main">
        <h1>Token created</h1>
        <SecretView secret={created.secret} tokenName={created.apiToken.name}>
          <p className="actions">
            <Link to="/tokens" className="button">
              Done: back to your tokens
            </Link>
            <Link to={`/tokens/${created.apiToken.id}`} className="button">
              Open the token
            </Link>
          </p>
        </SecretView>
      </main>
    );
  }

  return (
    <main id="main">
      <h1>Create a token</h1>
      <ol className="steps" aria-label="Steps">
        {STEPS.map((title, index) => (
          <li key={title} aria-current={index === step ? 'step' : undefined} className={index < step ? 'done' : undefined}>
            {title}
          </li>
        ))}
      </ol>
      <form onSubmit={next} className="wizard" aria-labelledby="step-title" noValidate>
        <h2 id="step-title" ref={heading} tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>

        {step === 0 && (
          <>
            <div className="field">
              <label htmlFor="token-name">Name (required)</label>
              <input id="token-name" required maxLength={200} value={draft.name} onChange={(e) => update({ name: e.target.value })} aria-describedby="token-name-hint" />
              <p className="hint" id="token-name-hint">
                Who or what will use it, e.g. “CI deploys”.
              </p>
            </div>
            <div className="field">
              <label htmlFor="token-description">Description</label>
              <textarea id="token-description" rows={2} value={draft.description} onChange={(e) => update({ description: e.target.value })} />
            </div>
            <fieldset>
              <legend>Token type</legend>
              <Choice name="kind" value="PERSONAL" checked={draft.kind === 'PERSONAL'} onChange={() => update({ kind: 'PERSONAL', role: '' })} label="Personal" hint="Acts as you, never beyond your own rights; it loses access when you do." />
              <Choice
                name="kind"
                value="SERVICE"
                checked={draft.kind === 'SERVICE'}
                onChange={() => update({ kind: 'SERVICE', role: '', scope: draft.scope === 'EVERYTHING' ? 'SPACE' : draft.scope })}
                label="Service"
                hint="Belongs to the organization with exactly its role, whatever happens to your account. Needs EDITOR or OWNER."
              />
            </fieldset>
          </>
        )}

        {step === 1 && (
          <>
            {orgsResult.fetching && <Busy>Loading your organizations…</Busy>}
            <ErrorMessage text={errorText(orgsResult.error)} />
            <fieldset>
              <legend>Scope</legend>
              {draft.kind === 'PERSONAL' && (
                <Choice name="scope" value="EVERYTHING" checked={draft.scope === 'EVERYTHING'} onChange={() => update({ scope: 'EVERYTHING', role: '' })} label="Everything I can reach" hint="Every organization, space and board you are a member of." />
              )}
              <Choice name="scope" value="ORGANIZATION" checked={draft.scope === 'ORGANIZATION'} onChange={() => update({ scope: 'ORGANIZATION', role: '' })} label="A whole organization" />
              <Choice name="scope" value="SPACE" checked={draft.scope === 'SPACE'} onChange={() => update({ scope: 'SPACE', role: '' })} label="One space" />
              <Choice name="scope" value="BOARDS" checked={draft.scope === 'BOARDS'} onChange={() => update({ scope: 'BOARDS', role: '' })} label="Chosen boards of one space" />
            </fieldset>
            {draft.scope !== 'EVERYTHING' && (
              <div className="field">
                <label htmlFor="scope-organization">Organization</label>
                <select id="scope-organization" value={draft.organizationId} onChange={(e) => update({ organizationId: e.target.value, spaceId: '', boardIds: [], role: '' })}>
                  {organizations.length === 0 && <option value="">You belong to no organization yet</option>}
                  {organizations.map((o) => (
                    <option key={o.id} value={o.id}>
                      {o.name}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {(draft.scope === 'SPACE' || draft.scope === 'BOARDS') && (
              <div className="field">
                <label htmlFor="scope-space">Space</label>
                {placesResult.fetching && <Busy>Loading spaces…</Busy>}
                <ErrorMessage text={errorText(placesResult.error)} />
                <select id="scope-space" value={draft.spaceId} onChange={(e) => update({ spaceId: e.target.value, boardIds: [], role: '' })}>
                  <option value="">Choose a space</option>
                  {spaces.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name}
                    </option>
                  ))}
                </select>
              </div>
            )}
            {draft.scope === 'BOARDS' && space && (
              <fieldset>
                <legend>Boards in {space.name}</legend>
                {boardsResult.fetching && <Busy>Loading boards…</Busy>}
                <ErrorMessage text={errorText(boardsResult.error)} />
                {boardsResult.data && boards.length === 0 && <p className="hint">This space has no boards.</p>}
                {boards.map((board) => (
                  <div className="choice" key={board.id}>
                    <input
                      type="checkbox"
                      id={`board-${board.id}`}
                      checked={draft.boardIds.includes(board.id)}
                      onChange={(e) => update({ boardIds: e.target.checked ? [...draft.boardIds, board.id] : draft.boardIds.filter((id) => id !== board.id) })}
                    />
                    <label htmlFor={`board-${board.id}`}>{board.name}</label>
                  </div>
                ))}
              </fieldset>
            )}
            <fieldset>
              <legend>Role</legend>
              {ownRole !== undefined && roles.length === 0 && (
                <p className="hint" role="note">
                  {draft.kind === 'SERVICE'
                    ? `Service tokens need EDITOR or OWNER in the whole scope; your role here is ${ownRole ?? 'none over the whole scope'}. Choose a personal token or another scope.`
                    : 'You have no role over this whole scope: choose another one.'}
                </p>
              )}
              {draft.kind === 'PERSONAL' && roles.length > 0 && (
                <Choice name="role" value={NO_CAP} checked={draft.role === NO_CAP} onChange={() => update({ role: NO_CAP })} label="No cap: your own role" hint="The token does what you can do there, now and as your role changes." />
              )}
              {roles.map((role) => (
                <Choice key={role} name="role" value={role} checked={draft.role === role} onChange={() => update({ role })} label={role} hint={ROLE_SUMMARY[role]} />
              ))}
            </fieldset>
          </>
        )}

        {step === 2 && (
          <fieldset>
            <legend>Expires</legend>
            {(['7', '30', '60', '90'] as const).map((days) => (
              <Choice key={days} name="expiry" value={days} checked={draft.expiry === days} onChange={() => update({ expiry: days })} label={`In ${days} days`} />
            ))}
            <Choice name="expiry" value="CUSTOM" checked={draft.expiry === 'CUSTOM'} onChange={() => update({ expiry: 'CUSTOM' })} label="On a date I choose" />
            {draft.expiry === 'CUSTOM' && (
              <div className="field nested">
                <label htmlFor="expiry-date">Expiry date (the token stops at the end of that day)</label>
                <input id="expiry-date" type="date" value={draft.customDate} onChange={(e) => update({ customDate: e.target.value })} />
              </div>
            )}
            <Choice name="expiry" value="NONE" checked={draft.expiry === 'NONE'} onChange={() => update({ expiry: 'NONE' })} label="Never" hint="Not recommended: a leaked token without an expiry works until someone revokes it." />
          </fieldset>
        )}

        {step === 3 && (
          <dl className="review">
            <dt>Name</dt>
            <dd>{draft.name.trim()}</dd>
            <dt>Description</dt>
            <dd>{draft.description.trim() || 'None'}</dd>
            <dt>Type</dt>
            <dd>{draft.kind === 'PERSONAL' ? 'Personal (acts as you)' : 'Service (belongs to the organization)'}</dd>
            <dt>Scope</dt>
            <dd>{scopeWords()}</dd>
            <dt>Role</dt>
            <dd>{draft.role === NO_CAP ? 'Your own role (no cap)' : draft.role}</dd>
            <dt>Expires</dt>
            <dd>{expiryWords(draft)}{draft.expiry !== 'NONE' && draft.expiry !== 'CUSTOM' ? ` (${fullDate(new Date(Date.now() + Number(draft.expiry) * 86400_000).toISOString())})` : ''}</dd>
          </dl>
        )}

        <ErrorMessage text={stepError} />
        {step === 3 && <ErrorMessage text={errorText(createResult.error)} />}
        <div className="actions">
          {step > 0 && (
            <button type="button" onClick={() => { setStepError(null); setStep((s) => s - 1); }} disabled={createResult.fetching}>
              Back
            </button>
          )}
          {step < 3 ? (
            <button type="submit" className="primary">
              Next
            </button>
          ) : (
            <button type="button" className="primary" onClick={submit} disabled={createResult.fetching} aria-busy={createResult.fetching}>
              {createResult.fetching ? 'Creating the token…' : 'Create the token'}
            </button>
          )}
          <Link to="/tokens">Cancel</Link>
        </div>
      </form>
    </main>
  );
}
