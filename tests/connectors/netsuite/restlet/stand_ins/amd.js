'use strict';
/**
 * A tiny AMD loader for one SuiteScript 2.x entry-point script, loaded unchanged.
 *
 * SuiteScript 2.x scripts are AMD modules: one `define([...module ids], factory)` call whose factory
 * returns the entry points ("SuiteScript 2.x Script Basics" and "SuiteScript 2.x Entry Point Script
 * Creation and Deployment", NetSuite Help Center). The script runs in a context of its own, as on
 * NetSuite: no `require`, no `process`, nothing of Node's, only `define` and the language builtins.
 */
const fs = require('fs');
const vm = require('vm');

/** The script's dependencies and factory: `define` is called once, as SuiteScript requires. */
function readDefinition(path) {
    const source = fs.readFileSync(path, 'utf8');
    let definition = null;
    const define = (deps, factory) => {
        if (typeof deps === 'function') {
            [deps, factory] = [[], deps];
        }
        if (definition !== null) {
            throw new Error(`${path} calls define more than once`);
        }
        if (!Array.isArray(deps) || typeof factory !== 'function') {
            throw new Error(`${path}: define expects (array of module ids, factory)`);
        }
        definition = { deps, factory };
    };
    define.amd = {};
    vm.runInNewContext(source, { define }, { filename: path });
    if (definition === null) {
        throw new Error(`${path} does not call define`);
    }
    return definition;
}

/** The entry points, with each module id resolved by `modules` (a map of id -> module object). */
function instantiate(definition, modules) {
    const args = definition.deps.map((id) => {
        if (!(id in modules)) {
            throw new Error(`the script needs ${id}, which has no stand-in`);
        }
        return modules[id];
    });
    return definition.factory(...args);
}

module.exports = { readDefinition, instantiate };
