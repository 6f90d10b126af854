'use strict';
/**
 * N/search, the part q2c's bulk RESTlet calls (NetSuite Help Center, N/search Module):
 * search.create(options) with a filter expression and column names (no governance),
 * Search.runPaged(options) (5 units; pageSize 5 to 1,000, default 50) returning a search.PagedData
 * with `count`, `pageSize` and `pageRanges` ({index, compoundLabel}), PagedData.fetch(options)
 * (5 units; INVALID_PAGE_RANGE for an index out of range) returning a search.Page whose `data` are
 * search.Result objects with `id`, `recordType` and getValue(options). Filters: the expression
 * form [[name, operator, values], 'and', ...] with `anyof` on externalid or internalid, which is all
 * the script uses; anything else is refused rather than guessed.
 */
const { platform } = require('./error');

const FILTER_FIELDS = new Set(['externalid', 'internalid']);

const terms = (filters) => {
    if (!Array.isArray(filters)) {
        throw platform('SSS_INVALID_SRCH_FILTER_EXPR', 'Filters must be a filter expression.');
    }
    const list = filters.length && typeof filters[0] === 'string' ? [filters] : filters;
    return list.filter((term, index) => {
        if (index % 2 === 1) {
            if (String(term).toLowerCase() !== 'and') {
                throw platform('SSS_INVALID_SRCH_FILTER_EXPR', `Only 'and' joins terms here, not ${term}.`);
            }
            return false;
        }
        const [name, operator] = term;
        if (!FILTER_FIELDS.has(String(name).toLowerCase()) || String(operator).toLowerCase() !== 'anyof') {
            throw platform('SSS_INVALID_SRCH_FILTER', `The stand-in supports anyof on externalid or internalid, not ${name} ${operator}.`);
        }
        return true;
    }).map(([name, , ...values]) => ({
        field: String(name).toLowerCase(),
        values: new Set(values.flat().map(String)),
    }));
};

const result = (type, id, stored) => ({
    id,
    recordType: type,
    getValue(options) {
        const name = typeof options === 'string' ? options : options.name;
        if (name === 'internalid') {
            return id;
        }
        const value = stored.values[String(name).toLowerCase()];
        return value === undefined || value === null ? '' : value;
    },
});

const forCall = (account, meter) => ({
    create(options) {
        if (!options || !options.type) {
            throw platform('SSS_MISSING_REQD_ARGUMENT', 'Missing a required argument: type');
        }
        const type = String(options.type).toLowerCase();
        account.schema(type);
        const conditions = terms(options.filters || []);
        const columns = (options.columns || []).map((c) => String(c).toLowerCase());
        const matches = () => {
            const rows = [];
            account.records.get(type).forEach((stored, id) => {
                const ok = conditions.every((c) => c.values.has(c.field === 'internalid' ? id
                    : String(stored.values[c.field] ?? '')));
                if (ok) {
                    rows.push(result(type, id, stored));
                }
            });
            return rows.sort((a, b) => Number(a.id) - Number(b.id));
        };
        return {
            searchType: type,
            columns,
            runPaged(paging = {}) {
                meter.charge(5);
                const pageSize = paging.pageSize === undefined ? 50 : paging.pageSize;
                if (!Number.isInteger(pageSize) || pageSize < 5 || pageSize > 1000) {
                    throw platform('INVALID_PAGE_SIZE', 'pageSize must be from 5 to 1000.');
                }
                const rows = matches();
                const pageRanges = [];
                for (let index = 0; index * pageSize < rows.length; index += 1) {
                    pageRanges.push({ index, compoundLabel: `${index * pageSize + 1} - ${Math.min(rows.length, (index + 1) * pageSize)}` });
                }
                return {
                    count: rows.length,
                    pageSize,
                    pageRanges,
                    fetch(which) {
                        meter.charge(5);
                        const index = typeof which === 'number' ? which : which && which.index;
                        if (!Number.isInteger(index) || index < 0 || index >= pageRanges.length) {
                            throw platform('INVALID_PAGE_RANGE', 'Invalid page range.');
                        }
                        return {
                            data: rows.slice(index * pageSize, (index + 1) * pageSize),
                            isFirst: index === 0,
                            isLast: index === pageRanges.length - 1,
                            pageRange: pageRanges[index],
                        };
                    },
                };
            },
        };
    },
    Type: {},
});

module.exports = { forCall };
