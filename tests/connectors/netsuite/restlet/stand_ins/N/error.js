'use strict';
/**
 * N/error: error.create(options) returns an error.SuiteScriptError with name, message, id, notifyOff
 * ("error.create(options)" and "error.SuiteScriptError", NetSuite Help Center, N/error Module).
 * NetSuite's own refusals (USER_ERROR, INVALID_FLD_VALUE, ...) reach a script as the same type.
 */

class SuiteScriptError extends Error {
    constructor(name, message, notifyOff = false) {
        super(message);
        this.name = name;
        this.id = '';
        this.notifyOff = notifyOff;
        this.type = 'error.SuiteScriptError';
    }
}

const create = (options) => {
    if (!options || !options.name || !options.message) {
        throw new SuiteScriptError('SSS_MISSING_REQD_ARGUMENT', 'error.create needs name and message.');
    }
    return new SuiteScriptError(String(options.name), String(options.message), Boolean(options.notifyOff));
};

/** What NetSuite throws, as a script catches it. */
const platform = (name, message) => new SuiteScriptError(name, message);

module.exports = { create, platform, SuiteScriptError, Type: {} };
