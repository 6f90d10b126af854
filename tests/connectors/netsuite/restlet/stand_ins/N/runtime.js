'use strict';
/**
 * N/runtime: runtime.getCurrentScript() and Script.getRemainingUsage() ("runtime.Script",
 * NetSuite Help Center, N/runtime Module). Usage comes from the call's governance meter.
 */

const forCall = (meter) => ({
    getCurrentScript: () => ({
        getRemainingUsage: () => meter.remaining(),
    }),
});

module.exports = { forCall };
