import os
import sys


def lambda_handler(event, context):
    print("python echo", context.aws_request_id)
    return {
        "event": event,
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "memoryLimitInMB": str(context.memory_limit_in_mb),
        "handler": os.environ.get("_HANDLER"),
        "python": "%d.%d" % sys.version_info[:2],
    }
