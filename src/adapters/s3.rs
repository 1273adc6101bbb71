//! A zip in S3 as a [`RangeSource`]: ranged GetObject calls, the first a suffix range that also
//! tells the object's length, so that no HeadObject is needed. The pipeline action reads the
//! deployed artifacts this way, with the job's artifact credentials (`pathsFromArtifact`).

use aws_sdk_s3::Client;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;

use super::history::SdkPipelineHistory;
use crate::artifact::job::{ArtifactCredentials, ArtifactStore};
use crate::artifact::previous::{
    ArtifactLocation, ExecutionPage, HistoryError, JobContext, PipelineHistory,
};
use crate::artifact::zipdir::{FIRST_TAIL, RangeSource, ZipError};

/// The artifact bucket read with each job's own `artifactCredentials`, and the pipeline's
/// history read with the function's role: what `pathsFromArtifact` calls.
#[derive(Debug)]
pub struct SdkArtifacts {
    history: SdkPipelineHistory,
    /// The function's S3 configuration (region, endpoint), without its credentials.
    s3: aws_sdk_s3::config::Builder,
    /// The client of the last job's credentials (by access key id): both artifacts of a job
    /// are read with one client.
    last: std::sync::Mutex<Option<(String, Client)>>,
}

/// The S3 configuration of `config`, addressed path-style when an S3 endpoint of one's own is
/// set (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`): local-aws and S3-compatible stores rarely
/// serve virtual-hosted buckets, while AWS's own endpoint is used as AWS recommends.
pub fn s3_config(config: &aws_config::SdkConfig) -> aws_sdk_s3::config::Builder {
    let s3 = aws_sdk_s3::config::Builder::from(config);
    if ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
    {
        s3.force_path_style(true)
    } else {
        s3
    }
}

impl SdkArtifacts {
    /// `codepipeline` is the function's own client (the one that reports results).
    pub fn new(config: &aws_config::SdkConfig, codepipeline: aws_sdk_codepipeline::Client) -> Self {
        Self {
            history: SdkPipelineHistory::new(codepipeline),
            s3: s3_config(config),
            last: std::sync::Mutex::new(None),
        }
    }

    /// An S3 client signing with `credentials`.
    fn client(&self, credentials: &ArtifactCredentials) -> Client {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((key, client)) = last.as_ref()
            && *key == credentials.access_key_id
        {
            return client.clone();
        }
        let config = self
            .s3
            .clone()
            .credentials_provider(Credentials::new(
                credentials.access_key_id.clone(),
                credentials.secret_access_key.clone(),
                credentials.session_token.clone(),
                None,
                "codepipeline-artifact-credentials",
            ))
            .build();
        let client = Client::from_conf(config);
        *last = Some((credentials.access_key_id.clone(), client.clone()));
        client
    }
}

impl PipelineHistory for SdkArtifacts {
    async fn job_context(&self, job_id: &str) -> Result<JobContext, HistoryError> {
        self.history.job_context(job_id).await
    }

    async fn action_executions(
        &self,
        pipeline: &str,
        next_token: Option<String>,
    ) -> Result<ExecutionPage, HistoryError> {
        self.history.action_executions(pipeline, next_token).await
    }
}

impl ArtifactStore for SdkArtifacts {
    type Zip = S3Zip;

    async fn open(
        &self,
        location: &ArtifactLocation,
        credentials: &ArtifactCredentials,
    ) -> Result<S3Zip, ZipError> {
        S3Zip::open(self.client(credentials), &location.bucket, &location.key).await
    }
}

/// One object, with the tail its first read fetched.
#[derive(Debug)]
pub struct S3Zip {
    client: Client,
    bucket: String,
    key: String,
    size: u64,
    /// The last bytes of the object, from the first read; later reads inside them cost nothing.
    tail: Vec<u8>,
}

impl S3Zip {
    /// Reads the last [`FIRST_TAIL`] bytes of `s3://bucket/key` (all of it when it is smaller)
    /// and learns its length from `Content-Range`.
    pub async fn open(client: Client, bucket: &str, key: &str) -> Result<Self, ZipError> {
        let answer = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(format!("bytes=-{FIRST_TAIL}"))
            .send()
            .await
            .map_err(|error| get_error(bucket, key, &error))?;
        let size = answer
            .content_range()
            .and_then(total_of_content_range)
            .or_else(|| answer.content_length().and_then(|n| u64::try_from(n).ok()))
            .ok_or_else(|| {
                ZipError::Source(format!(
                    "s3://{bucket}/{key}: S3 answered without a Content-Range or Content-Length"
                ))
            })?;
        let tail = answer
            .body
            .collect()
            .await
            .map_err(|error| ZipError::Source(format!("s3://{bucket}/{key}: {error}")))?
            .into_bytes()
            .into();
        Ok(Self {
            client,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            tail,
        })
    }

    /// Bytes the first read fetched.
    pub fn tail_len(&self) -> u64 {
        self.tail.len() as u64
    }
}

/// `bytes 100-199/1234` → 1234.
fn total_of_content_range(range: &str) -> Option<u64> {
    range.rsplit_once('/')?.1.trim().parse().ok()
}

fn get_error(
    bucket: &str,
    key: &str,
    error: &aws_sdk_s3::error::SdkError<GetObjectError>,
) -> ZipError {
    let location = format!("s3://{bucket}/{key}");
    let Some(service) = error.as_service_error() else {
        return ZipError::Source(format!(
            "{location}: {}",
            crate::adapters::error_chain(error)
        ));
    };
    let said = format!(
        "{location}: {} ({})",
        service.message().unwrap_or("no message"),
        service.code().unwrap_or("error")
    );
    match service.code() {
        _ if matches!(service, GetObjectError::NoSuchKey(_)) => ZipError::Missing(location),
        Some("NoSuchBucket") => ZipError::Missing(location),
        Some(
            "AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "AllAccessDisabled",
        ) => ZipError::Denied(said),
        Some(code) if code.starts_with("KMS.") => ZipError::Denied(said),
        _ => ZipError::Source(said),
    }
}

impl RangeSource for S3Zip {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>, ZipError> {
        let tail_start = self.size - self.tail_len();
        if offset >= tail_start {
            let from = usize::try_from(offset - tail_start).unwrap_or(usize::MAX);
            let to = from.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
            if let Some(bytes) = self.tail.get(from..to) {
                return Ok(bytes.to_vec());
            }
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let last = offset + len - 1;
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .range(format!("bytes={offset}-{last}"))
            .send()
            .await
            .map_err(|error| get_error(&self.bucket, &self.key, &error))?;
        Ok(answer
            .body
            .collect()
            .await
            .map_err(|error| {
                ZipError::Source(format!("s3://{}/{}: {error}", self.bucket, self.key))
            })?
            .into_bytes()
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_comes_from_content_range() {
        assert_eq!(total_of_content_range("bytes 100-199/1234"), Some(1234));
        assert_eq!(total_of_content_range("bytes */1234"), Some(1234));
        assert_eq!(total_of_content_range("bytes 0-9/*"), None);
    }
}
