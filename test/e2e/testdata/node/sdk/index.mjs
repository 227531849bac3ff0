// Imports the AWS SDK for JavaScript v3 without bundling it, as on Lambda,
// and calls the server that runs it (AWS_ENDPOINT_URL, set by the server).
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const sts = new STSClient({});

export const handler = async () => {
  const out = await sts.send(new GetCallerIdentityCommand({}));
  return { Account: out.Account, Arn: out.Arn, UserId: out.UserId };
};
