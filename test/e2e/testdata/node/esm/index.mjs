// ES module echo handler.
export const handler = async (event, context) => ({
  event,
  module: "esm",
  requestId: context.awsRequestId,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
});
