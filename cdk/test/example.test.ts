import { rmSync } from 'fs';
import { join } from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { checkUserParameters } from '../src/rules';
import { StaticSiteStack } from '../examples/static-site';

// scripts/lint-infra.sh runs cfn-lint on the template this writes.
const OUT = join(__dirname, '..', 'cdk.out', 'static-site');

test('the example app synthesises a pipeline whose invalidation is least-privilege and well-formed', () => {
  rmSync(OUT, { recursive: true, force: true });
  const app = new App({ outdir: OUT });
  const stack = new StaticSiteStack(app, 'StaticSite');
  app.synth();
  const template = Template.fromStack(stack);

  const functions = template.findResources('AWS::Lambda::Function');
  expect(Object.keys(functions)).toHaveLength(1);
  const role = (Object.values(functions)[0] as any).Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy: any) => policy.Properties.Roles.some((r: any) => r.Ref === role))
    .flatMap((policy: any) => policy.Properties.PolicyDocument.Statement);
  const granted = statements.flatMap((statement: any) => [statement.Action].flat()).sort();
  expect(granted).toEqual([
    'cloudfront:CreateInvalidation',
    'cloudfront:GetDistribution',
    'cloudfront:GetInvalidation',
    'cloudfront:ListInvalidations',
    'codepipeline:ListActionExecutions',
    'codepipeline:PutJobFailureResult',
    'codepipeline:PutJobSuccessResult',
    'logs:CreateLogStream',
    'logs:PutLogEvents',
  ]);
  expect(granted.filter((action: string) => action.includes('*'))).toEqual([]);

  // The UserParameters as the function receives them, the distribution's Ref resolved.
  const stages = (Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any).Properties.Stages;
  const invalidate = stages[1].Actions.find((action: any) => action.Name === 'Invalidate');
  const parts = invalidate.Configuration.UserParameters['Fn::Join'][1];
  const text = parts.map((part: any) => (typeof part === 'string' ? part : 'E2QWRUHAPOMQZL')).join('');
  expect(JSON.parse(text)).toEqual({
    distributionIds: ['E2QWRUHAPOMQZL'],
    pathsFromArtifact: 'changed',
    pipelineName: 'static-site',
    directoryIndex: 'index.html',
    verify: true,
  });
  expect(checkUserParameters(text)).toMatchObject({
    ok: true,
    pathsFromArtifact: { mode: 'changed', pipelineName: 'static-site' },
    verify: { baseUrl: null, maxObjects: 100, onStale: 'fail', bucket: null, prefix: '' },
  });
  // With the artifact as the truth, verify reads the distribution only: no S3 grant on the site.
  const distribution = Object.keys(template.findResources('AWS::CloudFront::Distribution'))[0];
  const getDistribution = statements.filter((statement: any) => [statement.Action].flat().includes('cloudfront:GetDistribution'));
  expect(getDistribution).toEqual([
    {
      Action: 'cloudfront:GetDistribution',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudfront::', { Ref: 'AWS::AccountId' }, ':distribution/', { Ref: distribution }]],
      },
    },
  ]);
});
