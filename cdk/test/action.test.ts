import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Duration, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CloudFrontInvalidationAction, CloudFrontInvalidationActionProps, OnStale, OnTimeout, PathsFromArtifactMode } from '../src';
import { checkUserParameters } from '../src/rules';

const { VERSION } = CloudFrontInvalidationAction;
import { fixtureRelease } from './fixture';

/** A pipeline: source, then S3 deploy, then each given action (run order 2) in Deploy. */
function pipeline(stack: Stack, id: string, ...invalidations: CloudFrontInvalidationAction[]): { site: codepipeline.Artifact } {
  const site = new codepipeline.Artifact(`${id}Site`);
  const bucket = new s3.Bucket(stack, `${id}Bucket`);
  new codepipeline.Pipeline(stack, id, {
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Build', bucket, bucketKey: 'site.zip', output: site })] },
      { stageName: 'Deploy', actions: [new actions.S3DeployAction({ actionName: 'Upload', bucket, input: site, runOrder: 1 }), ...invalidations] },
    ],
  });
  return { site };
}

function action(props: Partial<CloudFrontInvalidationActionProps> = {}): CloudFrontInvalidationAction {
  return new CloudFrontInvalidationAction({ actionName: 'Invalidate', runOrder: 2, distributionIds: ['E2QWRUHAPOMQZL'], ...props });
}

/** The template's Invoke actions, by name. */
function invokeActions(template: Template): Record<string, any> {
  const found: Record<string, any> = {};
  for (const pipe of Object.values(template.findResources('AWS::CodePipeline::Pipeline'))) {
    for (const stage of pipe.Properties.Stages) {
      for (const a of stage.Actions) {
        if (a.ActionTypeId.Category === 'Invoke') found[`${stage.Name}/${a.Name}`] = a;
      }
    }
  }
  return found;
}

/** UserParameters as CloudFormation would resolve them: each Ref replaced by `refs[logicalId]`. */
function resolved(userParameters: unknown, refs: Record<string, string>): string {
  if (typeof userParameters === 'string') return userParameters;
  const join = (userParameters as any)['Fn::Join'];
  expect(join?.[0]).toBe('');
  return join[1]
    .map((part: any) => {
      if (typeof part === 'string') return part;
      const ref = part.Ref;
      if (!(ref in refs)) throw new Error(`no value for Ref ${JSON.stringify(part)}`);
      return refs[ref];
    })
    .join('');
}

function policyStatements(template: Template, roleLogicalId: string): any[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy: any) =>
    policy.Properties.Roles.some((role: any) => role.Ref === roleLogicalId),
  );
  return policies.flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
}

function functionRole(template: Template): string {
  const functions = Object.values(template.findResources('AWS::Lambda::Function'));
  expect(functions).toHaveLength(1);
  return (functions[0] as any).Properties.Role['Fn::GetAtt'][0];
}

test('the action runs after the S3 deploy action, invoking the release function with its UserParameters', () => {
  const stack = new Stack();
  pipeline(stack, 'Pipeline', action({ paths: ['/index.html', '/css/*'], timeout: Duration.minutes(20), onTimeout: OnTimeout.SUCCEED }));
  const template = Template.fromStack(stack);

  const deploy = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages[1];
  expect(deploy.Actions.map((a: any) => [a.Name, a.ActionTypeId.Provider, a.RunOrder])).toEqual([
    ['Upload', 'S3', 1],
    ['Invalidate', 'Lambda', 2],
  ]);
  const invalidate = invokeActions(template)['Deploy/Invalidate'];
  expect(invalidate.ActionTypeId).toEqual({ Category: 'Invoke', Owner: 'AWS', Provider: 'Lambda', Version: '1' });
  const functionId = Object.keys(template.findResources('AWS::Lambda::Function'))[0];
  expect(invalidate.Configuration.FunctionName).toEqual({ Ref: functionId });
  expect(JSON.parse(resolved(invalidate.Configuration.UserParameters, {}))).toEqual({
    distributionIds: ['E2QWRUHAPOMQZL'],
    paths: ['/index.html', '/css/*'],
    timeoutMinutes: 20,
    onTimeout: 'succeed',
  });

  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'bootstrap',
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    MemorySize: 128,
    Timeout: 900,
    LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: Match.anyValue() },
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
});

test("the function's role holds exactly the grants the action needs, none with a wildcard action", () => {
  const stack = new Stack();
  pipeline(stack, 'Pipeline', action({ distributionIds: ['E2QWRUHAPOMQZL', 'E1ABCDEFGHIJKL'], distributionTenantIds: ['dt_2wjDZi3hD1ivOXf6rpZJO1AB'] }));
  const template = Template.fromStack(stack);
  const role = functionRole(template);
  const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
  const arn = (resource: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, `:${resource}`]],
  });

  expect(policyStatements(template, role)).toEqual([
    { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } },
    {
      Action: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation', 'cloudfront:ListInvalidations'],
      Effect: 'Allow',
      Resource: [arn('distribution/E2QWRUHAPOMQZL'), arn('distribution/E1ABCDEFGHIJKL')],
    },
    {
      Action: [
        'cloudfront:CreateInvalidationForDistributionTenant',
        'cloudfront:GetInvalidationForDistributionTenant',
        'cloudfront:ListInvalidationsForDistributionTenant',
      ],
      Effect: 'Allow',
      Resource: arn('distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB'),
    },
    { Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], Effect: 'Allow', Resource: '*' },
  ]);
  template.hasResourceProperties('AWS::IAM::Role', {
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    },
  });
  // No managed policy (AWSLambdaBasicExecutionRole would add logs:CreateLogGroup on "*").
  expect((template.findResources('AWS::IAM::Role')[role] as any).Properties.ManagedPolicyArns).toBeUndefined();
});

test('verify is written as the function reads it, and grants GetDistribution and the site bucket exactly', () => {
  const stack = new Stack();
  const site = new s3.Bucket(stack, 'Site');
  pipeline(
    stack,
    'Pipeline',
    action({
      distributionIds: ['E2QWRUHAPOMQZL', 'E1ABCDEFGHIJKL'],
      distributionTenantIds: ['dt_2wjDZi3hD1ivOXf6rpZJO1AB'],
      paths: ['/index.html', '/css/*'],
      verify: { baseUrl: 'https://www.example.com', maxObjects: 20, onStale: OnStale.WARN, bucket: site, prefix: 'www' },
    }),
  );
  const template = Template.fromStack(stack);
  const siteId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Site'))!;
  const parameters = resolved(invokeActions(template)['Deploy/Invalidate'].Configuration.UserParameters, { [siteId]: 'example-site' });
  expect(JSON.parse(parameters).verify).toEqual({
    baseUrl: 'https://www.example.com',
    maxObjects: 20,
    onStale: 'warn',
    bucket: 'example-site',
    prefix: 'www',
  });
  expect(checkUserParameters(parameters)).toMatchObject({
    ok: true,
    verify: { baseUrl: 'https://www.example.com', maxObjects: 20, onStale: 'warn', bucket: 'example-site', prefix: 'www/' },
  });

  const role = functionRole(template);
  const logGroup = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0];
  const arn = (resource: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, `:${resource}`]],
  });
  const bucketArn = { 'Fn::GetAtt': [siteId, 'Arn'] };
  expect(policyStatements(template, role)).toEqual([
    { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } },
    {
      Action: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation', 'cloudfront:ListInvalidations'],
      Effect: 'Allow',
      Resource: [arn('distribution/E2QWRUHAPOMQZL'), arn('distribution/E1ABCDEFGHIJKL')],
    },
    {
      Action: [
        'cloudfront:CreateInvalidationForDistributionTenant',
        'cloudfront:GetInvalidationForDistributionTenant',
        'cloudfront:ListInvalidationsForDistributionTenant',
      ],
      Effect: 'Allow',
      Resource: arn('distribution-tenant/dt_2wjDZi3hD1ivOXf6rpZJO1AB'),
    },
    // Read-only, on the distributions only: a tenant is asked at baseUrl.
    {
      Action: 'cloudfront:GetDistribution',
      Effect: 'Allow',
      Resource: [arn('distribution/E2QWRUHAPOMQZL'), arn('distribution/E1ABCDEFGHIJKL')],
    },
    // HeadObject on the prefix's objects ("www" read as "www/"), and the listing.
    { Action: 's3:GetObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [bucketArn, '/www/*']] } },
    { Action: 's3:ListBucket', Effect: 'Allow', Resource: bucketArn },
    { Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], Effect: 'Allow', Resource: '*' },
  ]);
});

test('verify with every default is written as true; with the artifact alone it reads no bucket', () => {
  const stack = new Stack();
  const site = new s3.Bucket(stack, 'Site');
  const input = new codepipeline.Artifact('Build');
  const sources = new s3.Bucket(stack, 'Sources');
  new codepipeline.Pipeline(stack, 'Pipeline', {
    pipelineName: 'site',
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Build', bucket: sources, bucketKey: 'site.zip', output: input })] },
      {
        stageName: 'Deploy',
        actions: [
          new actions.S3DeployAction({ actionName: 'Upload', bucket: site, input, runOrder: 1 }),
          action({ actionName: 'Plain', pathsFromArtifact: { input }, verify: {} }),
          // The artifact's CRC-32 is the truth: a bucket given is not read, and not granted.
          action({ actionName: 'WithBucket', pathsFromArtifact: { input }, verify: { bucket: site } }),
        ],
      },
    ],
  });
  const template = Template.fromStack(stack);
  const siteId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Site'))!;
  const configured = invokeActions(template);
  expect(JSON.parse(resolved(configured['Deploy/Plain'].Configuration.UserParameters, {})).verify).toBe(true);
  expect(JSON.parse(resolved(configured['Deploy/WithBucket'].Configuration.UserParameters, { [siteId]: 'example-site' })).verify).toEqual({
    bucket: 'example-site',
  });
  const statements = policyStatements(template, functionRole(template));
  expect(statements.filter((s) => [s.Action].flat().some((a: string) => a.startsWith('s3:')))).toEqual([]);
  // Both actions verify the same distribution: one statement (the policy drops the duplicate).
  expect(statements.filter((s) => [s.Action].flat().includes('cloudfront:GetDistribution'))).toEqual([
    {
      Action: 'cloudfront:GetDistribution',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/E2QWRUHAPOMQZL']] },
    },
  ]);
});

test('without verify the role gets no GetDistribution and no S3 grant', () => {
  const stack = new Stack();
  pipeline(stack, 'Pipeline', action({ paths: ['/*'] }));
  const template = Template.fromStack(stack);
  const granted = policyStatements(template, functionRole(template)).flatMap((s) => [s.Action].flat());
  expect(granted).not.toContain('cloudfront:GetDistribution');
  expect(granted.filter((a: string) => a.startsWith('s3:'))).toEqual([]);
});

test("a bad verify prop fails at synth with the parser's own message", () => {
  const tenant = 'dt_2wjDZi3hD1ivOXf6rpZJO1AB';
  // Each prop, and the UserParameters the function would get from it.
  const refusals: [Partial<CloudFrontInvalidationActionProps>, object][] = [
    [{ verify: { maxObjects: 0 } }, { distributionIds: ['E2QWRUHAPOMQZL'], verify: { maxObjects: 0 } }],
    [{ verify: { maxObjects: 1001 } }, { distributionIds: ['E2QWRUHAPOMQZL'], verify: { maxObjects: 1001 } }],
    [
      { verify: { baseUrl: 'https://www.example.com/blog' } },
      { distributionIds: ['E2QWRUHAPOMQZL'], verify: { baseUrl: 'https://www.example.com/blog' } },
    ],
    [{ verify: { baseUrl: 'www.example.com' } }, { distributionIds: ['E2QWRUHAPOMQZL'], verify: { baseUrl: 'www.example.com' } }],
    [{ wait: false, verify: {} }, { distributionIds: ['E2QWRUHAPOMQZL'], wait: false, verify: true }],
    [{ distributionIds: undefined, distributionTenantIds: [tenant], verify: {} }, { distributionTenantIds: [tenant], verify: true }],
  ];
  for (const [props, written] of refusals) {
    const expected = checkUserParameters(JSON.stringify(written));
    expect(expected.ok).toBe(false);
    expect(expected.error).toMatch(/verify/);
    expect(() => action(props)).toThrow(`CloudFrontInvalidationAction "Invalidate": ${expected.error}`);
  }
  // A bucket, a prefix or a baseUrl known only at deploy is checked as a valid placeholder.
  const stack = new Stack();
  const bucket = s3.Bucket.fromBucketName(stack, 'Imported', Token.asString({ Ref: 'SiteBucketName' }));
  expect(() =>
    action({ verify: { bucket, prefix: Token.asString({ Ref: 'Prefix' }), baseUrl: Token.asString({ Ref: 'Url' }) } }),
  ).not.toThrow();
  expect(() => action({ verify: { maxObjects: Token.asNumber({ Ref: 'Max' }) } })).toThrow(
    'verify.maxObjects must be a number known at synth time',
  );
});

test("several actions in a stack share one function and one role, and each adds only its distributions' grants", () => {
  const stack = new Stack();
  pipeline(stack, 'First', action({ actionName: 'Www', distributionIds: ['E2QWRUHAPOMQZL'] }));
  pipeline(stack, 'Second', action({ actionName: 'Docs', distributionIds: ['E1ABCDEFGHIJKL'] }), action({ actionName: 'Again', distributionIds: ['E2QWRUHAPOMQZL'] }));
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::Function', 1);
  template.resourceCountIs('AWS::Logs::LogGroup', 1);
  const role = functionRole(template);
  const cloudfront = policyStatements(template, role).filter((s) => s.Action.includes('cloudfront:CreateInvalidation'));
  const granted = cloudfront.flatMap((s) => [s.Resource].flat().map((r: any) => r['Fn::Join'][1][4]));
  expect(granted.sort()).toEqual([':distribution/E1ABCDEFGHIJKL', ':distribution/E2QWRUHAPOMQZL']);
  const functionId = Object.keys(template.findResources('AWS::Lambda::Function'))[0];
  expect(Object.values(invokeActions(template)).map((a) => a.Configuration.FunctionName)).toEqual([
    { Ref: functionId },
    { Ref: functionId },
    { Ref: functionId },
  ]);
});

test('a second architecture gets its own function from the zip of that architecture', () => {
  const stack = new Stack();
  pipeline(stack, 'Pipeline', action({ actionName: 'Graviton' }), action({ actionName: 'Intel', architecture: lambda.Architecture.X86_64 }));
  const template = Template.fromStack(stack);
  const architectures = Object.values(template.findResources('AWS::Lambda::Function')).map((f: any) => f.Properties.Architectures[0]);
  expect(architectures.sort()).toEqual(['arm64', 'x86_64']);
});

test("a bad prop fails at synth with the parser's own message", () => {
  const expected = checkUserParameters(JSON.stringify({ distributionIds: ['E2QWRUHAPOMQZL'], paths: ['/img/*/a.png'] }));
  expect(expected.ok).toBe(false);
  expect(expected.error).toBe(
    `invalid paths in UserParameters: path "/img/*/a.png" has '*' before its end: CloudFront accepts a wildcard only as the last character, as in "/img/*"`,
  );
  expect(() => action({ paths: ['/img/*/a.png'] })).toThrow(`CloudFrontInvalidationAction "Invalidate": ${expected.error}`);

  // Each of these is the parser's verdict, not a rule of this package.
  const refusals: [Partial<CloudFrontInvalidationActionProps>, string][] = [
    [{ distributionIds: [] }, 'UserParameters names no distribution'],
    [{ distributionIds: ['e2qwruhapomqzl'] }, 'e2qwruhapomqzl'],
    [{ timeout: Duration.seconds(90) }, 'timeoutMinutes'],
    [{ maxPaths: 5000 }, 'maxPaths'],
    [{ directoryIndex: 'a/index.html' }, 'directoryIndex'],
    [{ pathsFromArtifact: { input: new codepipeline.Artifact('Site'), pathPrefix: 'docs' } }, 'pathPrefix'],
  ];
  for (const [props, named] of refusals) {
    const attempt = () => action(props);
    expect(attempt).toThrow(/^CloudFrontInvalidationAction "Invalidate": /);
    expect(attempt).toThrow(named);
  }
});

test("a distribution's id unknown until deploy is checked as a placeholder, and written as its Ref", () => {
  const app = new App();
  const { StaticSiteStack } = require('../examples/static-site');
  const site = new StaticSiteStack(app, 'Example');
  // The token passes as a valid id; the ids beside it are still checked.
  const ref = Token.asString({ Ref: 'SomeDistribution' });
  expect(() => action({ distributionIds: [ref, 'E1ABCDEFGHIJKL'] })).not.toThrow();
  expect(() => action({ distributionIds: [ref, 'not an id'] })).toThrow('"distributionIds"[1] in UserParameters is "not an id"');
  // A pathPrefix known only at deploy passes as a folder, the form pathPrefix must have.
  const prefix = Token.asString({ Ref: 'SitePrefix' });
  expect(() => action({ pathsFromArtifact: { input: new codepipeline.Artifact('Site'), pathPrefix: prefix } })).not.toThrow();
  const distribution = Object.keys(Template.fromStack(site).findResources('AWS::CloudFront::Distribution'))[0];
  const parameters = invokeActions(Template.fromStack(site))['Deploy/Invalidate'].Configuration.UserParameters;
  expect(JSON.stringify(parameters)).toContain(JSON.stringify({ Ref: distribution }));
});

/** The statements of the policies attached to `role` other than its default policy. */
function historyStatements(template: Template, role: string): any[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id, policy]: [string, any]) => !id.includes('DefaultPolicy') && policy.Properties.Roles.some((r: any) => r.Ref === role))
    .flatMap(([, policy]: [string, any]) => policy.Properties.PolicyDocument.Statement);
}

function artifactPipeline(props: Partial<codepipeline.PipelineProps>, from: Partial<CloudFrontInvalidationActionProps['pathsFromArtifact']>) {
  const stack = new Stack();
  const input = new codepipeline.Artifact('Build');
  const bucket = new s3.Bucket(stack, 'Bucket');
  new codepipeline.Pipeline(stack, 'Pipeline', {
    ...props,
    stages: [
      { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Build', bucket, bucketKey: 'site.zip', output: input })] },
      {
        stageName: 'Deploy',
        actions: [
          new actions.S3DeployAction({ actionName: 'Upload', bucket, input, runOrder: 1 }),
          action({ pathsFromArtifact: { input, ...from } }),
        ],
      },
    ],
  });
  const template = Template.fromStack(stack);
  const pipelineId = Object.keys(template.findResources('AWS::CodePipeline::Pipeline'))[0];
  const configured = invokeActions(template)['Deploy/Invalidate'];
  return { template, pipelineId, configured, role: functionRole(template) };
}

test('pathsFromArtifact wires the input artifact and grants the history of that pipeline only', () => {
  const { template, pipelineId, configured, role } = artifactPipeline({}, { keyPrefix: 'site/', pathPrefix: '/docs/' });
  expect(configured.InputArtifacts).toEqual([{ Name: 'Build' }]);
  // A generated pipeline name cannot be in the pipeline's own configuration: GetJobDetails says it.
  expect(JSON.parse(resolved(configured.Configuration.UserParameters, {}))).toEqual({
    distributionIds: ['E2QWRUHAPOMQZL'],
    pathsFromArtifact: 'changed',
    keyPrefix: 'site/',
    pathPrefix: '/docs/',
  });
  expect(historyStatements(template, role)).toEqual([
    {
      Action: 'codepipeline:ListActionExecutions',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codepipeline:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: pipelineId }]],
      },
    },
    { Action: 'codepipeline:GetJobDetails', Effect: 'Allow', Resource: '*' },
  ]);
});

test('a named pipeline is named in UserParameters, and the role gets no GetJobDetails', () => {
  const { template, pipelineId, configured, role } = artifactPipeline({ pipelineName: 'site' }, {});
  expect(JSON.parse(resolved(configured.Configuration.UserParameters, {}))).toEqual({
    distributionIds: ['E2QWRUHAPOMQZL'],
    pathsFromArtifact: 'changed',
    pipelineName: 'site',
  });
  expect(historyStatements(template, role)).toEqual([
    {
      Action: 'codepipeline:ListActionExecutions',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':codepipeline:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':', { Ref: pipelineId }]],
      },
    },
  ]);
  expect(JSON.stringify(template.toJSON())).not.toContain('GetJobDetails');
  expect(checkUserParameters(resolved(configured.Configuration.UserParameters, {})).ok).toBe(true);
});

test('"all" reads no history: no grant, no pipeline name', () => {
  const { template, configured, role } = artifactPipeline({ pipelineName: 'site' }, { mode: PathsFromArtifactMode.ALL });
  expect(historyStatements(template, role)).toEqual([]);
  expect(JSON.stringify(template.toJSON())).not.toContain('ListActionExecutions');
  expect(JSON.parse(resolved(configured.Configuration.UserParameters, {}))).toEqual({
    distributionIds: ['E2QWRUHAPOMQZL'],
    pathsFromArtifact: 'all',
  });
});

test('the output variables read as CodePipeline variables of the namespace', () => {
  const stack = new Stack();
  const invalidate = action({ variablesNamespace: 'Invalidation' });
  pipeline(stack, 'Pipeline', invalidate);
  const { variables } = invalidate;
  expect(stack.resolve([variables.invalidationId, variables.status, variables.changedFiles])).toEqual([
    '#{Invalidation.InvalidationId}',
    '#{Invalidation.Status}',
    '#{Invalidation.ChangedFiles}',
  ]);
  expect(invokeActions(Template.fromStack(stack))['Deploy/Invalidate'].Namespace).toBe('Invalidation');
});

test("the package's version is the release's, and the zip it deploys is that release's", () => {
  const cargo = readFileSync(join(__dirname, '..', '..', 'Cargo.toml'), 'utf8');
  const workspace = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(cargo);
  expect(workspace?.[1]).toBe(VERSION);

  const stack = new Stack(new App(), 'Versioned');
  pipeline(stack, 'Pipeline', action());
  const assembly = (stack.node.root as App).synth();
  const manifest = JSON.parse(readFileSync(join(assembly.directory, 'Versioned.assets.json'), 'utf8'));
  const sources = Object.values(manifest.files).map((file: any) => file.source.path);
  const zip = readFileSync(join(process.env.CF_INVALIDATE_LAMBDA_ZIPS!, `cf-invalidate-lambda-${VERSION}-arm64.zip`));
  const staged = sources.map((source) => join(assembly.directory, source as string));
  expect(staged.some((file) => file.endsWith('.zip') && readFileSync(file).equals(zip))).toBe(true);
});

test('without the release zip the construct says where to get it', () => {
  const saved = process.env.CF_INVALIDATE_LAMBDA_ZIPS;
  process.env.CF_INVALIDATE_LAMBDA_ZIPS = mkdtempSync(join(tmpdir(), 'no-zips-'));
  try {
    expect(() => pipeline(new Stack(), 'Pipeline', action())).toThrow(
      /the Lambda zip .*cf-invalidate-lambda-\d+\.\d+\.\d+-arm64\.zip is missing.*npm run bundle -- --release DIR/,
    );
  } finally {
    process.env.CF_INVALIDATE_LAMBDA_ZIPS = saved;
  }
});

test("bundle copies a release's zips only when they match its SHA256SUMS", () => {
  const release = fixtureRelease();
  const script = join(__dirname, '..', 'scripts', 'bundle.mjs');
  const into = mkdtempSync(join(tmpdir(), 'bundled-'));
  execFileSync('node', [script, '--release', release, '--into', into], { stdio: 'pipe' });
  const name = `cf-invalidate-lambda-${VERSION}-x86_64.zip`;
  expect(readFileSync(join(into, name)).equals(readFileSync(join(release, name)))).toBe(true);
  expect(readFileSync(join(into, 'SHA256SUMS'), 'utf8')).toContain(name);

  writeFileSync(join(release, name), 'not the zip SHA256SUMS names');
  let stderr = '';
  try {
    execFileSync('node', [script, '--release', release, '--into', mkdtempSync(join(tmpdir(), 'bundled-'))], { stdio: 'pipe' });
  } catch (error) {
    stderr = String((error as any).stderr);
  }
  expect(stderr).toMatch(new RegExp(`${name.replace(/\./g, '\\.')} has sha256 [0-9a-f]{64}, but SHA256SUMS says [0-9a-f]{64}`));
});
