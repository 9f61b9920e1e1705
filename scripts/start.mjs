/**
 * `npm start`: install dependencies if this is a fresh clone, build the app, and serve the
 * build on a fixed local address. Only the npm registry is ever contacted (by `npm ci`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const host = process.env.HOST || '127.0.0.1';
const port = process.env.PORT || '4173';

function runOrExit(command, args) {
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`\n\`${command} ${args.join(' ')}\` failed (exit ${status}).`);
    process.exit(status ?? 1);
  }
}

if (!existsSync('node_modules')) runOrExit('npm', ['ci', '--no-audit', '--no-fund']);
// Vite's own entry, not npx: one process to signal, and no chance of npx reaching for the network.
const vite = 'node_modules/vite/bin/vite.js';
runOrExit(process.execPath, [vite, 'build']);

const server = spawn(process.execPath, [vite, 'preview', '--host', host, '--port', port, '--strictPort'], {
  stdio: ['inherit', 'pipe', 'inherit'],
});
let announced = false;
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!announced && String(chunk).includes(port)) {
    announced = true;
    console.log(`\nRAPM Studio is running at http://${host}:${port}/ (Ctrl+C stops it)`);
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));
