//! The `/_local/` control endpoints, for `local-aws serve` users: jobs, the log, the faults.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Shared;
use crate::codepipeline;
use crate::faults::Faults;
use crate::reply::{CallInfo, Reply};

/// A JSON answer, or a refusal: status, error code and message.
type Answer = Result<(u16, Value), (u16, &'static str, String)>;

/// Answers `op` (`GET /jobs`, `PUT /faults`, ...).
pub(super) fn answer(shared: &Arc<Shared>, op: &str, body: &[u8]) -> (Reply, CallInfo) {
    let listed = |v: Result<Value, serde_json::Error>| Ok((200, v.unwrap_or(Value::Null)));
    let (operation, answer) = match op {
        "POST /jobs" => ("CreateJob", create_job(shared, body)),
        "GET /jobs" => (
            "ListJobs",
            listed(serde_json::to_value(shared.lock().jobs.all())),
        ),
        "GET /requests" => (
            "ListRequests",
            listed(serde_json::to_value(shared.log.snapshot())),
        ),
        "GET /invalidations" => {
            let all = shared.lock().cloudfront.all_invalidations(&shared.clock);
            ("ListAllInvalidations", listed(serde_json::to_value(all)))
        }
        "GET /faults" => {
            let faults = shared.lock().faults.faults().to_string();
            ("GetFaults", Ok((200, json!({ "faults": faults }))))
        }
        "PUT /faults" | "POST /faults" => ("SetFaults", set_faults(shared, body)),
        _ => {
            let message = format!("no control endpoint {op}; see docs/local-aws.md");
            ("Unsupported", Err((404, "NotFound", message)))
        }
    };
    let mut call = CallInfo::op(operation);
    let reply = match answer {
        Ok((status, value)) => {
            call.job_id = value
                .get("jobId")
                .and_then(Value::as_str)
                .map(str::to_string);
            Reply::new(status, "application/json", value.to_string())
        }
        Err((status, code, message)) => {
            let value = json!({ "message": message });
            Reply::new(status, "application/json", value.to_string()).with_error_code(code)
        }
    };
    (reply, call)
}

fn create_job(shared: &Shared, body: &[u8]) -> Answer {
    let asked: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let token = asked.get("continuationToken").and_then(Value::as_str);
    let token = token.map(str::to_string);
    let id = match asked.get("jobId").and_then(Value::as_str) {
        Some(id) if !codepipeline::is_job_id(id) => {
            let message =
                format!("invalid job id '{id}': expected 8-4-4-4-12 lowercase hex digits");
            return Err((400, "ValidationException", message));
        }
        Some(id) => {
            shared.register_job(id, token);
            id.to_string()
        }
        None => shared.create_job_in(token, None),
    };
    Ok((201, json!({ "jobId": id })))
}

fn set_faults(shared: &Shared, body: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(body);
    let faults =
        (text.trim().parse::<Faults>()).map_err(|e| (400, "InvalidFaults", e.to_string()))?;
    let shown = faults.to_string();
    shared.lock().faults.set(faults);
    Ok((200, json!({ "faults": shown })))
}
