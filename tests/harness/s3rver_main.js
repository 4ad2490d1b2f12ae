// Runs s3rver (@20minutes/s3rver, installed by scripts/setup.sh) on 127.0.0.1 with a free port
// for the tests; started and stopped by server_ctl.py. Writes <state-dir>/s3rver.port once it
// listens, keeps its data in <state-dir>/s3rver-data, and exits on SIGTERM, when the watched
// process (the one that ran `server_ctl.py start`) is gone, or after --max-lifetime seconds.
'use strict';

const fs = require('fs');
const path = require('path');

function arg(name) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const nodePrefix = arg('node-prefix');
const stateDir = arg('state-dir');
const watchPid = Number(arg('watch-pid'));
const watchStart = arg('watch-start');
const maxLifetimeS = Number(arg('max-lifetime') || 1800);

let S3rver;
try {
  S3rver = require(path.join(nodePrefix, 'node_modules', '@20minutes', 's3rver'));
} catch (e) {
  console.error(`s3rver is not installed under ${nodePrefix}: run bash scripts/setup.sh --tests (${e.message})`);
  process.exit(3);
}

function startTimeOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch (e) {
    return undefined;
  }
}

const dataDir = path.join(stateDir, 's3rver-data');
fs.rmSync(dataDir, { recursive: true, force: true });
fs.mkdirSync(dataDir, { recursive: true });

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: dataDir,
  resetOnClose: true,
});

let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  console.log(`s3rver stopping: ${why}`);
  setTimeout(() => process.exit(0), 2000).unref();
  server.close().catch(() => {}).finally(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

server.run().then(({ port }) => {
  const portFile = path.join(stateDir, 's3rver.port');
  fs.writeFileSync(portFile + '.tmp', `${port}\n`);
  fs.renameSync(portFile + '.tmp', portFile);
  console.log(`s3rver listening on 127.0.0.1:${port}`);
}, (err) => {
  console.error(`s3rver failed to start: ${err.stack || err}`);
  process.exit(1);
});

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
setInterval(() => {
  if (startTimeOf(watchPid) !== watchStart) shutdown(`watched process ${watchPid} is gone`);
}, 1000);
setTimeout(() => shutdown(`max lifetime ${maxLifetimeS} s reached`), maxLifetimeS * 1000).unref();
