//! The `/_local/` control endpoints, for `local-aws serve` users: create and list jobs, read
//! the request log and the invalidations, read and change the faults.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Shared;
use crate::codepipeline;
use crate::faults::Faults;
use crate::reply::{CallInfo, Reply};

fn json_reply(status: u16, value: &Value) -> Reply {
    Reply::new(status, "application/json", value.to_string())
}

/// Answers `op` (`GET /jobs`, `PUT /faults`, ...).
pub(super) fn answer(shared: &Arc<Shared>, op: &str, body: &[u8]) -> (Reply, CallInfo) {
    let clock = &shared.clock;
    let to_json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    match op {
        "POST /jobs" => {
            let asked: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let token = asked
                .get("continuationToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            let id = match asked.get("jobId").and_then(Value::as_str) {
                Some(id) if !codepipeline::is_job_id(id) => {
                    let reply = json_reply(400, &json!({"message": format!("invalid job id '{id}': expected 8-4-4-4-12 lowercase hex digits")}))
                        .with_error_code("ValidationException");
                    return (reply, CallInfo::op("CreateJob"));
                }
                Some(id) => {
                    shared.register_job(id, token);
                    id.to_string()
                }
                None => shared.create_job(token),
            };
            let mut call = CallInfo::op("CreateJob");
            call.job_id = Some(id.clone());
            (json_reply(201, &json!({ "jobId": id })), call)
        }
        "GET /jobs" => {
            let jobs = shared.lock().jobs.all();
            (
                json_reply(200, &to_json(serde_json::to_value(jobs))),
                CallInfo::op("ListJobs"),
            )
        }
        "GET /requests" => {
            let log = shared.log.snapshot();
            (
                json_reply(200, &to_json(serde_json::to_value(log))),
                CallInfo::op("ListRequests"),
            )
        }
        "GET /invalidations" => {
            let all = shared.lock().cloudfront.all_invalidations(clock);
            (
                json_reply(200, &to_json(serde_json::to_value(all))),
                CallInfo::op("ListAllInvalidations"),
            )
        }
        "GET /faults" => {
            let faults = shared.lock().faults.faults().to_string();
            (
                json_reply(200, &json!({ "faults": faults })),
                CallInfo::op("GetFaults"),
            )
        }
        "PUT /faults" | "POST /faults" => {
            let text = String::from_utf8_lossy(body);
            match text.trim().parse::<Faults>() {
                Ok(faults) => {
                    let shown = faults.to_string();
                    shared.lock().faults.set(faults);
                    (
                        json_reply(200, &json!({ "faults": shown })),
                        CallInfo::op("SetFaults"),
                    )
                }
                Err(e) => (
                    json_reply(400, &json!({ "message": e.to_string() }))
                        .with_error_code("InvalidFaults"),
                    CallInfo::op("SetFaults"),
                ),
            }
        }
        _ => (
            json_reply(
                404,
                &json!({ "message": format!("no control endpoint {op}; see docs/local-aws.md") }),
            )
            .with_error_code("NotFound"),
            CallInfo::op("Unsupported"),
        ),
    }
}
