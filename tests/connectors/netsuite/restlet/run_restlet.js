'use strict';
/**
 * Runs a SuiteScript 2.1 RESTlet unchanged against the stand-ins, one case per line of stdin.
 *
 *   node run_restlet.js <script.js>
 *   stdin, one JSON object per line:
 *     {"account": {"catalogue", "lists", "records", "nextId", "closedJobStatus"},
 *      "calls": [{"method": "post", "body": "<the request body as sent>"}]}
 *   stdout, one JSON object per line and case:
 *     {"answers": [{"status", "body", "units", "crashed"}], "records": [...the account afterwards]}
 *
 * As NetSuite runs a RESTlet ("SuiteScript 2.x RESTlet Script Type" and "SuiteScript 2.x RESTlet
 * Error Handling", NetSuite Help Center): each call is one script execution with its own 5,000 usage
 * units; with Content-Type application/json the entry point gets the parsed body and its returned
 * object is sent back as JSON with HTTP 200; an error the script does not catch is HTTP 400
 * {"error": {"code", "message"}}; a method the script has no entry point for is HTTP 405. An error
 * that is not a SuiteScriptError (a bug in the script) is reported as JS_EXCEPTION and marked crashed.
 * Running out of usage units ends the script with SSS_USAGE_LIMIT_EXCEEDED even where it catches errors.
 */
const readline = require('readline');
const { readDefinition, instantiate } = require('./stand_ins/amd');
const { Account, Meter } = require('./stand_ins/account');
const record = require('./stand_ins/N/record');
const search = require('./stand_ins/N/search');
const runtime = require('./stand_ins/N/runtime');
const error = require('./stand_ins/N/error');

const definition = readDefinition(process.argv[2]);

const call = (account, request) => {
    const meter = new Meter();
    const entryPoints = instantiate(definition, {
        'N/record': record.forCall(account, meter),
        'N/search': search.forCall(account, meter),
        'N/runtime': runtime.forCall(meter),
        'N/error': error,
    });
    const entry = entryPoints[String(request.method).toLowerCase()];
    if (typeof entry !== 'function') {
        return { status: 405, body: null, units: 0, crashed: false };
    }
    try {
        const body = JSON.parse(request.body);
        const returned = entry(body);
        if (meter.exceeded) {
            return { status: 400, body: { error: { code: 'SSS_USAGE_LIMIT_EXCEEDED', message: 'Script Execution Usage Limit Exceeded' } }, units: meter.used, crashed: false };
        }
        const text = typeof returned === 'string' ? returned : JSON.stringify(returned);
        return { status: 200, body: JSON.parse(text), units: meter.used, crashed: false };
    } catch (e) {
        const known = e instanceof error.SuiteScriptError;
        return {
            status: 400,
            body: { error: { code: known ? e.name : 'JS_EXCEPTION', message: known ? e.message : String(e) } },
            units: meter.used,
            crashed: !known,
        };
    }
};

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
    if (!line.trim()) {
        return;
    }
    const input = JSON.parse(line);
    const account = new Account(input.account);
    const answers = input.calls.map((request) => call(account, request));
    process.stdout.write(`${JSON.stringify({ answers, records: account.exported() })}\n`);
});
