//! `cf-invalidate`: CloudFront invalidation from CodeBuild, Makefiles and any CI.

fn main() -> std::process::ExitCode {
    cf_invalidate::cli::main()
}
