// For an organization's OWNERs: every token of the organization (with who created each) and
// its audit log, paged.
import { useQuery } from 'urql';
import { errorText } from '../client';
import { actionText, fromNow, fullDate } from '../format';
import { ORGANIZATION_AUDIT, type AuditEvent, type Connection, type Organization } from '../queries';
import { Link } from '../router';
import { Busy, ErrorMessage, Pager, usePaging } from '../ui';
import { seenToken } from '../tokenLookup';
import { TokenList } from './Tokens';

function AuditLog({ organizationId }: { organizationId: string }) {
  const paging = usePaging(organizationId);
  const [result] = useQuery<{ organization: { auditEvents: Connection<AuditEvent> } | null }>({
    query: ORGANIZATION_AUDIT,
    variables: { id: organizationId, first: 25, after: paging.after },
  });
  const connection = result.data?.organization?.auditEvents;
  return (
    <section aria-labelledby="audit-title" aria-busy={result.fetching}>
      <h2 id="audit-title">Audit log</h2>
      {result.fetching && <Busy>Loading the audit log…</Busy>}
      <ErrorMessage text={errorText(result.error)} />
      {connection && connection.edges.length === 0 && <p className="empty">Nothing recorded yet.</p>}
      {connection && connection.edges.length > 0 && (
        <div className="table-wrap">
          <table className="audit">
            <caption className="visually-hidden">Audit log, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
              </tr>
            </thead>
            <tbody>
              {connection.edges.map(({ node }) => (
                <tr key={node.id}>
                  <td data-label="When">
                    <time dateTime={node.createdAt} title={fullDate(node.createdAt)}>
                      {fromNow(node.createdAt)}
                    </time>
                  </td>
                  <td data-label="Who">{node.actorName}</td>
                  <td data-label="What">{actionText(node.action)}</td>
                  <td data-label="Target">
                    <TargetText id={node.targetId} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {connection && (
        <Pager label="Audit log pages" page={paging.page} hasNext={connection.pageInfo.hasNextPage} onPrevious={paging.previous} onNext={() => paging.next(connection.pageInfo.endCursor)} />
      )}
    </section>
  );
}

/** A target by name when it is a token seen on the tokens tab, else its id. */
function TargetText({ id }: { id: string | null }) {
  if (!id) return <>—</>;
  const token = seenToken(id);
  return token ? <>token “{token.name}”</> : <span className="mono">{id}</span>;
}

export function OrganizationPage({ organization, tab }: { organization: Organization | undefined; tab: 'tokens' | 'audit' }) {
  if (!organization || organization.viewerRole !== 'OWNER') {
    return (
      <main id="main">
        <h1>Organization</h1>
        <p>Only the organization’s owners see this page.</p>
      </main>
    );
  }
  const base = `/organizations/${organization.id}`;
  return (
    <main id="main">
      <h1>Organization {organization.name}</h1>
      <nav className="tabs" aria-label="Organization views">
        <Link to={`${base}/tokens`} aria-current={tab === 'tokens' ? 'page' : undefined}>
          Tokens
        </Link>
        <Link to={`${base}/audit`} aria-current={tab === 'audit' ? 'page' : undefined}>
          Audit log
        </Link>
      </nav>
      {tab === 'tokens' ? <TokenList organizationId={organization.id} /> : <AuditLog organizationId={organization.id} />}
    </main>
  );
}
