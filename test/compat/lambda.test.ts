// The AWS Lambda API on the whole platform, driven by the real
// @aws-sdk/client-lambda pointed at our endpoint, unchanged: create from an
// inline zip, read, list, invoke (sync with the log tail, queued, dry run,
// failing), code and configuration updates, versions and aliases, typed
// exceptions, and SigV4 with the access keys the operator configured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAliasCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetAliasCommand,
  GetFunctionCommand,
  InvalidParameterValueException,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  ResourceConflictException,
  ResourceNotFoundException,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { startPlatform, type Platform } from '@faas/launcher';
import { zipBundle } from '../support/bundles.js';
import { http } from '../support/http.js';

const ACCESS_KEY_ID = 'AKIDLAMBDATEST';
const SECRET_ACCESS_KEY = 'secret-key-of-the-lambda-test';
const ROLE = 'arn:aws:iam::000000000000:role/lambda-test';

let platform: Platform;
let lambda: LambdaClient;

const clientWith = (accessKeyId: string, secretAccessKey: string) =>
  new LambdaClient({ endpoint: platform.httpUrl, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });

/** Code that says which word it was built with, logs a line, and echoes its event and environment. */
const codeSaying = (word: string) =>
  zipBundle({
    'index.js': `exports.handler = async (event) => {
  console.log('handling', JSON.stringify(event));
  if (event && event.fail) throw new TypeError('asked to fail');
  return { word: ${JSON.stringify(word)}, event, greeting: process.env.GREETING ?? null };
};
`,
  });

const decode = (payload: Uint8Array | undefined) => JSON.parse(Buffer.from(payload ?? []).toString('utf8'));
const invoke = async (input: Partial<ConstructorParameters<typeof InvokeCommand>[0]> & { payload?: unknown }) => {
  const { payload, ...rest } = input;
  return lambda.send(new InvokeCommand({ FunctionName: 'lam', Payload: Buffer.from(JSON.stringify(payload ?? {})), ...rest }));
};

beforeAll(async () => {
  platform = await startPlatform({ serviceEnv: { httptrigger: { FAAS_LAMBDA_ACCESS_KEYS: `${ACCESS_KEY_ID}:${SECRET_ACCESS_KEY}` } } });
  lambda = clientWith(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
}, 120_000);

afterAll(async () => {
  lambda?.destroy();
  await platform?.stop();
});

describe('AWS Lambda API through @aws-sdk/client-lambda', () => {
  it('creates a function from an inline zip, refuses a second, reads and lists it', async () => {
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'lam',
        Runtime: 'nodejs20.x',
        Role: ROLE,
        Handler: 'index.handler',
        Description: 'says a word',
        Code: { ZipFile: codeSaying('one') },
        Environment: { Variables: { GREETING: 'hello' } },
      }),
    );
    expect(created).toMatchObject({ FunctionName: 'lam', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: ROLE, Description: 'says a word', Version: '$LATEST', State: 'Active', MemorySize: 128, Timeout: 3 });
    expect(created.FunctionArn).toMatch(/:function:lam$/);
    expect(created.CodeSize).toBeGreaterThan(0);
    expect(created.CodeSha256).toMatch(/^[A-Za-z0-9+/]{43}=$/);

    await expect(lambda.send(new CreateFunctionCommand({ FunctionName: 'lam', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: codeSaying('x') } }))).rejects.toBeInstanceOf(ResourceConflictException);
    await expect(lambda.send(new CreateFunctionCommand({ FunctionName: 'javaish', Runtime: 'java21', Role: ROLE, Handler: 'a.B', Code: { ZipFile: codeSaying('x') } }))).rejects.toBeInstanceOf(InvalidParameterValueException);

    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'lam' }));
    expect(got.Configuration).toMatchObject({ FunctionName: 'lam', Environment: { Variables: { GREETING: 'hello' } } });
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'absent' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    const listed = await lambda.send(new ListFunctionsCommand({}));
    expect(listed.Functions?.map((fn) => fn.FunctionName)).toEqual(['lam']);
  });

  it('invokes synchronously with the log tail, reports function errors, queues events and dry-runs', async () => {
    const answer = await invoke({ payload: { n: 1 }, LogType: 'Tail' });
    expect(answer.StatusCode).toBe(200);
    expect(answer.ExecutedVersion).toBe('$LATEST');
    expect(answer.FunctionError).toBeUndefined();
    expect(decode(answer.Payload)).toEqual({ word: 'one', event: { n: 1 }, greeting: 'hello' });
    expect(Buffer.from(answer.LogResult ?? '', 'base64').toString()).toContain('handling {"n":1}');

    const failed = await invoke({ payload: { fail: true } });
    expect(failed.StatusCode).toBe(200);
    expect(failed.FunctionError).toBe('Unhandled');
    expect(decode(failed.Payload)).toMatchObject({ errorType: 'TypeError', errorMessage: 'asked to fail' });

    expect((await invoke({ InvocationType: 'Event' })).StatusCode).toBe(202);
    expect((await invoke({ InvocationType: 'DryRun' })).StatusCode).toBe(204);
    await expect(invoke({ FunctionName: 'absent' })).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('publishes versions, updates code and configuration, and routes aliases', async () => {
    expect((await lambda.send(new PublishVersionCommand({ FunctionName: 'lam' }))).Version).toBe('1');
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'lam', ZipFile: codeSaying('two') }));
    expect(updated.Version).toBe('$LATEST');
    const configured = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'lam', MemorySize: 256, Environment: { Variables: { GREETING: 'bonjour' } } }));
    expect(configured).toMatchObject({ MemorySize: 256, Handler: 'index.handler', Environment: { Variables: { GREETING: 'bonjour' } } });

    expect(decode((await invoke({})).Payload)).toMatchObject({ word: 'two', greeting: 'bonjour' });
    const first = await invoke({ Qualifier: '1' });
    expect(first.ExecutedVersion).toBe('1');
    expect(decode(first.Payload)).toMatchObject({ word: 'one', greeting: 'hello' });

    expect((await lambda.send(new PublishVersionCommand({ FunctionName: 'lam' }))).Version).toBe('2');
    const versions = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'lam' }));
    expect(versions.Versions?.map((version) => version.Version)).toEqual(['$LATEST', '1', '2']);

    const alias = await lambda.send(new CreateAliasCommand({ FunctionName: 'lam', Name: 'live', FunctionVersion: '1' }));
    expect(alias).toMatchObject({ Name: 'live', FunctionVersion: '1' });
    expect(alias.AliasArn).toMatch(/:function:lam:live$/);
    await expect(lambda.send(new CreateAliasCommand({ FunctionName: 'lam', Name: 'live', FunctionVersion: '2' }))).rejects.toBeInstanceOf(ResourceConflictException);
    expect((await invoke({ Qualifier: 'live' })).ExecutedVersion).toBe('1');
    await lambda.send(new UpdateAliasCommand({ FunctionName: 'lam', Name: 'live', FunctionVersion: '2' }));
    expect(await lambda.send(new GetAliasCommand({ FunctionName: 'lam', Name: 'live' }))).toMatchObject({ FunctionVersion: '2' });
    const viaAlias = await invoke({ Qualifier: 'live' });
    expect(viaAlias.ExecutedVersion).toBe('2');
    expect(decode(viaAlias.Payload)).toMatchObject({ word: 'two' });
    await expect(lambda.send(new GetAliasCommand({ FunctionName: 'lam', Name: 'gone' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses unsigned requests, unknown keys and bad signatures as Lambda does', async () => {
    const unsigned = await http(`${platform.httpUrl}/2015-03-31/functions/`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    expect(unsigned.json).toMatchObject({ Message: 'Missing Authentication Token' });

    const stranger = clientWith('AKIDSTRANGER', SECRET_ACCESS_KEY);
    await expect(stranger.send(new ListFunctionsCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 403 } });
    const wrongSecret = clientWith(ACCESS_KEY_ID, 'not-the-secret');
    await expect(wrongSecret.send(new ListFunctionsCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    stranger.destroy();
    wrongSecret.destroy();
  });

  it('deletes a version, then the function', async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'lam', Qualifier: '1' }));
    await expect(invoke({ Qualifier: '1' })).rejects.toBeInstanceOf(ResourceNotFoundException);
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'lam' }));
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'lam' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});
