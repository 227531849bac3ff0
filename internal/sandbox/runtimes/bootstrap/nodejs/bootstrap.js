'use strict';
// lambdaplane's Node.js runtime: a Lambda Runtime API client that loads the
// function's handler and serves invocations with the behaviour of Lambda's
// managed nodejs runtimes (handler resolution, callback and promise handlers,
// context object, log format, error shapes and exit codes).
//
// Usage: node bootstrap.js HANDLER TASK_ROOT
// Environment: AWS_LAMBDA_RUNTIME_API (host:port) and Lambda's reserved
// variables; NODE_PATH names the AWS SDK directories.

const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const Module = require('module');
const { pathToFileURL } = require('url');

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
// Lambda's messages name its own loader file in "Require stack" lists; ours
// is replaced by it so that error texts match what AWS returns.
const AWS_LOADER_FILE = '/var/runtime/index.mjs';

function runtimeErrorClass(name) {
  const cls = class extends Error {};
  // Set on the prototype before any instance exists, so that each stack
  // starts with "Runtime.<name>: ..." as Lambda's do.
  cls.prototype.name = 'Runtime.' + name;
  return cls;
}
const ImportModuleError = runtimeErrorClass('ImportModuleError');
const HandlerNotFound = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerName = runtimeErrorClass('MalformedHandlerName');
const UserCodeSyntaxError = runtimeErrorClass('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeErrorClass('UnhandledPromiseRejection');
const NodeJsExit = runtimeErrorClass('NodeJsExit');

// ---- Runtime API client ----------------------------------------------------

const [apiHost, apiPort] = (process.env.AWS_LAMBDA_RUNTIME_API || '').split(':');
// Kept-alive connections: normally one, reused for every request. A second
// one opens only when an error must be reported while /next is still
// pending. Idle kept-alive sockets are unref'd by Node, so they do not hold
// the event loop open (callbackWaitsForEmptyEventLoop relies on it draining).
const agent = new http.Agent({ keepAlive: true });

function apiRequest(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: API_PREFIX + urlPath, agent, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// A kept-alive connection the server closed while idle fails the next
// request on it; /next is safe to repeat once on a fresh connection.
async function nextInvocation() {
  try {
    return await apiRequest('GET', '/invocation/next');
  } catch (err) {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') throw err;
    return apiRequest('GET', '/invocation/next');
  }
}

function post(urlPath, body, extraHeaders) {
  const buf = Buffer.from(body, 'utf8');
  return apiRequest('POST', urlPath, buf, Object.assign({ 'Content-Type': 'application/json', 'Content-Length': buf.length }, extraHeaders));
}

// Error bodies follow the Node runtime's shape.
function toRapidResponse(err) {
  try {
    if (util.types.isNativeError(err) || isErrorLike(err)) {
      return { errorType: err.name, errorMessage: err.message, trace: err.stack.split('\n') };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function isErrorLike(e) {
  return e && typeof e.name === 'string' && typeof e.message === 'string' && typeof e.stack === 'string';
}

function postInitError(err) {
  const body = toRapidResponse(err);
  return post('/init/error', JSON.stringify(body), { [ERROR_TYPE_HEADER]: body.errorType });
}

function postInvocationError(id, err) {
  const body = toRapidResponse(err);
  return post(`/invocation/${encodeURIComponent(id)}/error`, JSON.stringify(body), { [ERROR_TYPE_HEADER]: body.errorType });
}

// ---- Logging -----------------------------------------------------------------

let currentRequestId; // "undefined" in lines printed before the first invocation, as on Lambda

function writeLog(level, args) {
  const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
  // One line per call: the log collector splits on \n, and Lambda keeps
  // multi-line messages in one event the same way.
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function patchConsole() {
  const levels = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', log: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'FATAL' };
  for (const [fn, level] of Object.entries(levels)) {
    console[fn] = (...args) => writeLog(level, args);
  }
}

// Error values in logs carry their own enumerable fields plus name, message,
// code and the stack as an array, after a tab (Lambda's "Invoke Error \t{...}").
function formatError(err) {
  const replacer = (_k, v) => {
    if (!(v instanceof Error)) return v;
    const out = Object.assign({ errorType: v.name, errorMessage: v.message, code: v.code }, v);
    if (typeof v.stack === 'string') out.stack = v.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(err, replacer);
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(err));
  }
}

function logError(title, err) {
  console.error(title, formatError(err instanceof Error ? err : new Error(err)));
}

// ---- Loading the handler ------------------------------------------------------

function fileExists(p) {
  try {
    return fs.statSync(p).isFile();
  } catch (_) {
    return false;
  }
}

// True when the nearest package.json above dir says "type": "module"; a
// node_modules directory ends the search, as in Node's own resolution.
function isModuleScope(dir) {
  for (;;) {
    if (dir.endsWith('/node_modules')) return false;
    const pj = path.join(dir, 'package.json');
    if (fileExists(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
        return false;
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

let sdkResolverRegistered = false;

// ES modules ignore NODE_PATH. On Lambda a bare `import '@aws-sdk/...'`
// still finds the SDK the runtime ships, so a resolve hook retries bare
// specifiers that the normal resolution (the function's own node_modules
// first) could not find against each NODE_PATH directory.
function registerSdkResolver() {
  if (sdkResolverRegistered || typeof Module.register !== 'function') return;
  sdkResolverRegistered = true;
  const parents = (process.env.NODE_PATH || '')
    .split(path.delimiter)
    .filter((d) => path.isAbsolute(d) && path.basename(d) === 'node_modules')
    .map((d) => pathToFileURL(path.join(path.dirname(d), 'lambdaplane-resolve.js')).href);
  if (parents.length === 0) return;
  const hook = `
const parents = ${JSON.stringify(parents)};
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const bare = !/^([./#]|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier);
    if (!bare || !err || err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    for (const parentURL of parents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch (_) {}
    }
    throw err;
  }
}`;
  Module.register('data:text/javascript,' + encodeURIComponent(hook));
}

function requireFile(p) {
  return require(p);
}

async function importFile(p) {
  registerSdkResolver();
  return import(pathToFileURL(p).href);
}

// Lambda's order: the exact file name; then file.js as CommonJS unless the
// package scope is ESM; then file.js as ESM, file.mjs, file.cjs; then Node's
// own resolution from the task root (directories, node_modules).
async function loadModule(taskRoot, moduleRoot, moduleName) {
  const base = path.resolve(taskRoot, moduleRoot, moduleName);
  if (fileExists(base)) return requireFile(base);
  const esmScope = isModuleScope(path.dirname(base));
  if (!esmScope && fileExists(base + '.js')) return requireFile(base + '.js');
  if (esmScope && fileExists(base + '.js')) return importFile(base + '.js');
  if (fileExists(base + '.mjs')) return importFile(base + '.mjs');
  if (fileExists(base + '.cjs')) return requireFile(base + '.cjs');
  return requireFile(require.resolve(moduleName, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] }));
}

function withAwsLoaderPath(err) {
  if (err && typeof err.message === 'string') {
    err.message = err.message.split(__filename).join(AWS_LOADER_FILE);
  }
  return err;
}

async function loadHandler(fullHandler, taskRoot) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, moduleName, propertyPath] = match;

  let app;
  try {
    app = await loadModule(taskRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) {
      const wrapped = new UserCodeSyntaxError(String(e));
      wrapped.stack = e.stack;
      throw wrapped;
    }
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(String(withAwsLoaderPath(e)));
    throw e;
  }
  const fn = propertyPath.split('.').reduce((obj, key) => obj && obj[key], app);
  if (!fn) throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return fn;
}

// ---- Invocations ------------------------------------------------------------

// Work to do when the event loop drains: Lambda answers a callback handler
// only once the loop is empty (callbackWaitsForEmptyEventLoop), and a
// synchronous handler that never called back with null.
let onEmptyEventLoop = null;
process.on('beforeExit', () => {
  const action = onEmptyEventLoop;
  onEmptyEventLoop = null;
  if (action) action();
});

let lastInvokeId = null;

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function isPromise(v) {
  return v && typeof v.then === 'function';
}

function invoke(handler, isAsync, next) {
  const headers = next.headers;
  const id = headers['lambda-runtime-aws-request-id'];
  currentRequestId = id;
  lastInvokeId = id;
  if (headers['lambda-runtime-trace-id']) {
    process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  } else {
    delete process.env._X_AMZN_TRACE_ID;
  }

  return new Promise((settle) => {
    let reported = false;
    const succeedWith = (result) => {
      if (reported) {
        console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
        return;
      }
      reported = true;
      let body;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (_) {
        reported = false;
        failWith(new Error('Unable to stringify response body'));
        return;
      }
      const buf = Buffer.from(body, 'utf8');
      apiRequest('POST', `/invocation/${encodeURIComponent(id)}/response`, buf, {
        'Content-Type': 'application/json',
        'Content-Length': buf.length,
      }).then(settle, fatal);
    };
    const failWith = (err) => {
      if (reported) return;
      reported = true;
      logError('Invoke Error', err);
      postInvocationError(id, err).then(settle, fatal);
    };

    // Only the first of callback/done/succeed/fail counts.
    let finished = false;
    const once = (fn) => (...args) => {
      if (finished) return;
      finished = true;
      fn(...args);
    };
    let waitForEmptyEventLoop = true;
    const done = (err, result) => {
      onEmptyEventLoop = null;
      if (err !== undefined && err !== null) failWith(err);
      else succeedWith(result);
    };
    const callback = once((err, result) => {
      onEmptyEventLoop = null;
      if (err !== undefined && err !== null) failWith(err);
      else if (!waitForEmptyEventLoop) succeedWith(result);
      else onEmptyEventLoop = () => setImmediate(() => succeedWith(result));
    });
    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    const env = process.env;
    let context;
    try {
      context = {
        get callbackWaitsForEmptyEventLoop() {
          return waitForEmptyEventLoop;
        },
        set callbackWaitsForEmptyEventLoop(v) {
          waitForEmptyEventLoop = v;
        },
        succeed: once((result) => done(null, result)),
        fail: once((err) => done(err === undefined || err === null ? 'handled' : err, null)),
        done: once(done),
        functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
        functionName: env.AWS_LAMBDA_FUNCTION_NAME,
        memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
        clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: id,
        getRemainingTimeInMillis: () => deadline - Date.now(),
      };
    } catch (err) {
      failWith(err);
      return;
    }

    // Until the handler reports, a drained event loop means it never will:
    // an async handler's promise can no longer settle (an error on Lambda),
    // while a synchronous handler that never called back answers null.
    onEmptyEventLoop = () => {
      finished = true;
      if (isAsync) failWith(new NodeJsExit(
        'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
      ));
      else succeedWith(null);
    };
    try {
      const event = JSON.parse(next.body.toString('utf8'));
      const result = handler(event, context, callback);
      if (isPromise(result)) {
        result.then(context.succeed, context.fail);
      }
    } catch (err) {
      callback(err);
    }
  });
}

// An error that escaped the handler ends the environment, as on Lambda: it
// is reported against the current invocation (or init), then the process
// exits with Lambda's code (129 uncaught exception, 128 unhandled rejection).
function fatal(err, code) {
  const report = lastInvokeId === null ? postInitError(err) : postInvocationError(lastInvokeId, err);
  const exit = () => process.exit(code || 129);
  report.then(exit, exit);
}

async function main() {
  patchConsole();
  process.on('uncaughtException', (err) => {
    logError('Uncaught Exception', err);
    fatal(err, 129);
  });
  process.on('unhandledRejection', (reason) => {
    const err = new UnhandledPromiseRejection(reason === undefined ? undefined : String(reason));
    err.reason = reason;
    logError('Unhandled Promise Rejection', err);
    fatal(err, 128);
  });

  const handlerName = process.argv[2] || '';
  const taskRoot = process.argv[3] || process.cwd();
  let handler;
  try {
    handler = await loadHandler(handlerName, taskRoot);
  } catch (err) {
    logError('Uncaught Exception', err);
    fatal(err, 129);
    return;
  }
  const isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';
  for (;;) {
    let next;
    try {
      next = await nextInvocation();
    } catch (err) {
      next = { status: 0, body: Buffer.from(String(err)) };
    }
    if (next.status !== 200) {
      // Without a Runtime API there is no one to report to.
      process.stderr.write(`Runtime API /next failed (${next.status}): ${next.body.toString('utf8')}\n`);
      process.exit(1);
    }
    await invoke(handler, isAsync, next);
  }
}

main();
