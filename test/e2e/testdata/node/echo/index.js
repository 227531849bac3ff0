// CommonJS echo handler: the README tour's function.
exports.handler = async (event, context) => {
  console.log("node echo", context.awsRequestId);
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    memoryLimitInMB: String(context.memoryLimitInMB),
    remainingMs: context.getRemainingTimeInMillis(),
    greeting: process.env.GREETING || "",
    handler: process.env._HANDLER,
  };
};
