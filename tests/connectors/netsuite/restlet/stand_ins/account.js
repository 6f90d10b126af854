'use strict';
/**
 * The NetSuite account the stand-ins serve: the record catalogue, the records, and one call's meter.
 *
 * The catalogue (record types, body fields, sublists, their kinds, mandatory fields, which record
 * types or lists a select field points at) is the account's set-up, handed in by the test as data.
 * What NetSuite does with it is here: a value of the wrong kind or too long is refused when it is
 * set, a missing mandatory value or a select key that does not exist when the record is saved.
 *
 * Governance ("SuiteScript 2.x API Governance", section_157072844224; "Script Type Usage Unit
 * Limits", section_N3351480): a RESTlet has 5,000 usage units per call; record.create and
 * record.load cost 10 on a standard transaction and 5 on another standard record, Record.save 20 and
 * 10, Search.runPaged 5 and PagedData.fetch 5. Time (timebill) is "a time transaction" (the Time
 * record's page, section_N3197386), so it is metered as one. Going over throws
 * SSS_USAGE_LIMIT_EXCEEDED, which a script cannot catch.
 */
const { platform, SuiteScriptError } = require('./N/error');

const RESTLET_UNITS = 5000;
const TRANSACTIONS = new Set(['salesorder', 'invoice', 'journalentry', 'timebill']);
const UNITS = { create: [10, 5], load: [10, 5], save: [20, 10] };

class Meter {
    constructor(limit = RESTLET_UNITS) {
        this.limit = limit;
        this.used = 0;
        this.exceeded = false; // set once: NetSuite ends the script, whatever it catches
    }

    remaining() {
        return this.limit - this.used;
    }

    charge(units) {
        if (this.exceeded || this.used + units > this.limit) {
            this.exceeded = true;
            throw new SuiteScriptError('SSS_USAGE_LIMIT_EXCEEDED', 'Script Execution Usage Limit Exceeded');
        }
        this.used += units;
    }
}

const isDate = (value) => Object.prototype.toString.call(value) === '[object Date]';

const isoDate = (value) => {
    const pad = (n, width) => String(n).padStart(width, '0');
    return `${pad(value.getFullYear(), 4)}-${pad(value.getMonth() + 1, 2)}-${pad(value.getDate(), 2)}`;
};

const invalidValue = (value, fieldId) => platform('INVALID_FLD_VALUE',
    `You have entered an Invalid Field Value ${value} for the following field: ${fieldId}`);

/** A value as NetSuite stores it for a field of this kind; throws where setValue refuses it. */
const checkedValue = (spec, fieldId, value) => {
    if (value === null || value === undefined || (value === '' && spec.kind !== 'text')) {
        return null;
    }
    switch (spec.kind) {
        case 'text':
            if (typeof value !== 'string') {
                throw invalidValue(value, fieldId);
            }
            if (spec.maxLength && Buffer.byteLength(value, 'utf8') > spec.maxLength) {
                throw platform('USER_ERROR', `The field ${fieldId} contained more than the maximum number `
                    + `( ${spec.maxLength} ) of characters allowed.`);
            }
            return value;
        case 'number':
            if (typeof value !== 'number' || !Number.isFinite(value)) {
                throw invalidValue(value, fieldId);
            }
            return value;
        case 'bool':
            if (typeof value !== 'boolean') {
                throw invalidValue(value, fieldId);
            }
            return value;
        case 'date':
            if (!isDate(value) || Number.isNaN(value.getTime())) {
                throw invalidValue(value, fieldId);
            }
            return new Date(value.getFullYear(), value.getMonth(), value.getDate());
        case 'ref':
            if ((typeof value !== 'string' && typeof value !== 'number') || String(value).trim() === '') {
                throw invalidValue(value, fieldId);
            }
            return String(value);
        default:
            throw invalidValue(value, fieldId);
    }
};

class Account {
    /** `state`: {catalogue, lists, records: [{type, id, values, locked}], nextId, closedJobStatus}. */
    constructor(state) {
        this.catalogue = state.catalogue;
        this.lists = state.lists || {};
        this.closedJobStatus = state.closedJobStatus;
        this.nextId = state.nextId;
        this.records = new Map(); // type -> Map(id -> {values, lines, locked})
        Object.keys(this.catalogue).forEach((type) => this.records.set(type, new Map()));
        (state.records || []).forEach((r) => this.records.get(r.type).set(String(r.id), this.imported(r)));
    }

    /** A record handed in by the test: dates arrive as YYYY-MM-DD text. */
    imported(raw) {
        const schema = this.schema(raw.type);
        const values = {};
        const lines = {};
        Object.entries(raw.values).forEach(([key, value]) => {
            if (schema.sublists[key]) {
                lines[key] = value.map((line) => ({ ...line }));
            } else if (schema.fields[key] && schema.fields[key].kind === 'date' && typeof value === 'string') {
                const [y, m, d] = value.split('-').map(Number);
                values[key] = new Date(y, m - 1, d);
            } else {
                values[key] = value;
            }
        });
        return { values, lines, locked: Boolean(raw.locked) };
    }

    schema(type) {
        const schema = this.catalogue[type];
        if (!schema) {
            throw platform('INVALID_RCRD_TYPE', `The record type ${type} is invalid.`);
        }
        return schema;
    }

    units(action, type) {
        return UNITS[action][TRANSACTIONS.has(type) ? 0 : 1];
    }

    find(type, id) {
        const table = this.records.get(type);
        return table ? table.get(String(id)) : undefined;
    }

    /** Whether a select value points at a record (or list entry) of one of the field's targets. */
    exists(targets, id) {
        return targets.some((target) => (target in this.lists
            ? this.lists[target].includes(String(id))
            : this.find(target, id) !== undefined));
    }

    store(type, id, stored) {
        let key = id;
        if (key === null) {
            key = String(this.nextId);
            this.nextId += 1;
        }
        this.records.get(type).set(key, stored);
        return key;
    }

    /** The records as the test reads them back (dates as YYYY-MM-DD). */
    exported() {
        const out = [];
        this.records.forEach((table, type) => table.forEach((stored, id) => {
            const values = {};
            Object.entries(stored.values).forEach(([k, v]) => {
                values[k] = isDate(v) ? isoDate(v) : v;
            });
            Object.entries(stored.lines).forEach(([k, v]) => {
                values[k] = v.map((line) => ({ ...line }));
            });
            out.push({ type, id, values, locked: stored.locked });
        }));
        return out;
    }
}

module.exports = { Account, Meter, checkedValue, isDate, RESTLET_UNITS };
