'use strict';
/**
 * N/record in standard mode (isDynamic false), the part q2c's bulk RESTlet calls (NetSuite Help
 * Center, N/record Module): record.create(options) and record.load(options) (10 units on a
 * transaction, 5 on other records), Record.getFields(), Record.getField(options) (a record.Field with
 * `type`, or null), Record.getSublists(), Record.getSublistFields(options), Record.getLineCount(options),
 * Record.removeLine(options), Record.insertLine(options) ("dynamic and standard mode"),
 * Record.getSublistField(options) (throws SSS_INVALID_SUBLIST_OPERATION when an argument is invalid,
 * such as a line that does not exist), Record.setValue(options), Record.setSublistValue(options), and
 * Record.save(options) (20 units on a transaction, 10 on others; returns the internal id as a number).
 *
 * In standard mode a value is checked when it is set (kind and length: INVALID_FLD_VALUE, or
 * USER_ERROR for text over the field's length), the record when it is saved: mandatory fields
 * (USER_ERROR "Please enter value(s) for: ..."), select keys that point nowhere (INVALID_KEY_OR_REF
 * "Invalid <field> reference key <value>.", from recall), then the account's own rules.
 * Field types are SuiteScript's names: text, float, checkbox, date, select.
 */
const { platform } = require('./error');
const { checkedValue } = require('../account');
const { refusal } = require('../save_rules');

const FIELD_TYPES = { text: 'text', number: 'float', bool: 'checkbox', date: 'date', ref: 'select' };

const required = (options, ...names) => {
    names.forEach((name) => {
        if (!options || options[name] === undefined || options[name] === null) {
            throw platform('SSS_MISSING_REQD_ARGUMENT', `Missing a required argument: ${name}`);
        }
    });
};

class StandardRecord {
    constructor(account, meter, type, id, stored) {
        this.account = account;
        this.meter = meter;
        this.type = type;
        this.id = id;
        this.isDynamic = false;
        this.schema = account.schema(type);
        this.existing = stored;
        this.values = stored ? { ...stored.values } : {};
        this.lines = {};
        Object.keys(this.schema.sublists).forEach((sublistId) => {
            this.lines[sublistId] = stored && stored.lines[sublistId] ? stored.lines[sublistId].map((l) => ({ ...l })) : [];
        });
    }

    getFields() {
        return ['externalid', ...Object.keys(this.schema.fields).filter((f) => f !== 'externalid')];
    }

    getField(options) {
        required(options, 'fieldId');
        const spec = options.fieldId === 'externalid' ? { kind: 'text' } : this.schema.fields[options.fieldId];
        return spec ? { id: options.fieldId, type: FIELD_TYPES[spec.kind], isMandatory: Boolean(spec.required) } : null;
    }

    getSublists() {
        return Object.keys(this.schema.sublists);
    }

    sublist(options) {
        required(options, 'sublistId');
        const sublist = this.schema.sublists[options.sublistId];
        if (!sublist) {
            throw platform('SSS_INVALID_SUBLIST_OPERATION', `No sublist ${options.sublistId} on ${this.type}.`);
        }
        return sublist;
    }

    getSublistFields(options) {
        return Object.keys(this.sublist(options).columns);
    }

    getLineCount(options) {
        this.sublist(options);
        return this.lines[options.sublistId].length;
    }

    lineIndex(options, { inserting = false } = {}) {
        required(options, 'line');
        const count = this.lines[options.sublistId].length;
        const line = options.line;
        if (!Number.isInteger(line) || line < 0 || line > count || (line === count && !inserting)) {
            throw platform('SSS_INVALID_SUBLIST_OPERATION', `Line ${line} of ${options.sublistId} does not exist.`);
        }
        return line;
    }

    removeLine(options) {
        this.sublist(options);
        this.lines[options.sublistId].splice(this.lineIndex(options), 1);
        return this;
    }

    insertLine(options) {
        this.sublist(options);
        this.lines[options.sublistId].splice(this.lineIndex(options, { inserting: true }), 0, {});
        return this;
    }

    getSublistField(options) {
        const sublist = this.sublist(options);
        required(options, 'fieldId');
        this.lineIndex(options);
        const spec = sublist.columns[options.fieldId];
        return spec ? { id: options.fieldId, type: FIELD_TYPES[spec.kind], isMandatory: Boolean(spec.required) } : null;
    }

    setValue(options) {
        required(options, 'fieldId');
        const fieldId = options.fieldId;
        const spec = fieldId === 'externalid' ? { kind: 'text' } : this.schema.fields[fieldId];
        if (!spec) {
            throw new Error(`stand-in: the script set ${fieldId}, which ${this.type} does not have`);
        }
        this.values[fieldId] = checkedValue(spec, fieldId, options.value);
        return this;
    }

    setSublistValue(options) {
        const sublist = this.sublist(options);
        required(options, 'fieldId');
        const line = this.lineIndex(options, { inserting: true }); // standard mode may set the next new line
        const spec = sublist.columns[options.fieldId];
        if (!spec) {
            throw new Error(`stand-in: the script set ${options.sublistId}.${options.fieldId}, which does not exist`);
        }
        const lines = this.lines[options.sublistId];
        if (line === lines.length) {
            lines.push({});
        }
        lines[line][options.fieldId] = checkedValue(spec, options.fieldId, options.value);
        return this;
    }

    /** The first thing NetSuite refuses on save: mandatory values, then select keys, then the account's rules. */
    saveRefusal(ignoreMandatoryFields) {
        const body = this.schema.fields;
        const missing = (spec, value) => spec.required && (value === null || value === undefined || value === '');
        if (!ignoreMandatoryFields) {
            const empty = Object.entries(body).find(([id, spec]) => missing(spec, this.values[id]));
            if (empty) {
                return platform('USER_ERROR', `Please enter value(s) for: ${empty[1].label || empty[0]}`);
            }
            for (const [sublistId, sublist] of Object.entries(this.schema.sublists)) {
                for (const line of this.lines[sublistId]) {
                    const column = Object.entries(sublist.columns).find(([id, spec]) => missing(spec, line[id]));
                    if (column) {
                        return platform('USER_ERROR', `Please enter value(s) for: ${column[1].label || column[0]}`);
                    }
                }
            }
        }
        const badKey = (fields, values) => Object.entries(fields).find(([id, spec]) => spec.kind === 'ref'
            && values[id] !== null && values[id] !== undefined && !this.account.exists(spec.targets, values[id]));
        const bad = badKey(body, this.values);
        if (bad) {
            return platform('INVALID_KEY_OR_REF', `Invalid ${bad[0]} reference key ${this.values[bad[0]]}.`);
        }
        for (const [sublistId, sublist] of Object.entries(this.schema.sublists)) {
            for (const line of this.lines[sublistId]) {
                const badLine = badKey(sublist.columns, line);
                if (badLine) {
                    return platform('INVALID_KEY_OR_REF', `Invalid ${badLine[0]} reference key ${line[badLine[0]]}.`);
                }
            }
        }
        return refusal(this.account, this.type, this.values, this.existing);
    }

    save(options = {}) {
        this.meter.charge(this.account.units('save', this.type));
        const problem = this.saveRefusal(Boolean(options.ignoreMandatoryFields));
        if (problem) {
            throw problem;
        }
        const lines = {};
        Object.entries(this.lines).forEach(([k, v]) => { lines[k] = v.map((l) => ({ ...l })); });
        const stored = { values: { ...this.values }, lines, locked: this.existing ? this.existing.locked : false };
        const key = this.account.store(this.type, this.id, stored);
        this.id = key;
        this.existing = stored;
        return Number(key);
    }
}

const forCall = (account, meter) => ({
    create(options) {
        required(options, 'type');
        const type = String(options.type).toLowerCase();
        account.schema(type);
        meter.charge(account.units('create', type));
        return new StandardRecord(account, meter, type, null, null);
    },
    load(options) {
        required(options, 'type', 'id');
        const type = String(options.type).toLowerCase();
        account.schema(type);
        meter.charge(account.units('load', type));
        const stored = account.find(type, options.id);
        if (!stored) {
            throw platform('RCRD_DSNT_EXIST', 'That record does not exist.');
        }
        return new StandardRecord(account, meter, type, String(options.id), stored);
    },
    Type: {},
});

module.exports = { forCall };
