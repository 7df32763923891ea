// The caller's tokens, newest first, with a name filter, a status filter and paging; an
// organization OWNER's view of every token of the organization uses the same table.
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { errorText } from '../client';
import { MY_TOKENS, ORGANIZATION_TOKENS, type ApiToken, type Connection, type TokenStatus } from '../queries';
import { Link } from '../router';
import { Busy, ErrorMessage, Notice, Pager, TokenTable, usePaging } from '../ui';
import { rememberTokens } from '../tokenLookup';

const PAGE_SIZE = 20;

function TokenFilters(props: { name: string; status: string; onName: (v: string) => void; onStatus: (v: string) => void }) {
  return (
    <form className="filters" role="search" aria-label="Filter tokens" onSubmit={(e) => e.preventDefault()}>
      <div className="field">
        <label htmlFor="filter-name">Name contains</label>
        <input id="filter-name" type="search" value={props.name} onChange={(e) => props.onName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="filter-status">Status</label>
        <select id="filter-status" value={props.status} onChange={(e) => props.onStatus(e.target.value)}>
          <option value="">Any status</option>
          <option value="ACTIVE">Active</option>
          <option value="EXPIRED">Expired</option>
          <option value="REVOKED">Revoked</option>
        </select>
      </div>
    </form>
  );
}

/** The filter's text, applied once typing pauses (one request, not one per key). */
function useSettled(value: string, delayMs = 250): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

export function TokenList({ organizationId, notice }: { organizationId?: string; notice?: string | null }) {
  const [name, setName] = useState('');
  const [status, setStatus] = useState('');
  const nameFilter = useSettled(name.trim());
  const filter = { ...(nameFilter && { nameContains: nameFilter }), ...(status && { status: status as TokenStatus }) };
  const paging = usePaging(`${organizationId}|${nameFilter}|${status}`);
  const [result] = useQuery<{ apiTokens?: Connection<ApiToken>; organization?: { apiTokens: Connection<ApiToken> } | null }>({
    query: organizationId ? ORGANIZATION_TOKENS : MY_TOKENS,
    variables: { ...(organizationId && { id: organizationId }), filter, first: PAGE_SIZE, after: paging.after },
  });
  const connection = organizationId ? result.data?.organization?.apiTokens : result.data?.apiTokens;
  const tokens = connection?.edges.map((edge) => edge.node) ?? [];
  useEffect(() => rememberTokens(tokens));

  return (
    <section aria-label={organizationId ? 'Every token of the organization' : 'Your tokens'} aria-busy={result.fetching}>
      <Notice text={notice} />
      <TokenFilters name={name} status={status} onName={setName} onStatus={setStatus} />
      {result.fetching && <Busy>Loading tokens…</Busy>}
      <ErrorMessage text={errorText(result.error)} />
      {connection && (
        <>
          <TokenTable tokens={tokens} caption={organizationId ? 'Tokens of the organization' : 'Your tokens, newest first'} showCreator={!!organizationId} />
          <Pager
            label="Token pages"
            page={paging.page}
            hasNext={connection.pageInfo.hasNextPage}
            onPrevious={paging.previous}
            onNext={() => paging.next(connection.pageInfo.endCursor)}
          />
        </>
      )}
    </section>
  );
}

export function TokensPage({ notice }: { notice?: string | null }) {
  return (
    <main id="main">
      <div className="page-head">
        <h1>Your tokens</h1>
        <Link to="/tokens/new" className="button primary">
          Create a token
        </Link>
      </div>
      <p className="lede">The tokens you created, newest first. A token’s secret is shown once, when it is created or regenerated.</p>
      <TokenList notice={notice} />
    </main>
  );
}
