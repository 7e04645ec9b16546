/**
 * PostgreSQL connection URLs (`DATABASE_URL`): recognising one, saying what is wrong with one, and a form
 * safe to log. A URL may carry a password, so nothing here ever puts the URL itself, or any part of its
 * user information, into a message. The accepted shape is libpq's (PostgreSQL 15 docs §34.1.1.2):
 * `postgres[ql]://[user[:password]@][host][:port][/dbname][?param=value&…]`, including the unix-socket
 * form with an empty host and `?host=/socket/dir`.
 */

const SCHEME = /^postgres(?:ql)?:\/\//i;

/** Whether `text` names a PostgreSQL database (a `postgres://` or `postgresql://` URL), valid or not. */
export function isPostgresUrl(text: string): boolean {
  return SCHEME.test(text);
}

const PLACEHOLDER_HOST = 'placeholder.invalid';

/**
 * Parses with WHATWG URL, which refuses user information before an empty host (`tenzro@/db`), a form libpq
 * accepts (the socket directory then comes as `?host=`): that one is parsed with a placeholder host.
 */
function parse(text: string): { url: URL; emptyHost: boolean } | undefined {
  try {
    return { url: new URL(text), emptyHost: false };
  } catch {
    try {
      return { url: new URL(text.replace('@/', `@${PLACEHOLDER_HOST}/`)), emptyHost: true };
    } catch {
      return undefined;
    }
  }
}

function validPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

/**
 * What is wrong with `text` as a PostgreSQL URL, as a phrase to follow the variable's name (`must be …`),
 * or undefined when nothing is. The phrase never contains the URL or any part of it but its scheme.
 */
export function postgresUrlProblem(text: string): string | undefined {
  if (!isPostgresUrl(text)) {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1];
    return scheme === undefined
      ? 'must be a postgres:// or postgresql:// URL'
      : `must be a postgres:// or postgresql:// URL, not ${scheme}:`;
  }
  const url = parse(text)?.url;
  if (url === undefined) return 'is not a valid URL (check that special characters in the password are percent-encoded)';
  const port = url.searchParams.get('port');
  if (port !== null && !validPort(port)) return 'has a port parameter that is not an integer from 1 to 65535';
  if (url.hash !== '') return 'must not have a #fragment';
  return undefined;
}

/** The URL with any password replaced by `***`, for logs and messages (undefined: not a valid URL). */
export function redactPostgresUrl(text: string): string | undefined {
  const parsed = postgresUrlProblem(text) === undefined ? parse(text) : undefined;
  if (parsed === undefined) return undefined;
  const { url, emptyHost } = parsed;
  if (url.password !== '') url.password = '***';
  if (url.searchParams.has('password')) url.searchParams.set('password', '***');
  const shown = url.toString();
  return emptyHost ? shown.replace(`@${PLACEHOLDER_HOST}/`, '@/') : shown;
}
