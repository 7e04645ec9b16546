/**
 * Starts a systemd unit file's service the way systemd would, without systemd (the test machines have no
 * init system): `[Service]` Environment= and EnvironmentFile= (whose values win, as in systemd),
 * StateDirectory= created under %S, WorkingDirectory=, and ExecStart= with the specifiers %i, %S and %%.
 * Three things are mapped for a test and nothing else: %S (a temp dir instead of /var/lib), the
 * EnvironmentFile paths (the test's files instead of /etc/tenzro/*.env) and the checkout in place of
 * WorkingDirectory /opt/tenzro with /usr/bin/node as this Node. Any other directive the runner does not
 * know fails the test, so the units cannot drift into something it silently ignores.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const HANDLED = new Set(['Type', 'WorkingDirectory', 'EnvironmentFile', 'Environment', 'StateDirectory', 'ExecStart']);
/** Directives systemd applies that do not change what the process is given (users, sandboxing, restarts). */
const NOT_APPLICABLE = new Set([
  'User',
  'Group',
  'KillSignal',
  'TimeoutStopSec',
  'Restart',
  'RestartSec',
  'NoNewPrivileges',
  'PrivateTmp',
  'ProtectSystem',
  'ProtectHome',
  'ReadWritePaths',
  'ReadOnlyPaths',
]);

export interface UnitLaunch {
  /** The instance name (%i): a port for the Tenzro units. */
  instance: string;
  /** Stands for %S (/var/lib). */
  stateRoot: string;
  /** Replaces each of the unit's EnvironmentFile= paths (/etc/tenzro/NAME.env → the test's file). */
  environmentFiles: Record<string, string>;
  /** Replaces WorkingDirectory=/opt/tenzro. */
  workingDirectory: string;
  /** stdout and stderr go here. */
  logFile: string;
}

export interface ParsedUnit {
  service: Array<[string, string]>;
}

export function parseUnit(text: string): ParsedUnit {
  const service: Array<[string, string]> = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`unit line without '=': ${line}`);
    if (section === 'Service') service.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return { service };
}

function specifiers(value: string, launch: UnitLaunch): string {
  return value.replace(/%([iS%])/g, (_, s: string) => (s === 'i' ? launch.instance : s === 'S' ? launch.stateRoot : '%'));
}

export function readEnvironmentFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`environment file line without '=': ${line}`);
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** Spawns the unit's ExecStart as systemd would give it; the caller owns the child. */
export function startUnit(unitPath: string, launch: UnitLaunch): ChildProcess {
  const unit = parseUnit(readFileSync(unitPath, 'utf8'));
  const environment: Record<string, string> = {};
  const fileEnvironment: Record<string, string> = {};
  let execStart: string | undefined;
  for (const [key, rawValue] of unit.service) {
    const value = specifiers(rawValue, launch);
    if (NOT_APPLICABLE.has(key)) continue;
    if (!HANDLED.has(key)) throw new Error(`${unitPath}: the test runner does not know ${key}=`);
    switch (key) {
      case 'Type':
        if (value !== 'simple') throw new Error(`${unitPath}: only Type=simple is supported`);
        break;
      case 'WorkingDirectory':
        if (value !== '/opt/tenzro') throw new Error(`${unitPath}: expected WorkingDirectory=/opt/tenzro`);
        break;
      case 'EnvironmentFile': {
        const file = launch.environmentFiles[value];
        if (file === undefined) throw new Error(`${unitPath}: the test maps no file for EnvironmentFile=${value}`);
        Object.assign(fileEnvironment, readEnvironmentFile(file)); // a later file wins, as in systemd
        break;
      }
      case 'Environment': {
        const eq = value.indexOf('=');
        environment[value.slice(0, eq)] = value.slice(eq + 1);
        break;
      }
      case 'StateDirectory':
        mkdirSync(join(launch.stateRoot, value), { recursive: true, mode: 0o700 });
        break;
      case 'ExecStart':
        execStart = value;
        break;
    }
  }
  if (!execStart) throw new Error(`${unitPath}: no ExecStart=`);
  const [program, ...args] = execStart.split(/\s+/);
  if (program !== '/usr/bin/node') throw new Error(`${unitPath}: expected ExecStart=/usr/bin/node …`);
  const log = createWriteStream(launch.logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, {
    cwd: launch.workingDirectory,
    // systemd: variables from EnvironmentFile= override those from Environment=. PATH stays for `node`'s children.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...environment, ...fileEnvironment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  child.once('exit', () => log.end());
  return child;
}
