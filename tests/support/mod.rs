//! What the template tests share: reading a template and deploying it on paper (`template`),
//! the least-privilege checker (`policy`), and cfn-lint (`lint`).
#![allow(dead_code)]

pub mod lint;
pub mod policy;
pub mod template;
