'use strict';
/**
 * What the account refuses when a record is saved although every value is well formed: billed time
 * cannot change, a closed project takes no time, a task must belong to the time's project, an
 * inactive employee logs nothing, and a time entry is more than 0 and at most 24 hours. These are the
 * account's behaviour (NetSuite's Time Tracking and project status), not the SuiteScript API's; the
 * sandbox enforces the same ones, so the two agree on what a bulk call answers.
 */
const { platform } = require('./N/error');

const timeRules = (account, time) => {
    const hours = time.hours;
    if (typeof hours === 'number' && !(hours > 0 && hours <= 24)) {
        return platform('INVALID_FLD_VALUE', `Invalid value for field hours: ${hours} `
            + '(a time entry takes more than 0 and at most 24 hours).');
    }
    const job = time.customer ? account.find('job', time.customer) : undefined;
    if (job && job.values.entitystatus === account.closedJobStatus) {
        return platform('USER_ERROR', `The project ${job.values.companyname} is closed; time cannot be entered against it.`);
    }
    const task = time.casetaskevent ? account.find('projecttask', time.casetaskevent) : undefined;
    if (task && task.values.project !== time.customer) {
        return platform('USER_ERROR', `The task ${task.values.title} does not belong to the project given in customer.`);
    }
    const employee = time.employee ? account.find('employee', time.employee) : undefined;
    if (employee && employee.values.isinactive === true) {
        return platform('USER_ERROR', 'The employee is inactive.');
    }
    return null;
};

/** The refusal a save meets, or null. */
const refusal = (account, type, values, existing) => {
    if (existing && existing.locked) {
        return platform('USER_ERROR', `This ${type} has been billed and can no longer be changed.`);
    }
    return type === 'timebill' ? timeRules(account, values) : null;
};

module.exports = { refusal };
