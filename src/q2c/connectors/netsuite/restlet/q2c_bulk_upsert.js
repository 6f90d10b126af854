/**
 * @NApiVersion 2.1
 * @NScriptType Restlet
 * @NModuleScope SameAccount
 *
 * q2c bulk upsert: writes up to 200 records of one type per call, matched by externalId.
 *
 * NetSuite's REST record service writes one record per request, and every request counts
 * against the account's concurrency limit. Time entries come in tens of thousands at month
 * end, so q2c sends them here in chunks of 200 instead. Each record is created, or updated if
 * a record of that type already carries its externalId, so a replayed chunk changes nothing.
 *
 * Request (POST, Content-Type: application/json):
 *   {"recordType": "timebill",
 *    "records": [{"externalId": "te-1", "employee": {"id": "7"},
 *                 "customer": {"externalId": "prj-1", "type": "job"},
 *                 "hours": 1.5, "tranDate": "2026-11-02", "isBillable": true, "memo": "..."}]}
 *   Field names are REST/SuiteScript field ids (matched without regard to case). A reference
 *   is {"id": "<internal id>"} or {"externalId": "...", "type": "<record type>"}; the script
 *   resolves external ids with one search per type per call. Dates are "YYYY-MM-DD". A
 *   sublist is {"items": [{...line fields...}]} and replaces the record's lines.
 *
 * Response 200:
 *   {"results": [{"externalId": "te-1", "internalId": "1234", "status": "created"},
 *                {"externalId": "te-2", "internalId": null, "status": "error",
 *                 "error": {"code": "Q2C_REFERENCE_NOT_FOUND", "message": "...", "field": "customer"}}]}
 *   One result per record, in request order. Code Q2C_GOVERNANCE_DEFERRED means the script
 *   stopped before running out of usage units; the caller sends those records again. A RESTlet
 *   has 5,000 units a call, and a time entry costs 30 (create 10, save 20: timebill is metered as a
 *   transaction), so a full chunk of 200 time entries writes about 164 and defers the rest.
 *   What NetSuite refuses while a value is set (a wrong kind, text too long) names that field;
 *   what it refuses on save (a mandatory value missing, INVALID_KEY_OR_REF for an internal id that
 *   points nowhere, a closed project) names none. An empty batch is answered {"results": []} and
 *   spends no units: first contact (q2c doctor) calls it so.
 *   A malformed call (unsupported type, more than 200 records) throws, and NetSuite answers
 *   HTTP 400 {"error": {"code": "Q2C_...", "message": "..."}}. Over the account's concurrency
 *   limit NetSuite itself answers 400 SSS_REQUEST_LIMIT_EXCEEDED before this script runs.
 *
 * Deployment (an administrator, once per account; sandbox first):
 *   1. Documents > Files > File Cabinet: upload this file to SuiteScripts/q2c/.
 *   2. Customization > Scripting > Scripts > New: pick the file; ID "_q2c_bulk_upsert"
 *      (NetSuite makes it customscript_q2c_bulk_upsert). Save.
 *   3. Deploy Script: ID "_q2c_bulk_upsert" (customdeploy_q2c_bulk_upsert), Status Released,
 *      Log Level Error, Audience: the role of q2c's integration user only.
 *   4. The integration record q2c uses must have the RESTLETS scope, and its role needs
 *      Full on Track Time, Projects, Project Tasks, Customers, Sales Order and Invoice, plus
 *      Lists > Perform Search, and the login permission of q2c's sign-in method: Log in using
 *      OAuth 2.0 Access Tokens (auth: m2m) or Log in using Access Tokens (auth: tba). The line
 *      field custcol_q2c_phase_id (Free-Form Text, applied to Sale and Invoice items) comes with
 *      the same bundle.
 *   5. q2c calls https://<account>.restlets.api.netsuite.com/app/site/hosting/restlet.nl
 *      ?script=customscript_q2c_bulk_upsert&deploy=customdeploy_q2c_bulk_upsert signed in as for
 *      REST web services: the OAuth 2.0 bearer token, or a TBA signature over this URL.
 *
 * Tested unchanged under Node.js against stand-ins of N/record, N/search, N/runtime and N/error
 * (tests/connectors/netsuite/restlet/), and held to the same answers as the sandbox's emulation.
 */
define(['N/record', 'N/search', 'N/runtime', 'N/error'], (record, search, runtime, error) => {
    const MAX_RECORDS = 200;
    const RESERVE_UNITS = 60; // one load + save of a transaction, plus the response
    const SUPPORTED = new Set(['customer', 'job', 'projecttask', 'employee', 'timebill', 'salesorder', 'invoice']);

    const fail = (name, message) => {
        throw error.create({ name, message, notifyOff: true });
    };

    const isExternalRef = (value) =>
        value !== null && typeof value === 'object' && !Array.isArray(value) && 'externalId' in value;

    /** internal ids by external id for one record type: one paged search. */
    const internalIdsByExternalId = (type, externalIds) => {
        const found = new Map();
        const ids = Array.from(new Set(externalIds)).filter((id) => typeof id === 'string' && id !== '');
        if (ids.length === 0) {
            return found;
        }
        const paged = search.create({
            type,
            filters: [['externalid', 'anyof', ids]],
            columns: ['externalid'],
        }).runPaged({ pageSize: 1000 });
        paged.pageRanges.forEach((range) => {
            paged.fetch({ index: range.index }).data.forEach((result) => {
                found.set(String(result.getValue({ name: 'externalid' })), String(result.id));
            });
        });
        return found;
    };

    /** Every {"externalId", "type"} reference in the call, grouped by type. */
    const referencedExternalIds = (records) => {
        const byType = new Map();
        const visit = (value) => {
            if (isExternalRef(value)) {
                if (!SUPPORTED.has(String(value.type))) {
                    return; // reported on the record that carries it
                }
                if (!byType.has(value.type)) {
                    byType.set(value.type, []);
                }
                byType.get(value.type).push(String(value.externalId));
            } else if (Array.isArray(value)) {
                value.forEach(visit);
            } else if (value !== null && typeof value === 'object') {
                Object.values(value).forEach(visit);
            }
        };
        // a record carries an externalId itself: visit its fields, not the record as if it were a reference
        records.forEach((input) => {
            if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
                Object.keys(input).filter((key) => key.toLowerCase() !== 'externalid').forEach((key) => visit(input[key]));
            }
        });
        const resolved = new Map();
        byType.forEach((ids, type) => resolved.set(type, internalIdsByExternalId(type, ids)));
        return resolved;
    };

    const toFieldValue = (value, fieldType, references) => {
        if (isExternalRef(value)) {
            const ids = references.get(value.type);
            const id = ids ? ids.get(String(value.externalId)) : undefined;
            if (id === undefined) {
                fail('Q2C_REFERENCE_NOT_FOUND', `No ${value.type} with external ID ${value.externalId}.`);
            }
            return id;
        }
        if (value !== null && typeof value === 'object' && 'id' in value) {
            return String(value.id);
        }
        if (fieldType === 'date' && typeof value === 'string') {
            const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
            const [year, month, day] = match ? match.slice(1).map(Number) : [0, 0, 0];
            const date = new Date(year, month - 1, day);
            // new Date(2026, 1, 30) is March 2: a day that does not exist is refused, not moved
            if (!match || date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) {
                fail('INVALID_FLD_VALUE', `${value} is not a date (YYYY-MM-DD).`);
            }
            return date;
        }
        return value;
    };

    const fieldType = (rec, fieldId) => {
        const field = rec.getField({ fieldId });
        return field ? field.type : null;
    };

    const writeSublist = (rec, sublistId, value, references, progress) => {
        if (value === null || typeof value !== 'object' || !Array.isArray(value.items)) {
            fail('INVALID_FLD_VALUE', `Sublist ${sublistId} must be {"items": [...]}.`);
        }
        const columns = new Set(rec.getSublistFields({ sublistId }));
        for (let line = rec.getLineCount({ sublistId }) - 1; line >= 0; line -= 1) {
            rec.removeLine({ sublistId, line });
        }
        value.items.forEach((item, line) => {
            progress.field = `${sublistId}.items[${line}]`;
            if (item === null || typeof item !== 'object' || Array.isArray(item)) {
                fail('INVALID_FLD_VALUE', `Each line of ${sublistId} must be an object.`);
            }
            rec.insertLine({ sublistId, line }); // the line exists before its fields are read or set
            Object.keys(item).forEach((key) => {
                const fieldId = key.toLowerCase();
                progress.field = `${sublistId}.items[${line}].${fieldId}`;
                if (!columns.has(fieldId)) {
                    fail('Q2C_UNKNOWN_FIELD', `Unknown field ${key} on sublist ${sublistId}.`);
                }
                const column = rec.getSublistField({ sublistId, fieldId, line: 0 });
                const type = column ? column.type : null;
                rec.setSublistValue({ sublistId, fieldId, line, value: toFieldValue(item[key], type, references) });
            });
        });
    };

    const upsertOne = (recordType, input, existing, references, progress) => {
        const externalId = input.externalId;
        if (typeof externalId !== 'string' || externalId === '') {
            progress.field = 'externalid';
            fail('Q2C_MISSING_EXTERNAL_ID', 'Each record needs an externalId.');
        }
        const internalId = existing.get(externalId);
        const rec = internalId
            ? record.load({ type: recordType, id: internalId, isDynamic: false })
            : record.create({ type: recordType, isDynamic: false });
        if (!internalId) {
            rec.setValue({ fieldId: 'externalid', value: externalId });
        }
        const bodyFields = new Set(rec.getFields());
        const sublists = new Set(rec.getSublists());
        Object.keys(input).forEach((key) => {
            const fieldId = key.toLowerCase();
            if (fieldId === 'externalid') {
                return;
            }
            progress.field = fieldId;
            const value = input[key];
            if (sublists.has(fieldId)) {
                writeSublist(rec, fieldId, value, references, progress);
                return;
            }
            if (!bodyFields.has(fieldId)) {
                fail('Q2C_UNKNOWN_FIELD', `Unknown field ${key} for record type ${recordType}.`);
            }
            rec.setValue({ fieldId, value: toFieldValue(value, fieldType(rec, fieldId), references) });
        });
        progress.field = null; // a refusal on save (mandatory field, closed project) names no field we set
        const id = String(rec.save({ enableSourcing: true, ignoreMandatoryFields: false }));
        existing.set(externalId, id);
        return { externalId, internalId: id, status: internalId ? 'updated' : 'created' };
    };

    const post = (requestBody) => {
        const body = typeof requestBody === 'string' ? JSON.parse(requestBody) : requestBody;
        if (body === null || typeof body !== 'object') {
            fail('Q2C_BAD_REQUEST', 'The request body must be an object.');
        }
        const recordType = String(body.recordType || '').toLowerCase();
        if (!SUPPORTED.has(recordType)) {
            fail('Q2C_BAD_REQUEST', `recordType must be one of ${Array.from(SUPPORTED).sort().join(', ')}.`);
        }
        const records = body.records;
        if (!Array.isArray(records)) {
            fail('Q2C_BAD_REQUEST', 'records must be a list.');
        }
        if (records.length > MAX_RECORDS) {
            fail('Q2C_BATCH_TOO_LARGE', `At most ${MAX_RECORDS} records per call; got ${records.length}.`);
        }
        const existing = internalIdsByExternalId(recordType, records.map((r) => (r ? r.externalId : null)));
        const references = referencedExternalIds(records);
        const script = runtime.getCurrentScript();
        const results = records.map((input) => {
            const externalId = input && typeof input.externalId === 'string' ? input.externalId : null;
            if (script.getRemainingUsage() < RESERVE_UNITS) {
                return {
                    externalId, internalId: null, status: 'error',
                    error: { code: 'Q2C_GOVERNANCE_DEFERRED', message: 'Usage units ran low; send again.', field: null },
                };
            }
            const progress = { field: null };
            try {
                if (input === null || typeof input !== 'object') {
                    fail('Q2C_BAD_RECORD', 'Each record must be an object.');
                }
                return upsertOne(recordType, input, existing, references, progress);
            } catch (e) {
                return {
                    externalId,
                    internalId: (externalId && existing.get(externalId)) || null,
                    status: 'error',
                    error: { code: e.name || 'UNEXPECTED_ERROR', message: e.message || String(e), field: progress.field },
                };
            }
        });
        return { results };
    };

    return { post };
});
