// A static site deployed by CodePipeline: the site's bucket behind a CloudFront distribution, and
// a pipeline whose Deploy stage extracts the build into the bucket and then invalidates exactly
// the files that deploy changed, waiting for Completed, then checks them through the edge.
//
//   npx ts-node --transpile-only examples/static-site.ts    synthesises into cdk.out/ (or $CDK_OUTDIR)
import { App, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CloudFrontInvalidationAction } from '../src';

export class StaticSiteStack extends Stack {
  public readonly invalidation: CloudFrontInvalidationAction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const site = new s3.Bucket(this, 'Site', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const distribution = new cloudfront.Distribution(this, 'Distribution', {
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(site),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      },
      defaultRootObject: 'index.html',
    });

    // The build arrives as site.zip in a versioned bucket (CodeBuild, or `aws s3 cp` from any CI).
    const sources = new s3.Bucket(this, 'Sources', {
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
    });
    const build = new codepipeline.Artifact('Site');
    this.invalidation = new CloudFrontInvalidationAction({
      actionName: 'Invalidate',
      runOrder: 2,
      variablesNamespace: 'Invalidation',
      distributions: [distribution],
      pathsFromArtifact: { input: build },
      directoryIndex: 'index.html',
      // After Completed, each changed file is fetched through the distribution's domain and
      // compared with the artifact's bytes: the role gets GetDistribution, and no S3 read.
      verify: {},
    });
    new codepipeline.Pipeline(this, 'Pipeline', {
      // Named, the pipeline is named in the action's UserParameters too, and the function's role
      // may read this pipeline's history only.
      pipelineName: 'static-site',
      pipelineType: codepipeline.PipelineType.V2,
      stages: [
        {
          stageName: 'Source',
          actions: [new actions.S3SourceAction({ actionName: 'Build', bucket: sources, bucketKey: 'site.zip', output: build })],
        },
        {
          stageName: 'Deploy',
          actions: [
            new actions.S3DeployAction({ actionName: 'Upload', bucket: site, input: build, extract: true, runOrder: 1 }),
            this.invalidation,
          ],
        },
      ],
    });
  }
}

if (require.main === module) {
  const app = new App();
  new StaticSiteStack(app, 'StaticSite');
  app.synth();
}
