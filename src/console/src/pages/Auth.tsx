// Sign up and log in. The password is sent once, with the form, and forgotten: the console
// keeps only the session token the API returns.
import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorText } from '../client';
import { LOG_IN, SIGN_UP } from '../queries';
import { Link, navigate } from '../router';
import { setSession, type Session } from '../session';
import { ErrorMessage } from '../ui';

export function AuthPage({ mode }: { mode: 'login' | 'signup' }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [logInResult, logIn] = useMutation<{ logIn: Session }>(LOG_IN);
  const [signUpResult, signUp] = useMutation<{ signUp: Session }>(SIGN_UP);
  const result = mode === 'login' ? logInResult : signUpResult;
  const signingUp = mode === 'signup';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const response = signingUp ? await signUp({ input: { email, password, name } }) : await logIn({ input: { email, password } });
    setPassword('');
    const session = signingUp ? (response.data as { signUp: Session } | undefined)?.signUp : (response.data as { logIn: Session } | undefined)?.logIn;
    if (session) {
      setSession(session);
      navigate('/tokens', { replace: true });
    }
  };

  const title = signingUp ? 'Create your account' : 'Log in';
  return (
    <main id="main" className="auth">
      <h1>{title}</h1>
      <p className="lede">The Portcullis token console: create, list, regenerate and revoke your API tokens.</p>
      <form onSubmit={submit} aria-describedby="auth-error" noValidate={false}>
        {signingUp && (
          <div className="field">
            <label htmlFor="name">Your name</label>
            <input id="name" name="name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
          </div>
        )}
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            name="password"
            type="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        <div id="auth-error">
          <ErrorMessage text={errorText(result.error)} />
        </div>
        <button type="submit" className="primary" disabled={result.fetching} aria-busy={result.fetching}>
          {result.fetching ? (signingUp ? 'Creating your account…' : 'Logging in…') : signingUp ? 'Sign up' : 'Log in'}
        </button>
      </form>
      <p>
        {signingUp ? (
          <>
            Already have an account? <Link to="/login">Log in</Link>
          </>
        ) : (
          <>
            New here? <Link to="/signup">Create an account</Link>
          </>
        )}
      </p>
    </main>
  );
}
