// cf-invalidate's CodePipeline action for the AWS CDK: one typed action beside S3DeployAction that
// invalidates CloudFront paths and waits for Completed, with the release's Lambda function and a
// role that may do exactly that. The UserParameters it writes are checked at construction by the
// function's own parser (./rules), so a wrong prop fails `cdk synth` with the function's message.
import { existsSync } from 'fs';
import { join } from 'path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { checkUserParameters, RulesReply } from './rules';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../package.json').version;

/** What the job reports when the invalidations are still running at `timeout`. */
export enum OnTimeout {
  /** The job fails (JobFailed), listing the invalidations still in progress. */
  FAIL = 'fail',
  /** The job succeeds with a WARNING summary and `Status` `InProgress`. */
  SUCCEED = 'succeed',
}

/** What a stale (or missing) file at the edge does to the job, with `verify`. */
export enum OnStale {
  /** The job fails (JobFailed), naming the stale files. */
  FAIL = 'fail',
  /** The job succeeds with a WARNING summary naming them. */
  WARN = 'warn',
}

/**
 * After `Completed`, fetch the invalidated files through the edge and compare them with what was
 * deployed (UserParameters `verify`): the artifact's files with their CRC-32, `paths` with the
 * site bucket's ETag.
 */
export interface VerifyOptions {
  /** The site's root, such as `https://www.example.com`, without a path (required for tenants). @default - each distribution's own domain, from GetDistribution */
  readonly baseUrl?: string;
  /** At most this many files (1 to 1000), sampled evenly across the list. @default 100 */
  readonly maxObjects?: number;
  /** @default OnStale.FAIL */
  readonly onStale?: OnStale;
  /**
   * The bucket the site is deployed to, for `paths`: the function's role may read the metadata
   * of its objects under `prefix` and list it.
   * @default - the distribution's S3 origin, which the role is not granted
   */
  readonly bucket?: s3.IBucket;
  /** The site's key prefix in `bucket`, such as `site/`. @default - the bucket's root */
  readonly prefix?: string;
}

/** Which files of the input artifact are invalidated. */
export enum PathsFromArtifactMode {
  /** The files added, changed or removed since the action's last successful run. */
  CHANGED = 'changed',
  /** Every file of the artifact. */
  ALL = 'all',
}

/** Invalidate the files of a deployed artifact (UserParameters `pathsFromArtifact`). */
export interface PathsFromArtifact {
  /** The artifact the S3 deploy action deployed: it becomes this action's only input. */
  readonly input: codepipeline.Artifact;
  /** @default PathsFromArtifactMode.CHANGED */
  readonly mode?: PathsFromArtifactMode;
  /** Only entries under this prefix count, and it is removed from them. @default - every entry */
  readonly keyPrefix?: string;
  /** Put before each entry's name to form the URL path, as in `/site/`. @default "/" */
  readonly pathPrefix?: string;
}

/** The action's output variables, for later actions' configuration. */
export interface CloudFrontInvalidationVariables {
  /** The first distribution's invalidation id. */
  readonly invalidationId: string;
  /** `DISTRIBUTION:INVALIDATION` pairs, comma-separated. */
  readonly invalidationIds: string;
  /** The distributions, comma-separated (empty when the job named only tenants). */
  readonly distributionIds: string;
  /** The distribution tenants, comma-separated (set only when the job named tenants). */
  readonly distributionTenantIds: string;
  /** Billed paths per distribution. */
  readonly pathCount: string;
  /** `Completed`, `InProgress` (`wait: false`, or a timeout with `OnTimeout.SUCCEED`) or `NoChanges`. */
  readonly status: string;
  /** Files added, changed and removed (only with `pathsFromArtifact`). */
  readonly changedFiles: string;
}

/** The action's props: UserParameters, typed, and the function's settings. */
export interface CloudFrontInvalidationActionProps extends codepipeline.CommonAwsActionProps {
  /** Distributions to invalidate (with `distributionIds` and `distributionTenantIds`, at most 10 in all). */
  readonly distributions?: cloudfront.IDistribution[];
  /** Distributions by id, such as `E2QWRUHAPOMQZL`. */
  readonly distributionIds?: string[];
  /** Tenants of multi-tenant distributions, such as `dt_2wjDZi3hD1ivOXf6rpZJO1AB`. */
  readonly distributionTenantIds?: string[];
  /** Paths and cache tags. @default ["/*"], or none with `pathsFromArtifact` */
  readonly paths?: string[];
  /** Invalidate the files of the deployed artifact. @default - only `paths` */
  readonly pathsFromArtifact?: PathsFromArtifact;
  /** Name of the object a directory serves, such as `index.html`. @default - none */
  readonly directoryIndex?: string;
  /** Most billed paths per invalidation; beyond it paths collapse into directory wildcards. @default 100 */
  readonly maxPaths?: number;
  /** Wait for `Completed`. @default true */
  readonly wait?: boolean;
  /** How long to wait, in whole minutes. @default Duration.minutes(30) */
  readonly timeout?: Duration;
  /** @default OnTimeout.FAIL */
  readonly onTimeout?: OnTimeout;
  /** Base of the CallerReference. @default - the job's first id */
  readonly callerReference?: string;
  /** Check the edge after `Completed` (needs `wait`). @default - no check */
  readonly verify?: VerifyOptions;
  /** The function's architecture (one function per architecture and stack). @default Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** How long the function's log lines are kept (set by the first action of the stack). @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/** The UserParameters keys this construct writes, in the function's spelling. */
export interface UserParameters {
  readonly distributionIds?: string[];
  readonly distributionTenantIds?: string[];
  readonly paths?: string[];
  readonly pathsFromArtifact?: string;
  readonly keyPrefix?: string;
  readonly pathPrefix?: string;
  readonly pipelineName?: string;
  readonly directoryIndex?: string;
  readonly maxPaths?: number;
  readonly wait?: boolean;
  readonly timeoutMinutes?: number;
  readonly onTimeout?: string;
  readonly callerReference?: string;
  /** `true` for every default, else the keys given. */
  readonly verify?: boolean | VerifyUserParameters;
}

/** The `verify` object of UserParameters: the bucket by name. */
export interface VerifyUserParameters {
  readonly baseUrl?: string;
  readonly maxObjects?: number;
  readonly onStale?: string;
  readonly bucket?: string;
  readonly prefix?: string;
}

/**
 * A CodePipeline action that invalidates CloudFront paths and waits until CloudFront says
 * `Completed`: cf-invalidate's Lambda invoke action, its function and role made for you.
 */
export class CloudFrontInvalidationAction extends actions.Action {
  /** This package's version: the release whose Lambda zip it deploys. */
  public static readonly VERSION: string = VERSION;

  /**
   * The release's zip for `architecture`: shipped in this package's assets/, or taken from the
   * directory `CF_INVALIDATE_LAMBDA_ZIPS` names (scripts/release.sh --out DIR, a build of your own).
   */
  public static lambdaZip(architecture: lambda.Architecture): string {
    const dir = process.env.CF_INVALIDATE_LAMBDA_ZIPS ?? join(__dirname, '..', 'assets');
    const file = join(dir, `cf-invalidate-lambda-${VERSION}-${architecture.name}.zip`);
    if (!existsSync(file)) {
      throw new Error(
        `CloudFrontInvalidationAction: the Lambda zip ${file} is missing. A published package ships it; ` +
          'in a checkout, build the release (scripts/release.sh --out DIR) and run `npm run bundle -- --release DIR`, ' +
          'or set CF_INVALIDATE_LAMBDA_ZIPS=DIR',
      );
    }
    return file;
  }

  /** The UserParameters the function receives (the pipeline's name is added at bind time). */
  public readonly userParameters: UserParameters;
  private readonly props: CloudFrontInvalidationActionProps;
  /** What the function's parser understood: `verify`, the paths, and the IAM actions they need. */
  private readonly checked: Checked;

  constructor(props: CloudFrontInvalidationActionProps) {
    super({
      actionName: props.actionName,
      runOrder: props.runOrder,
      variablesNamespace: props.variablesNamespace,
      role: props.role,
      category: codepipeline.ActionCategory.INVOKE,
      provider: 'Lambda',
      artifactBounds: { minInputs: 0, maxInputs: 5, minOutputs: 0, maxOutputs: 5 },
      inputs: props.pathsFromArtifact ? [props.pathsFromArtifact.input] : [],
    });
    this.props = props;
    this.userParameters = userParameters(props);
    const checked = check(this.userParameters, props.actionName);
    if (!checked.iamActions?.verifyDistribution || checked.paths === undefined || checked.verify === undefined) {
      throw new Error('CloudFrontInvalidationAction: assets/rules.wasm gave no IAM actions for verify; rebuild it with `npm run rules`');
    }
    this.checked = { iamActions: checked.iamActions, paths: checked.paths, verify: checked.verify };
  }

  /** The action's output variables (the action gets a namespace when one is read). */
  public get variables(): CloudFrontInvalidationVariables {
    return {
      invalidationId: this.variableExpression('InvalidationId'),
      invalidationIds: this.variableExpression('InvalidationIds'),
      distributionIds: this.variableExpression('DistributionIds'),
      distributionTenantIds: this.variableExpression('DistributionTenantIds'),
      pathCount: this.variableExpression('PathCount'),
      status: this.variableExpression('Status'),
      changedFiles: this.variableExpression('ChangedFiles'),
    };
  }

  protected bound(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    const stack = Stack.of(scope);
    const fn = invalidationFunction(scope, this.props);
    const role = fn.role as iam.IRole;
    const { iamActions, verify } = this.checked;
    const grants = [
      { resource: 'distribution', ids: distributionIds(this.props), actions: iamActions.distribution },
      { resource: 'distribution-tenant', ids: this.props.distributionTenantIds ?? [], actions: iamActions.tenant },
      // verify reads each distribution's domain and S3 origin; a tenant is asked at baseUrl.
      { resource: 'distribution', ids: verify ? distributionIds(this.props) : [], actions: iamActions.verifyDistribution },
    ];
    for (const { resource, ids, actions } of grants) {
      if (ids.length > 0) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({
          actions,
          resources: ids.map((id) => stack.formatArn({ service: 'cloudfront', region: '', resource, resourceName: id })),
        }));
      }
    }
    grantSiteRead(role, this.props.verify, this.checked);
    // The job id is not an ARN: IAM accepts only "*" for these two.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
      resources: ['*'],
    }));
    const parameters: Writable<UserParameters> = { ...this.userParameters };
    if (parameters.pathsFromArtifact === PathsFromArtifactMode.CHANGED) {
      grantHistory(scope, role, stage.pipeline, parameters);
    }

    // What LambdaInvokeAction grants the pipeline's role.
    options.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:ListFunctions'], resources: ['*'] }));
    fn.grantInvoke(options.role);
    if ((this.actionProperties.inputs ?? []).length > 0) {
      options.bucket.grantRead(options.role);
    }
    return {
      configuration: {
        FunctionName: fn.functionName,
        UserParameters: stack.toJsonString(parameters),
      },
    };
  }
}

/**
 * "changed" reads the pipeline's history (docs/changed-files.md). A pipeline named in the app
 * is named in UserParameters too, and the function finds its own run in the history alone; a
 * pipeline whose name CloudFormation generates cannot be (its configuration would refer to
 * itself), so the function asks GetJobDetails, which supports no resource-level permission.
 * ListActionExecutions is granted on this pipeline only, in a policy of its own: the function's
 * default policy cannot refer to the pipeline, which refers to the function.
 */
function grantHistory(scope: Construct, role: iam.IRole, pipeline: codepipeline.IPipeline, parameters: Writable<UserParameters>): void {
  const statements = [new iam.PolicyStatement({ actions: ['codepipeline:ListActionExecutions'], resources: [pipeline.pipelineArn] })];
  // The name given in the app, if any: `pipelineName` itself is always the pipeline's Ref.
  const name = (pipeline.node.defaultChild as codepipeline.CfnPipeline | undefined)?.name;
  if (name !== undefined && !Token.isUnresolved(name)) {
    parameters.pipelineName = name;
  } else {
    statements.push(new iam.PolicyStatement({ actions: ['codepipeline:GetJobDetails'], resources: ['*'] }));
  }
  new iam.Policy(scope, 'CfInvalidateHistory', { roles: [role], statements });
}

/**
 * verify compares `paths` (never the artifact's files) with the site bucket's objects, with the
 * function's own role: HeadObject, authorised as s3:GetObject, on the objects under the prefix,
 * and s3:ListBucket on the bucket, for a wildcard and so that a missing key is a 404, not a 403.
 */
function grantSiteRead(role: iam.IRole, options: VerifyOptions | undefined, checked: Checked): void {
  const bucket = options?.bucket;
  if (!bucket || !checked.verify || checked.paths.length === 0) return;
  // The prefix as the function reads it ("site" is "site/"), unless it is known only at deploy.
  const prefix = options.prefix !== undefined && Token.isUnresolved(options.prefix) ? options.prefix : checked.verify.prefix;
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: checked.iamActions.siteObjects, resources: [bucket.arnForObjects(`${prefix}*`)] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: checked.iamActions.siteBucket, resources: [bucket.bucketArn] }));
}

function distributionIds(props: CloudFrontInvalidationActionProps): string[] {
  return [...(props.distributions ?? []).map((distribution) => distribution.distributionId), ...(props.distributionIds ?? [])];
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** What the action keeps of the parser's reply. */
type Checked = Required<Pick<RulesReply, 'iamActions' | 'paths'>> & Pick<RulesReply, 'verify'>;

function userParameters(props: CloudFrontInvalidationActionProps): UserParameters {
  const parameters: Writable<UserParameters> = {};
  const ids = distributionIds(props);
  if (ids.length > 0) parameters.distributionIds = ids;
  if (props.distributionTenantIds !== undefined) parameters.distributionTenantIds = props.distributionTenantIds;
  if (props.paths !== undefined) parameters.paths = props.paths;
  const artifact = props.pathsFromArtifact;
  if (artifact) {
    parameters.pathsFromArtifact = artifact.mode ?? PathsFromArtifactMode.CHANGED;
    if (artifact.keyPrefix !== undefined) parameters.keyPrefix = artifact.keyPrefix;
    if (artifact.pathPrefix !== undefined) parameters.pathPrefix = artifact.pathPrefix;
  }
  if (props.directoryIndex !== undefined) parameters.directoryIndex = props.directoryIndex;
  if (props.maxPaths !== undefined) parameters.maxPaths = props.maxPaths;
  if (props.wait !== undefined) parameters.wait = props.wait;
  if (props.timeout !== undefined) {
    // Passed on as given: the parser names a fractional or out-of-range value itself.
    parameters.timeoutMinutes = props.timeout.toMinutes({ integral: false });
  }
  if (props.onTimeout !== undefined) parameters.onTimeout = props.onTimeout;
  if (props.callerReference !== undefined) parameters.callerReference = props.callerReference;
  if (props.verify !== undefined) parameters.verify = verifyParameters(props.verify);
  return parameters;
}

function verifyParameters(options: VerifyOptions): boolean | VerifyUserParameters {
  const verify: Writable<VerifyUserParameters> = {};
  if (options.baseUrl !== undefined) verify.baseUrl = options.baseUrl;
  if (options.maxObjects !== undefined) verify.maxObjects = options.maxObjects;
  if (options.onStale !== undefined) verify.onStale = options.onStale;
  if (options.bucket !== undefined) verify.bucket = options.bucket.bucketName;
  if (options.prefix !== undefined) verify.prefix = options.prefix;
  return Object.keys(verify).length === 0 ? true : verify;
}

/**
 * Checks the parameters with the function's parser. Values CloudFormation fills in at deploy time
 * (tokens such as a distribution's Ref) are checked as a valid placeholder of their kind: the
 * function checks the real value when it runs.
 */
function check(parameters: UserParameters, actionName: string): RulesReply {
  let n = 0;
  const placeholder = (value: string, kind: 'distribution' | 'tenant' | 'path' | 'folder' | 'text' | 'url'): string => {
    if (!Token.isUnresolved(value)) return value;
    n += 1;
    switch (kind) {
      case 'distribution': return `ETOKEN${String(n).padStart(8, '0')}`;
      case 'tenant': return `dt_token${n}`;
      case 'path': return `/token-${n}`;
      case 'folder': return `/token-${n}/`;
      case 'text': return `token-${n}`;
      case 'url': return `https://token-${n}.example.com`;
    }
  };
  const literal: { [key: string]: unknown } = { ...parameters };
  if (parameters.distributionIds) literal.distributionIds = parameters.distributionIds.map((id) => placeholder(id, 'distribution'));
  if (parameters.distributionTenantIds) literal.distributionTenantIds = parameters.distributionTenantIds.map((id) => placeholder(id, 'tenant'));
  if (parameters.paths) literal.paths = parameters.paths.map((path) => placeholder(path, 'path'));
  for (const key of ['keyPrefix', 'directoryIndex', 'callerReference'] as const) {
    const value = parameters[key];
    if (value !== undefined) literal[key] = placeholder(value, 'text');
  }
  if (parameters.pathPrefix !== undefined) literal.pathPrefix = placeholder(parameters.pathPrefix, 'folder');
  for (const key of ['maxPaths', 'timeoutMinutes'] as const) {
    const value = parameters[key];
    if (value !== undefined && Token.isUnresolved(value)) {
      throw new Error(`CloudFrontInvalidationAction "${actionName}": ${key} must be a number known at synth time, not a token`);
    }
  }
  if (typeof parameters.verify === 'object') {
    const verify = parameters.verify;
    if (verify.maxObjects !== undefined && Token.isUnresolved(verify.maxObjects)) {
      throw new Error(`CloudFrontInvalidationAction "${actionName}": verify.maxObjects must be a number known at synth time, not a token`);
    }
    const written: { [key: string]: unknown } = { ...verify };
    if (verify.baseUrl !== undefined) written.baseUrl = placeholder(verify.baseUrl, 'url');
    // A token bucket name ("token-N") is a valid bucket name.
    if (verify.bucket !== undefined) written.bucket = placeholder(verify.bucket, 'text');
    if (verify.prefix !== undefined) written.prefix = placeholder(verify.prefix, 'text');
    literal.verify = written;
  }
  const reply = checkUserParameters(JSON.stringify(literal));
  if (!reply.ok) {
    throw new Error(`CloudFrontInvalidationAction "${actionName}": ${reply.error}`);
  }
  return reply;
}

/** The stack's one function per architecture, with its role and log group. */
function invalidationFunction(scope: Construct, props: CloudFrontInvalidationActionProps): lambda.IFunction {
  const stack = Stack.of(scope);
  const architecture = props.architecture ?? lambda.Architecture.ARM_64;
  const suffix = architecture.name === 'arm64' ? 'Arm64' : 'X8664';
  const id = `CfInvalidate${suffix}`;
  const existing = stack.node.tryFindChild(`${id}Role`) as iam.Role | undefined;
  const role = existing ?? new iam.Role(stack, `${id}Role`, {
    description: 'cf-invalidate Lambda function',
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  });
  const logGroup = (stack.node.tryFindChild(`${id}Logs`) as logs.LogGroup | undefined) ?? new logs.LogGroup(stack, `${id}Logs`, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
  });
  if (!existing) {
    // Only this log group, which exists already: no logs:CreateLogGroup.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
  }
  return new lambda.SingletonFunction(scope, `${id}Function`, {
    uuid: `cf-invalidate-${architecture.name}`,
    lambdaPurpose: `CfInvalidate${suffix}`,
    description: 'CodePipeline action that invalidates CloudFront paths and waits for Completed',
    code: lambda.Code.fromAsset(CloudFrontInvalidationAction.lambdaZip(architecture)),
    handler: 'bootstrap',
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture,
    role,
    // The function only waits on HTTPS calls: 128 MB is plenty and the cheapest size.
    memorySize: 128,
    // The maximum: longer invalidations continue in the next invocation through a continuation
    // token; billing is per millisecond used.
    timeout: Duration.minutes(15),
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
  });
}
