//! The function's UserParameters parser, exported to WebAssembly: the CDK construct checks the
//! parameters it writes at synth time with the very rules the deployed function applies.
//!
//! The module's interface is four functions over its linear memory, so that the construct needs
//! nothing but Node's own `WebAssembly`: `rules_alloc(len)` reserves `len` bytes for the input,
//! `check_user_parameters(ptr, len)` reads UserParameters (UTF-8) there, releases the input and
//! returns the length of its JSON reply, which `reply_ptr()` points at until the next check.

use std::cell::RefCell;

use cf_invalidate::params::{
    ArtifactMode, OnStale, OnTimeout, parse_user_parameters, paths_refusal_message, refusal_message,
};
use cf_invalidate::plan::{MAX_PATHS_PER_BATCH, PlanOptions, plan_paths};
use cf_invalidate::values::{
    DISTRIBUTION_IAM_ACTIONS, SITE_BUCKET_IAM_ACTIONS, SITE_OBJECT_IAM_ACTIONS, TENANT_IAM_ACTIONS,
    VERIFY_IAM_ACTIONS,
};
use serde_json::{Value, json};

/// The reply to UserParameters, as JSON: `{"ok": false, "error": MESSAGE}` with the message the
/// function fails the job with, or `{"ok": true, ...}` with what it understood. It checks what
/// an invocation checks before it reads an artifact or calls CloudFront: the parameters, then
/// the paths they give, planned.
pub fn check(user_parameters: &str) -> Value {
    let refused = |message: String| json!({ "ok": false, "error": message });
    let params = match parse_user_parameters(user_parameters) {
        Ok(params) => params,
        Err(error) => return refused(refusal_message(&error)),
    };
    // With pathsFromArtifact and no paths, the paths come from the artifact at run time.
    let plan = if params.paths.is_empty() && params.from_artifact.is_some() {
        None
    } else {
        let options = PlanOptions {
            max_paths: params.max_paths,
            directory_index: params.directory_index.clone(),
        };
        match plan_paths(&params.paths, &options) {
            Ok(plan) => Some(plan.items().to_vec()),
            Err(error) => return refused(paths_refusal_message(&error)),
        }
    };
    let ids = |tenant: bool| -> Vec<&str> {
        params
            .targets
            .iter()
            .filter(|target| target.is_tenant() == tenant)
            .map(|target| target.as_str())
            .collect()
    };
    let artifact = params.from_artifact.as_ref().map(|artifact| {
        json!({
            "mode": match artifact.mode {
                ArtifactMode::All => "all",
                ArtifactMode::Changed => "changed",
            },
            "artifact": artifact.artifact,
            "keyPrefix": artifact.key_prefix,
            "pathPrefix": artifact.path_prefix,
            "pipelineName": artifact.pipeline_name,
        })
    });
    let verify = params.verify.as_ref().map(|verify| {
        json!({
            "baseUrl": verify.base_url,
            "maxObjects": verify.max_objects,
            "onStale": match verify.on_stale {
                OnStale::Fail => "fail",
                OnStale::Warn => "warn",
            },
            "bucket": verify.bucket,
            "prefix": verify.prefix,
        })
    });
    json!({
        "ok": true,
        "distributionIds": ids(false),
        "distributionTenantIds": ids(true),
        "paths": params.paths,
        "planned": plan,
        "wait": params.wait,
        "timeoutSeconds": params.timeout.as_secs(),
        "onTimeout": match params.on_timeout {
            OnTimeout::Fail => "fail",
            OnTimeout::Succeed => "succeed",
        },
        "maxPaths": params.max_paths,
        "maxPathsPerBatch": MAX_PATHS_PER_BATCH,
        "directoryIndex": params.directory_index,
        "callerReference": params.caller_reference,
        "pathsFromArtifact": artifact,
        "verify": verify,
        // What the function's role needs on each kind of target, and for `verify` on each
        // distribution and on the site's objects and bucket: the construct grants these.
        "iamActions": {
            "distribution": DISTRIBUTION_IAM_ACTIONS,
            "tenant": TENANT_IAM_ACTIONS,
            "verifyDistribution": VERIFY_IAM_ACTIONS,
            "siteObjects": SITE_OBJECT_IAM_ACTIONS,
            "siteBucket": SITE_BUCKET_IAM_ACTIONS,
        },
    })
}

thread_local! {
    /// The last reply, kept until the next check for the caller to copy out.
    static REPLY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reserves `len` bytes of this module's memory for the caller to write UserParameters into.
#[unsafe(no_mangle)]
pub extern "C" fn rules_alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::<u8>::with_capacity(len);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr
}

/// Checks the `len` bytes at `ptr` as UserParameters, releases them, and returns the length of
/// the JSON reply that [`reply_ptr`] points at.
///
/// # Safety
/// `ptr` is a `rules_alloc(len)` buffer holding `len` written bytes, not used again after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn check_user_parameters(ptr: *mut u8, len: usize) -> usize {
    // SAFETY: the caller hands back the buffer `rules_alloc(len)` reserved, with `len` bytes
    // written; this takes ownership and frees it.
    let input = unsafe { Vec::from_raw_parts(ptr, len, len) };
    let reply = match std::str::from_utf8(&input) {
        Ok(text) => check(text),
        Err(error) => {
            json!({ "ok": false, "error": format!("UserParameters is not UTF-8: {error}") })
        }
    };
    REPLY.with(|cell| {
        let mut kept = cell.borrow_mut();
        *kept = reply.to_string().into_bytes();
        kept.len()
    })
}

/// Where the last reply of [`check_user_parameters`] starts.
#[unsafe(no_mangle)]
pub extern "C" fn reply_ptr() -> *const u8 {
    REPLY.with(|cell| cell.borrow().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_object_is_read_as_the_function_reads_it() {
        let reply = check(
            r#"{"distributionId": "E2QWRUHAPOMQZL", "distributionTenantId": "dt_2abc", "paths": ["/a", "/b/*"],
                "pathsFromArtifact": "changed", "timeoutMinutes": 10}"#,
        );
        assert_eq!(reply["ok"], true, "{reply}");
        assert_eq!(reply["distributionIds"], json!(["E2QWRUHAPOMQZL"]));
        assert_eq!(reply["distributionTenantIds"], json!(["dt_2abc"]));
        assert_eq!(reply["paths"], json!(["/a", "/b/*"]));
        assert_eq!(reply["timeoutSeconds"], 600);
        assert_eq!(reply["pathsFromArtifact"]["mode"], "changed");
    }

    #[test]
    fn a_bad_value_gets_the_functions_own_message() {
        let input = r#"{"distributionId": "E2QWRUHAPOMQZL", "timeoutMinutes": "forever"}"#;
        let expected = refusal_message(&parse_user_parameters(input).unwrap_err());
        assert_eq!(check(input), json!({ "ok": false, "error": expected }));
        assert!(expected.contains("forever"), "{expected}");
    }

    #[test]
    fn paths_are_planned_as_an_invocation_plans_them() {
        let input = r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/img/*/a.png"]}"#;
        let reply = check(input);
        assert_eq!(reply["ok"], false);
        let message = reply["error"].as_str().unwrap();
        assert!(
            message.starts_with("invalid paths in UserParameters: path \"/img/*/a.png\" has '*'"),
            "{message}"
        );
        let artifact_only =
            check(r#"{"distributionId": "E2QWRUHAPOMQZL", "pathsFromArtifact": "all"}"#);
        assert_eq!(artifact_only["ok"], true, "{artifact_only}");
        assert_eq!(artifact_only["planned"], Value::Null);
    }

    #[test]
    fn verify_is_read_as_the_function_reads_it() {
        let plain = check(r#"{"distributionId": "E2QWRUHAPOMQZL"}"#);
        assert_eq!(plain["verify"], Value::Null);
        let on = check(r#"{"distributionId": "E2QWRUHAPOMQZL", "verify": true}"#);
        assert_eq!(
            on["verify"],
            json!({"baseUrl": null, "maxObjects": 100, "onStale": "fail", "bucket": null, "prefix": ""})
        );
        let given = check(
            r#"{"distributionId": "E2QWRUHAPOMQZL", "paths": ["/a"], "verify": {"baseUrl":
                "https://www.example.com/", "maxObjects": 20, "onStale": "warn",
                "bucket": "example-site", "prefix": "site"}}"#,
        );
        assert_eq!(
            given["verify"],
            json!({"baseUrl": "https://www.example.com", "maxObjects": 20, "onStale": "warn",
                   "bucket": "example-site", "prefix": "site/"})
        );
        assert_eq!(
            given["iamActions"]["verifyDistribution"],
            json!(["cloudfront:GetDistribution"])
        );
        assert_eq!(given["iamActions"]["siteObjects"], json!(["s3:GetObject"]));
        assert_eq!(given["iamActions"]["siteBucket"], json!(["s3:ListBucket"]));

        let input = r#"{"distributionId": "E2QWRUHAPOMQZL", "verify": {"maxObjects": 0}}"#;
        let expected = refusal_message(&parse_user_parameters(input).unwrap_err());
        assert_eq!(check(input), json!({ "ok": false, "error": expected }));
        assert!(expected.contains("verify.maxObjects"), "{expected}");
    }

    #[test]
    fn the_memory_interface_round_trips() {
        let input = br#"{"distributionId": "E2QWRUHAPOMQZL"}"#;
        let ptr = rules_alloc(input.len());
        // SAFETY: the buffer was just reserved with this length and is handed back once; the
        // reply is copied out before the next check.
        let reply = unsafe {
            std::ptr::copy_nonoverlapping(input.as_ptr(), ptr, input.len());
            let len = check_user_parameters(ptr, input.len());
            std::slice::from_raw_parts(reply_ptr(), len).to_vec()
        };
        let reply: Value = serde_json::from_slice(&reply).unwrap();
        assert_eq!(reply["ok"], true);
        assert_eq!(reply["planned"], json!(["/*"]));
    }
}
