// The console's frame: header and navigation for a signed-in user, and the page for the path.
import { useEffect, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { errorText } from './client';
import { LOG_OUT, MY_ORGANIZATIONS, type Connection, type Organization } from './queries';
import { Link, navigate, usePath } from './router';
import { setSession, useSession } from './session';
import { AuthPage } from './pages/Auth';
import { TokensPage } from './pages/Tokens';
import { WizardPage } from './pages/Wizard';
import { TokenPage } from './pages/TokenPage';
import { OrganizationPage } from './pages/Organization';
import { ErrorMessage } from './ui';

const TITLES: [RegExp, string][] = [
  [/^\/login$/, 'Log in'],
  [/^\/signup$/, 'Sign up'],
  [/^\/tokens\/new$/, 'Create a token'],
  [/^\/tokens\/.+/, 'Token'],
  [/^\/organizations\/.+/, 'Organization'],
  [/.*/, 'Your tokens'],
];

export function App() {
  const session = useSession();
  const path = usePath();
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    document.title = `${TITLES.find(([pattern]) => pattern.test(path))![1]} · Portcullis console`;
  }, [path]);

  // Signed out: only the log-in and sign-up pages.
  useEffect(() => {
    if (!session && path !== '/login' && path !== '/signup') navigate('/login', { replace: true });
    if (session && (path === '/' || path === '/login' || path === '/signup')) navigate('/tokens', { replace: true });
  }, [session, path]);

  if (!session) {
    return (
      <>
        <SkipLink />
        <AuthPage key={path} mode={path === '/signup' ? 'signup' : 'login'} />
      </>
    );
  }
  return <SignedIn path={path} notice={notice} setNotice={setNotice} />;
}

function SkipLink() {
  return (
    <a href="#main" className="skip-link">
      Skip to the content
    </a>
  );
}

function SignedIn({ path, notice, setNotice }: { path: string; notice: string | null; setNotice: (n: string | null) => void }) {
  const session = useSession()!;
  const [orgsResult] = useQuery<{ organizations: Connection<Organization> }>({ query: MY_ORGANIZATIONS });
  const owned = orgsResult.data?.organizations.edges.map((e) => e.node).filter((o) => o.viewerRole === 'OWNER') ?? [];
  const [logOutResult, logOut] = useMutation(LOG_OUT);

  // A notice (e.g. "deleted") shows on the tokens page it leads to, and goes once the user moves on.
  useEffect(() => {
    if (path !== '/tokens') setNotice(null);
  }, [path, setNotice]);

  const signOut = async () => {
    await logOut({});
    // Whatever the answer, this tab forgets the session.
    setSession(null);
  };

  let page;
  let match: RegExpExecArray | null;
  if (path === '/tokens/new') page = <WizardPage />;
  else if ((match = /^\/tokens\/([^/]+)$/.exec(path))) page = <TokenPage key={match[1]} id={decodeURIComponent(match[1])} onDeleted={setNotice} />;
  else if ((match = /^\/organizations\/([^/]+)(?:\/(tokens|audit))?$/.exec(path))) {
    const organization = orgsResult.data?.organizations.edges.map((e) => e.node).find((o) => o.id === decodeURIComponent(match![1]));
    page = orgsResult.fetching && !orgsResult.data ? <main id="main" /> : <OrganizationPage organization={organization} tab={match[2] === 'audit' ? 'audit' : 'tokens'} />;
  } else page = <TokensPage notice={notice} />;

  return (
    <>
      <SkipLink />
      <header className="top">
        <Link to="/tokens" className="brand">
          Portcullis console
        </Link>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/tokens" aria-current={path === '/tokens' ? 'page' : undefined}>
                Tokens
              </Link>
            </li>
            <li>
              <Link to="/tokens/new" aria-current={path === '/tokens/new' ? 'page' : undefined}>
                New token
              </Link>
            </li>
            {owned.map((o) => (
              <li key={o.id}>
                <Link to={`/organizations/${o.id}/tokens`} aria-current={path.startsWith(`/organizations/${o.id}`) ? 'page' : undefined}>
                  Organization {o.name}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="account">
          <span className="who" title={session.user.email}>
            {session.user.name}
          </span>
          <button type="button" onClick={signOut} disabled={logOutResult.fetching} aria-busy={logOutResult.fetching}>
            {logOutResult.fetching ? 'Logging out…' : 'Log out'}
          </button>
        </div>
      </header>
      <ErrorMessage text={errorText(orgsResult.error)} />
      {page}
    </>
  );
}
