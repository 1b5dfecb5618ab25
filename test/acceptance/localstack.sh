#!/usr/bin/env bash
# npm run test:localstack — the acceptance suite against the stack deployed on LocalStack.
#
# Needs Docker (with `docker compose`) and network access for the LocalStack image. Steps: start
# LocalStack (docker-compose.yml), wait until it is healthy, `cdklocal bootstrap` and `cdklocal deploy`
# the app with an outputs file, run test/acceptance with PAYFLOW_TARGET=localstack against
# http://localhost:4566/_aws/execute-api/<apiId>/v1/, then tear LocalStack down (KEEP_LOCALSTACK=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/../.."

ENDPOINT="${LOCALSTACK_ENDPOINT:-http://localhost:4566}"
OUTPUTS_FILE="${PAYFLOW_OUTPUTS_FILE:-.payflow/outputs.localstack.json}"
# aws-cdk-local >= 3.0.2 drives current CDK CLIs; it loads the project's aws-cdk through NODE_PATH.
CDKLOCAL=(npx --yes aws-cdk-local@3.0.4)
export NODE_PATH="$PWD/node_modules${NODE_PATH:+:$NODE_PATH}"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="$ENDPOINT"

command -v docker >/dev/null || { echo "Docker is required for the LocalStack target" >&2; exit 2; }

teardown() {
  if [ "${KEEP_LOCALSTACK:-0}" != 1 ]; then docker compose down --volumes --remove-orphans >/dev/null 2>&1 || true; fi
}
trap teardown EXIT

docker compose up --detach localstack

echo "Waiting for LocalStack at $ENDPOINT ..."
deadline=$((SECONDS + 180))
until curl -fsS "$ENDPOINT/_localstack/health" 2>/dev/null | node -e '
  let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
    const { services = {} } = JSON.parse(text || "{}");
    const needed = ["cloudformation", "apigateway", "lambda", "dynamodb", "sqs", "stepfunctions"];
    process.exit(needed.every((name) => ["available", "running"].includes(services[name])) ? 0 : 1);
  });'; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "LocalStack was not healthy within 180 s" >&2
    docker compose logs --tail 100 localstack >&2 || true
    exit 1
  fi
  sleep 2
done

mkdir -p "$(dirname "$OUTPUTS_FILE")"
"${CDKLOCAL[@]}" bootstrap "aws://000000000000/us-east-1"
"${CDKLOCAL[@]}" deploy Payflow --require-approval never --outputs-file "$OUTPUTS_FILE" --context payflow:dev=true

API_ID="$(node -e '
  const outputs = Object.values(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")))[0];
  const match = /^https?:\/\/([a-z0-9]+)\.execute-api\./.exec(outputs.ApiUrl || "");
  if (!match) { console.error("No API id in ApiUrl " + outputs.ApiUrl); process.exit(1); }
  console.log(match[1]);' "$OUTPUTS_FILE")"

export PAYFLOW_TARGET=localstack
export PAYFLOW_OUTPUTS_FILE="$OUTPUTS_FILE"
export PAYFLOW_API_URL="$ENDPOINT/_aws/execute-api/$API_ID/v1/"
unset AWS_ENDPOINT_URL
echo "Running the acceptance suite against $PAYFLOW_API_URL"
npx vitest run --config vitest.acceptance.config.ts "$@"
